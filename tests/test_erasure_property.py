"""Hypothesis: whatever was written on a person's tickets and callbacks, erasure leaves none of it and
keeps every record; someone else's text is untouched."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

from cctool import audit, callbacks, contacts, tickets
from cctool.errors import UserError
from cctool.store import open_store

START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
ERASED, OTHER = "+8613800138003", "+447911123456"
WORDS = st.text(alphabet="abc xyz王芳李[]*%_'\"", min_size=0, max_size=12)

# One step of a day at the help desk: (who, what, free text).
steps = st.lists(
    st.tuples(
        st.sampled_from((ERASED, OTHER)),
        st.sampled_from(
            ("ticket", "note", "subject", "body", "status", "priority", "callback", "done", "cancel")
        ),
        WORDS,
    ),
    min_size=1,
    max_size=14,
)


def text_columns(conn: sqlite3.Connection) -> str:
    """All text in all tables, one string."""
    parts = []
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        for row in conn.execute(f'SELECT * FROM "{table}"'):
            parts += [str(v) for v in row if isinstance(v, str)]
    return "\n".join(parts)


def play(store, plan: list[tuple[str, str, str]]) -> tuple[dict[str, list[str]], int]:
    """Run the plan; returns the markers written for each number and how many steps wrote something."""
    written: dict[str, list[str]] = {ERASED: [], OTHER: []}
    at = START
    own: dict[str, list[int]] = {ERASED: [], OTHER: []}
    open_callbacks: dict[str, list[int]] = {ERASED: [], OTHER: []}
    for n, (phone, action, words) in enumerate(plan):
        at += timedelta(minutes=5)
        marker = f"Q{n}Z {words}"  # unique, so a leftover is traced to its step
        try:
            if action == "ticket" or not own[phone]:
                ticket = tickets.create(store, phone, "complaint", marker, body=marker + "b", at=at)
                own[phone].append(ticket["id"])
            elif action in ("note", "status"):
                status = "open" if action == "status" else None
                tickets.update(store, own[phone][-1], status=status, note=marker, at=at)
            elif action in ("subject", "body", "priority"):
                value = "urgent" if action == "priority" else marker
                tickets.update(store, own[phone][-1], fields={action: value}, note=marker, at=at)
            elif action == "callback":
                cb = callbacks.schedule(store, phone, at + timedelta(days=1), ticket_id=own[phone][-1],
                                        note=marker, requested_by_customer=True, at=at)  # fmt: skip
                open_callbacks[phone].append(cb["id"])
            elif open_callbacks[phone]:
                cb_id = open_callbacks[phone].pop()
                if action == "done":
                    callbacks.mark_done(store, cb_id, marker, note=marker + "n", at=at)
                else:
                    callbacks.cancel(store, cb_id, note=marker, at=at)
            else:
                continue
        except UserError:
            continue
        written[phone].append(f"Q{n}Z")
    return written, sum(len(v) for v in written.values())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=steps)
def test_erasure_leaves_none_of_the_persons_text_and_keeps_every_record(plan) -> None:
    store = open_store(":memory:", actor="prop", command="test")
    try:
        written, _ = play(store, plan)
        conn = store.conn
        counts = [
            conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("tickets", "ticket_events", "callbacks")
        ]
        events_before = conn.execute(
            "SELECT id, ticket_id, at, event, field, ref FROM ticket_events"
        ).fetchall()
        if conn.execute("SELECT 1 FROM contacts WHERE phone = ?", (ERASED,)).fetchone() is None:
            return
        contacts.erase(store, ERASED)
        text = text_columns(conn)
        assert [m for m in written[ERASED] if m in text] == []
        assert [m for m in written[OTHER] if m not in text] == []
        assert [
            conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("tickets", "ticket_events", "callbacks")
        ] == counts
        assert (
            conn.execute("SELECT id, ticket_id, at, event, field, ref FROM ticket_events").fetchall()
            == events_before
        )
        assert audit.verify(conn).ok
        again = contacts.erase(store, ERASED)
        assert again["already_erased"] and not any(again["redacted"].values())
    finally:
        store.close()
