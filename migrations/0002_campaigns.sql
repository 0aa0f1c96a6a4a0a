-- Campaigns: each `campaign load` of a changed text adds a version; the effective figures are columns
-- (so the dialer, preview and the audit export read them without parsing YAML again).

CREATE TABLE campaigns (
    name             TEXT PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('marketing', 'survey', 'followup')),
    current_version  INTEGER NOT NULL,
    paused           INTEGER NOT NULL DEFAULT 0,
    paused_at        TEXT,
    paused_by        TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);

CREATE TABLE campaign_versions (
    campaign        TEXT NOT NULL REFERENCES campaigns(name),
    version         INTEGER NOT NULL,
    sha256          TEXT NOT NULL,
    text            TEXT NOT NULL,
    file_name       TEXT,
    loaded_at       TEXT NOT NULL,
    actor           TEXT NOT NULL,
    kind            TEXT NOT NULL,
    policy          TEXT NOT NULL,              -- preset name: us, uk, cn, strict
    seller          TEXT,                       -- company on whose behalf the calls are made
    purpose         TEXT,                       -- product or purpose of the calls
    caller_id       TEXT,
    hours_start     TEXT NOT NULL,              -- 'HH:MM' local time of the called party
    hours_end       TEXT NOT NULL,
    days            TEXT NOT NULL,              -- 'mon,tue,wed,thu,fri'
    cap_per_day     INTEGER,
    cap_24h         INTEGER,
    cap_total       INTEGER,
    min_gap_s       INTEGER,
    abandon_cap     REAL NOT NULL,
    abandon_window  TEXT NOT NULL,              -- '30d' or 'day'
    abandon_lock_s  INTEGER NOT NULL DEFAULT 0,
    registry_max_age_s INTEGER,                 -- NULL: no national registry rule
    dial_mode       TEXT NOT NULL DEFAULT 'predictive',
    script          TEXT,                       -- template file name in scripts_templates/
    script_sha256   TEXT,
    script_text     TEXT,
    definition      TEXT NOT NULL,              -- the validated campaign as JSON
    PRIMARY KEY (campaign, version)
);

-- Every rule a campaign loosens against its preset, with the reason given; shown in every audit export.
CREATE TABLE campaign_overrides (
    id            INTEGER PRIMARY KEY,
    campaign      TEXT NOT NULL,
    version       INTEGER NOT NULL,
    rule          TEXT NOT NULL,
    preset_value  TEXT,
    value         TEXT,
    reason        TEXT NOT NULL,
    recorded_at   TEXT NOT NULL,
    actor         TEXT NOT NULL
);
CREATE INDEX campaign_overrides_campaign ON campaign_overrides(campaign, version);
