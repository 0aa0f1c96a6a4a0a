"""Rules checked by hypothesis: the ticket lifecycle and the calling-hours arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from cctool import callhours, tickets
from cctool.errors import UserError
from cctool.store import open_store

START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


class TicketLifecycle(RuleBasedStateMachine):
    """Any sequence of status commands, legal or not, leaves every ticket in a state the lifecycle allows."""

    def __init__(self) -> None:
        super().__init__()
        self.store = open_store(":memory:", actor="prop", command="test")
        self.clock = START
        self.expected: dict[int, str] = {}
        self.kinds: dict[int, str] = {}

    def teardown(self) -> None:
        self.store.close()

    def tick(self) -> datetime:
        self.clock += timedelta(minutes=7)
        return self.clock

    @rule(kind=st.sampled_from(tickets.KINDS))
    def log_ticket(self, kind: str) -> None:
        ticket = tickets.create(self.store, "+8613800138003", kind, "a call", at=self.tick())
        self.expected[ticket["id"]] = "new"
        self.kinds[ticket["id"]] = kind

    @precondition(lambda self: self.expected)
    @rule(data=st.data(), status=st.sampled_from(tickets.STATUSES))
    def move(self, data: st.DataObject, status: str) -> None:
        ticket_id = data.draw(st.sampled_from(sorted(self.expected)))
        before = self.expected[ticket_id]
        events_before = len(tickets.events(self.store.conn, ticket_id))
        legal = status in tickets.TRANSITIONS[before]
        try:
            tickets.update(self.store, ticket_id, status=status, note="try", at=self.tick())
        except UserError:
            assert not legal
            assert len(tickets.events(self.store.conn, ticket_id)) == events_before  # refused: nothing kept
            return
        assert legal
        self.expected[ticket_id] = status

    @invariant()
    def states_are_the_model_and_history_agrees(self) -> None:
        conn = self.store.conn
        for ticket_id, status in self.expected.items():
            ticket = tickets.get(conn, ticket_id)
            assert ticket["status"] == status
            assert (ticket["resolved_at"] is not None) == (status in ("resolved", "closed"))
            moves = [e for e in tickets.events(conn, ticket_id) if e["event"] == "status"]
            walked = ["new"] + [e["new_value"] for e in moves]
            assert walked[-1] == status
            for old_event, new_status in zip(moves, walked[1:]):
                assert new_status in tickets.TRANSITIONS[old_event["old_value"]]
            waiting = conn.execute(
                "SELECT count(*) FROM callbacks WHERE ticket_id = ? AND status = 'scheduled'", (ticket_id,)
            ).fetchone()[0]
            resolved_once = any(e["new_value"] == "resolved" for e in moves)
            assert waiting == (1 if self.kinds[ticket_id] == "complaint" and resolved_once else 0)


TicketLifecycle.TestCase.settings = settings(
    max_examples=40, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_ticket_lifecycle = TicketLifecycle.TestCase

ZONE_SETS = [
    ("Asia/Shanghai",),
    ("Europe/London",),
    ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"),
    ("Australia/Lord_Howe", "Australia/Sydney"),
    ("America/St_Johns", "America/Halifax"),
]


@given(
    moment=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
    ),
    names=st.sampled_from(ZONE_SETS),
    start_h=st.integers(6, 10),
    length_h=st.integers(6, 13),
    days=st.none() | st.frozensets(st.integers(0, 6), min_size=1),
)
@settings(max_examples=300, deadline=None)
def test_next_allowed_is_allowed_and_nothing_earlier_is(moment, names, start_h, length_h, days) -> None:
    window = callhours.Window(time(start_h), time(min(start_h + length_h, 23)), days)
    zones = callhours.Zones(names, "number")
    found = callhours.next_allowed(moment, zones, window)
    assert found is not None and found >= moment
    assert callhours.is_allowed(found, zones, window)
    probe = moment
    while probe < found:  # every quarter hour before it is outside the window somewhere
        assert not callhours.is_allowed(probe, zones, window)
        probe += timedelta(minutes=15)


def test_a_contacts_own_zone_wins_over_its_numbers() -> None:
    assert callhours.zones_of("Europe/Paris", '["Asia/Shanghai"]') == callhours.Zones(
        ("Europe/Paris",), "contact"
    )
    assert callhours.zones_of(None, '["Asia/Shanghai"]').source == "number"
    assert callhours.zones_of(None, "[]") == callhours.Zones(("UTC",), "default")


def test_a_number_spanning_zones_is_callable_only_when_all_are_inside_hours() -> None:
    zones = callhours.Zones(("America/New_York", "America/Los_Angeles"), "number")
    window = callhours.policy_window("US")
    nine_am_new_york = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # 06:00 in Los Angeles
    assert not callhours.is_allowed(nine_am_new_york, zones, window)
    assert callhours.next_allowed(nine_am_new_york, zones, window) == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)


def test_daylight_saving_moves_the_utc_time_not_the_local_window() -> None:
    zones = callhours.Zones(("Europe/London",), "number")
    window = callhours.policy_window("GB")
    summer = callhours.next_allowed(datetime(2026, 7, 1, 5, 0, tzinfo=UTC), zones, window)
    winter = callhours.next_allowed(datetime(2026, 12, 1, 5, 0, tzinfo=UTC), zones, window)
    assert (summer, winter) == (
        datetime(2026, 7, 1, 7, 0, tzinfo=UTC),
        datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
    )
