-- Tickets (inbound inquiries, complaints, orders, returns) with an append-only event history, and callbacks.

CREATE TABLE tickets (
    id            INTEGER PRIMARY KEY,
    phone         TEXT NOT NULL,
    contact_id    INTEGER REFERENCES contacts(id),
    kind          TEXT NOT NULL CHECK (kind IN ('inquiry', 'complaint', 'order', 'return')),
    subject       TEXT NOT NULL,
    body          TEXT,
    priority      TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    status        TEXT NOT NULL DEFAULT 'new'
                    CHECK (status IN ('new', 'open', 'pending', 'resolved', 'closed')),
    assignee      TEXT,
    sla_due_at    TEXT,
    satisfaction  INTEGER CHECK (satisfaction IS NULL OR satisfaction BETWEEN 0 AND 100),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    resolved_at   TEXT,
    created_by    TEXT NOT NULL
);
CREATE INDEX tickets_status ON tickets(status, sla_due_at);
CREATE INDEX tickets_phone ON tickets(phone);

-- Nothing on a ticket is overwritten without an event saying what it was and what it became.
CREATE TABLE ticket_events (
    id         INTEGER PRIMARY KEY,
    ticket_id  INTEGER NOT NULL REFERENCES tickets(id),
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    event      TEXT NOT NULL,     -- created, note, status, field, assign, link, satisfaction, marketing_switch
    field      TEXT,
    old_value  TEXT,
    new_value  TEXT,
    note       TEXT,
    ref        TEXT               -- JSON: {"attempt": id} / {"campaign": name} / {"callback": id}
);
CREATE INDEX ticket_events_ticket ON ticket_events(ticket_id, id);
CREATE TRIGGER ticket_events_no_update BEFORE UPDATE ON ticket_events
BEGIN SELECT RAISE(ABORT, 'ticket events are append-only'); END;
CREATE TRIGGER ticket_events_no_delete BEFORE DELETE ON ticket_events
BEGIN SELECT RAISE(ABORT, 'ticket events are append-only'); END;

CREATE TABLE callbacks (
    id                     INTEGER PRIMARY KEY,
    phone                  TEXT NOT NULL,
    contact_id             INTEGER REFERENCES contacts(id),
    due_at                 TEXT NOT NULL,     -- UTC
    tz                     TEXT,              -- the zone the time was given in
    campaign               TEXT,
    ticket_id              INTEGER REFERENCES tickets(id),
    owner                  TEXT,              -- agent name, or NULL for anyone
    status                 TEXT NOT NULL DEFAULT 'scheduled'
                             CHECK (status IN ('scheduled', 'claimed', 'done', 'cancelled', 'missed')),
    claimed_by             TEXT,
    claimed_at             TEXT,
    outcome                TEXT,
    note                   TEXT,
    requested_by_customer  INTEGER NOT NULL DEFAULT 0,
    created_at             TEXT NOT NULL,
    created_by             TEXT NOT NULL,
    done_at                TEXT
);
CREATE INDEX callbacks_due ON callbacks(status, due_at);
CREATE INDEX callbacks_phone ON callbacks(phone);
