-- cctool core schema: the audit chain, contacts, consents, do-not-call lists, opt-outs, suppressions.
-- Times are UTC ISO-8601 text; phone numbers are E.164 text.

CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY,
    ts         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    command    TEXT NOT NULL,
    entity     TEXT NOT NULL,
    entity_id  TEXT,
    action     TEXT NOT NULL,
    payload    TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
-- The log is append-only; these triggers stop honest mistakes, the hash chain catches the rest.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
-- The head (last seq and hash) kept apart, so that cutting rows off the end is noticed.
CREATE TABLE audit_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   INTEGER NOT NULL,
    hash  TEXT NOT NULL
);

CREATE TABLE contacts (
    id            INTEGER PRIMARY KEY,
    phone         TEXT NOT NULL UNIQUE,
    region        TEXT,
    number_type   TEXT,
    number_zones  TEXT NOT NULL DEFAULT '[]',
    timezone      TEXT,
    name          TEXT,
    email         TEXT,
    attributes    TEXT NOT NULL DEFAULT '{}',
    source        TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    erased_at     TEXT
);

CREATE TABLE contact_tags (
    contact_id  INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    tag         TEXT NOT NULL,
    PRIMARY KEY (contact_id, tag)
) WITHOUT ROWID;
CREATE INDEX contact_tags_tag ON contact_tags(tag, contact_id);

CREATE TABLE imports (
    id                  INTEGER PRIMARY KEY,
    file_name           TEXT NOT NULL,
    sha256              TEXT NOT NULL,
    source              TEXT,
    encoding            TEXT,
    at                  TEXT NOT NULL,
    actor               TEXT NOT NULL,
    read                INTEGER NOT NULL,
    imported            INTEGER NOT NULL,
    updated             INTEGER NOT NULL,
    unchanged           INTEGER NOT NULL,
    duplicates_in_file  INTEGER NOT NULL,
    rejected            INTEGER NOT NULL
);

-- Consent is append-only: the latest record per phone and purpose is the one in force.
CREATE TABLE consents (
    id           INTEGER PRIMARY KEY,
    phone        TEXT NOT NULL,
    purpose      TEXT NOT NULL CHECK (purpose IN ('marketing', 'survey')),
    action       TEXT NOT NULL CHECK (action IN ('grant', 'revoke')),
    source       TEXT NOT NULL,
    evidence     TEXT,
    given_at     TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    actor        TEXT NOT NULL
);
CREATE INDEX consents_phone ON consents(phone, purpose, given_at);
CREATE TRIGGER consents_no_update BEFORE UPDATE ON consents
BEGIN SELECT RAISE(ABORT, 'consents are append-only'); END;

-- Each load of a national registry copy; the newest is the snapshot in dnc_national.
CREATE TABLE dnc_registry_loads (
    id             INTEGER PRIMARY KEY,
    list           TEXT NOT NULL,
    version        TEXT NOT NULL,
    registry_date  TEXT NOT NULL,
    loaded_at      TEXT NOT NULL,
    count          INTEGER NOT NULL,
    sha256         TEXT NOT NULL,
    file_name      TEXT NOT NULL,
    actor          TEXT NOT NULL
);
CREATE TABLE dnc_national (
    phone  TEXT PRIMARY KEY
) WITHOUT ROWID;

-- The company's own do-not-call list, with history: a removal closes the entry, it is never deleted.
CREATE TABLE dnc_internal (
    id          INTEGER PRIMARY KEY,
    phone       TEXT NOT NULL,
    reason      TEXT,
    added_at    TEXT NOT NULL,
    added_by    TEXT NOT NULL,
    removed_at  TEXT,
    removed_by  TEXT
);
CREATE UNIQUE INDEX dnc_internal_open ON dnc_internal(phone) WHERE removed_at IS NULL;
CREATE INDEX dnc_internal_phone ON dnc_internal(phone, added_at);

CREATE TABLE optouts (
    id            INTEGER PRIMARY KEY,
    phone         TEXT NOT NULL,
    channel       TEXT NOT NULL,
    source        TEXT NOT NULL DEFAULT 'cli',
    requested_at  TEXT NOT NULL,
    effective_at  TEXT NOT NULL,
    actor         TEXT NOT NULL
);
CREATE INDEX optouts_phone ON optouts(phone, effective_at);

-- What erasure leaves behind: the number stays suppressed for ever.
CREATE TABLE suppressions (
    id          INTEGER PRIMARY KEY,
    phone       TEXT NOT NULL,
    reason      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    actor       TEXT NOT NULL
);
CREATE INDEX suppressions_phone ON suppressions(phone);

CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
