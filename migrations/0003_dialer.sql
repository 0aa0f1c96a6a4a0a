-- The dialer: a run, each contact's state in a campaign (with its lease), every attempt and every refusal.

CREATE TABLE dial_runs (
    id          INTEGER PRIMARY KEY,
    campaign    TEXT NOT NULL,
    version     INTEGER NOT NULL,
    trunk       TEXT NOT NULL,              -- 'mock' or the trunk file name
    mode        TEXT NOT NULL,
    agents      INTEGER NOT NULL,
    seed        INTEGER,
    owner       TEXT NOT NULL,              -- host:pid of the process
    started_at  TEXT NOT NULL,              -- wall clock
    sim_start   TEXT,                       -- the run's clock at its start (virtual for mock)
    sim_end     TEXT,
    ended_at    TEXT,
    status      TEXT NOT NULL DEFAULT 'running'   -- running, finished, interrupted, failed
);

-- One row per (campaign, contact): where the contact stands, and who holds it right now.
CREATE TABLE dial_contacts (
    campaign         TEXT NOT NULL,
    contact_id       INTEGER NOT NULL REFERENCES contacts(id),
    state            TEXT NOT NULL DEFAULT 'pending',  -- pending, done, exhausted, suppressed
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_attempt_at  TEXT,
    next_at          TEXT,                   -- not before (retry delay by disposition)
    last_outcome     TEXT,
    last_disposition TEXT,
    lease_owner      TEXT,
    lease_until      TEXT,
    PRIMARY KEY (campaign, contact_id)
) WITHOUT ROWID;
CREATE INDEX dial_contacts_due ON dial_contacts(campaign, state, next_at);

CREATE TABLE attempts (
    id                  INTEGER PRIMARY KEY,
    run_id              INTEGER REFERENCES dial_runs(id),
    campaign            TEXT NOT NULL,
    campaign_version    INTEGER NOT NULL,
    contact_id          INTEGER,
    phone               TEXT NOT NULL,          -- E.164
    started_at          TEXT NOT NULL,          -- UTC, the moment of the dial decision and the dial
    ended_at            TEXT,
    local_time          TEXT,                   -- ISO local time in `zone`
    zone                TEXT,                   -- zone used for the local time
    zone_source         TEXT,                   -- 'contact' (explicit) or 'number'
    zones               TEXT,                   -- every zone checked, ';'-separated
    caller_id           TEXT,
    registry_version    TEXT,                   -- national DNC copy checked ('' when none applies)
    rules_checked       TEXT,                   -- ';'-separated rule names the decision evaluated
    trunk               TEXT NOT NULL,
    outcome             TEXT NOT NULL CHECK (outcome IN
                          ('answered', 'busy', 'no_answer', 'voicemail', 'invalid', 'failed', 'abandoned')),
    disposition         TEXT,
    ring_s              REAL,
    talk_s              REAL,
    wrap_s              REAL,
    agent               TEXT,
    connect_delay_s     REAL,
    abandoned           INTEGER NOT NULL DEFAULT 0,
    safe_harbour        INTEGER NOT NULL DEFAULT 0,
    callback_id         INTEGER,                -- set when this attempt served a due callback
    callback_requested  INTEGER NOT NULL DEFAULT 0,  -- the callee asked for this call (after an opt-out)
    sip_code            INTEGER,
    call_id             TEXT,
    script              TEXT,
    script_version      TEXT                    -- SHA-256 of the script text used
);
CREATE INDEX attempts_campaign_time ON attempts(campaign, started_at);
CREATE INDEX attempts_phone_time ON attempts(phone, started_at);
CREATE INDEX attempts_time ON attempts(started_at);

-- Every dial the decision refused, with all of its reasons.
CREATE TABLE blocked_dials (
    id                INTEGER PRIMARY KEY,
    run_id            INTEGER REFERENCES dial_runs(id),
    campaign          TEXT NOT NULL,
    campaign_version  INTEGER NOT NULL,
    contact_id        INTEGER,
    phone             TEXT NOT NULL,
    at                TEXT NOT NULL,
    reasons           TEXT NOT NULL,            -- ';'-separated, from the decision's vocabulary
    next_allowed_at   TEXT
);
CREATE INDEX blocked_dials_time ON blocked_dials(at);
