"""`dial run` and `dial status`: the dialer engine wired to the database, a clock and a trunk.

The core loop (`cctool.dialengine`) is fed by three things built here:

* `DbLeads`, the lead source: due callbacks first, then this run's due retries, then fresh contacts.
  Contacts are *claimed* in `dial_contacts` with a lease (`lease_owner`, `lease_until`, wall-clock time)
  so two overlapping runs never hold the same contact; a lease left by a dead process expires (or is
  cleared at once when its owner is a dead process on this host).
* the gate: `dialgate.Gate`, the answer of `dialgate.check_dial` at the instant of every dial, from the
  records as they stand then (read per claimed block, read again when anyone else commits). This run's
  attempts count in the decision as soon as they are made (`Gate.note_attempt`), written or not.
* `DbSink`: attempts (each written once, with its outcome), refused dials and the contact's new state
  go to the database in batches, one transaction and one audit row per batch. A `kill -9` loses only
  the unflushed batch, and with it the contacts' state changes, so a new run dials those contacts again:
  nothing is recorded twice and every recorded attempt matches its contact's state. On the virtual
  clock the batches and claims are committed by a writer process (`cctool.dialwriter`), one at a time,
  while the run goes on dialing.

A `dnc_request` disposition opts the number out for every campaign: the opt-out is written at once on
the wall clock, with its batch on the virtual clock (`DbRun.opt_out`).
"""

from __future__ import annotations

import contextlib
import gc
import heapq
import json
import os
import socket
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from . import callbacks as callback_service
from . import campaign_store, dialgate, segment, tickets
from .campaign_store import StoredCampaign
from .clock import VirtualClock, WallClock
from .dialengine import Call, Engine, Lead, Stats
from .dialwriter import Batch, Writer, WriterFailed, claim_block, tune_for_run, write_batch
from .errors import UsageError, UserError
from .mocktrunk import CallModel, MockTrunk
from .pacer import Pacer
from .store import Store
from .timeutil import IsoText, from_iso, micros, to_iso, utcnow
from .trunk import TrunkFatal

LEASE_S = 120.0  # wall seconds a claim lasts without renewal
CLAIM_CHUNK = 500  # contacts a claim leases at once
WRITER_CLAIM_CHUNK = 4000  # with a writer process, whose each claim waits for the batch in flight
BATCH = 5000  # attempts per transaction at most
FLUSH_WALL_S = 1.0  # and at least this often in wall time
DEFAULT_MAX_ATTEMPTS = 6  # when the campaign sets no total cap
DRAIN_S = 3 * 3600.0  # at most this long after a run's end, its calls in flight finish (the engine's)
CAMPAIGN_WIDE = frozenset({"campaign_paused", "no_caller_id", "registry_stale"})
SUPPRESSING = frozenset(
    {"dnc_national", "dnc_internal", "opted_out", "no_consent", "consent_revoked", "erased", "invalid_number"}
)
DEFAULT_RETRY_S = {
    "busy": 600,
    "no_answer": 7200,
    "voicemail": 86400,
    "abandoned": 3600,
    "failed": 600,
    "callback": 86400,
}


_NO_CHECK = (None, None, None, None, "", "")  # the attempt row's decision fields when no gate ran


def iso_s(moment: datetime) -> str:
    """Second-precision UTC text (rounded up): sorts correctly as text, so indexes can be used."""
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# --- the contact's state after an attempt: a pure function ------------------------------------------
def retry_plan(definition: dict[str, Any]) -> tuple[dict[str, float], float, int, float]:
    """(retry delay per outcome, redial lock after an abandoned call, total attempts cap, minimum gap
    between two attempts) of a campaign."""
    retry = {**DEFAULT_RETRY_S, **{k: v for k, v in (definition.get("retry_s") or {}).items() if v}}
    lock = float((definition.get("dialing") or {}).get("abandon_lock_s") or 0)
    caps = definition.get("caps") or {}
    return retry, lock, caps.get("total") or DEFAULT_MAX_ATTEMPTS, float(caps.get("min_gap_s") or 0)


def after_attempt(
    definition: dict[str, Any],
    attempts: int,
    outcome: str,
    disposition: str | None,
    plan: tuple[dict[str, float], float, int, float] | None = None,
) -> tuple[str, float | None]:
    """(state, seconds until the next try) for a contact after an attempt with this outcome.

    A retry is never planned before the campaign's minimum gap has passed (nor, after an abandoned call,
    before the redial lock): the decision would refuse it then, and the refusal would say nothing new.
    `plan`: `retry_plan(definition)`, computed once by a run instead of at every attempt."""
    retry, lock, cap, gap = plan or retry_plan(definition)
    if outcome == "answered":
        if disposition == "dnc_request":
            return "suppressed", None
        if disposition == "callback":
            return ("pending", max(float(retry["callback"]), gap)) if attempts < cap else ("exhausted", None)
        return "done", None
    if outcome == "invalid":
        return "done", None
    delay = max(float(retry.get(outcome, retry["failed"])), gap)
    if outcome == "abandoned":
        delay = max(delay, lock)
    if attempts >= cap:
        return "exhausted", None
    return "pending", delay


MAX_AGENTS = 5_000  # a large call center's floor; each agent costs the simulation memory and time


class RunInterrupted(UserError):
    """Ctrl-C or SIGTERM stopped a run once its attempts were written (exit 130, as for any interruption;
    the CLI's generic "nothing half-written was kept" would read as if the run's work had been undone)."""

    exit_code = 130

    def __init__(self, message: str, summary: dict[str, Any]):
        super().__init__(message)
        self.summary = summary  # what the run did before it stopped: `dial run --json` still prints it


@dataclass
class RunOptions:
    campaign: str
    trunk: str = "mock"
    model: Path | None = None
    agents: int = 10
    for_s: float = 8 * 3600.0
    start: datetime | None = None
    seed: int | None = 0
    speed: float | None = None
    mode: str | None = None  # the campaign's mode unless given
    break_every_s: float | None = None  # each agent takes a break this often (staggered) ...
    break_s: float = 900.0  # ... of this length


def break_plan(
    agents: int, for_s: float, every_s: float | None, length_s: float
) -> list[tuple[int, float, float]]:
    """(agent, at, length): each agent breaks every `every_s`, staggered so the team never breaks at once."""
    if not every_s:
        return []
    plan = []
    for agent in range(agents):
        at = every_s + agent * every_s / agents
        while at < for_s:
            plan.append((agent, at, length_s))
            at += every_s
    return plan


class Held:
    """What this run knows of a contact it holds."""

    __slots__ = ("contact_id", "phone", "attempts")

    def __init__(self, contact_id: int, phone: str, attempts: int):
        self.contact_id, self.phone, self.attempts = contact_id, phone, attempts


class DbRun:
    """One `dial run`: claims, the gate, batched writes; `run()` drives the engine."""

    def __init__(self, store: Store, campaign: StoredCampaign, opts: RunOptions, owner: str | None = None):
        self.store, self.conn, self.campaign, self.opts = store, store.conn, campaign, opts
        self.owner = owner or owner_id()
        self.definition = campaign.definition
        self.mode = opts.mode or campaign.dial_mode
        self.run_id = 0
        self.clock: Any = None
        self.trunk_name = "mock"
        # lead source state
        self.fresh: list[Held] = []
        self.retries: list[tuple[float, int, Held]] = []
        self.callbacks: list[tuple[Held, int, bool]] = []
        self._refused_callbacks: list[int] = []  # put back with no time to dial them: not taken again
        self.held: dict[int, Held] = {}
        self._seq = 0
        self._db_empty = False
        self._next_callback_poll = 0.0
        # sink buffers
        self.attempt_rows: list[tuple] = []
        self.blocked_rows: list[tuple] = []
        self.contact_rows: dict[int, tuple] = {}
        self.callback_rows: list[tuple] = []
        self.optout_rows: list[tuple] = []
        self.batch_counts: dict[str, int] = {}
        self.totals = {"attempts": 0, "blocked": 0, "batches": 0, "optouts": 0}
        self._last_flush_wall = time.monotonic()
        self._renew_at = time.monotonic() + LEASE_S / 4
        self._stop_reason: str | None = None
        self.engine: Engine | None = None
        # the dial-time decision: records loaded per claimed block, re-read when someone else wrote
        self.dial_gate = dialgate.Gate(self.conn, campaign, flush=self.flush)
        self._plan = retry_plan(self.definition)

    # --- time ---------------------------------------------------------------------------------------
    def at(self, seconds: float) -> datetime:
        return self.clock.at_seconds(seconds)

    def iso(self, seconds: float) -> str:
        """`to_iso(self.at(seconds))`, without datetime arithmetic (it runs twice per attempt)."""
        return self.iso_us(self._epoch_us + micros(seconds))

    def iso_us(self, us: int) -> str:
        """`to_iso` of the instant `us` microseconds after the Unix epoch (the text up to the minute is
        kept: a run writes three times per attempt, a few hundred attempts a minute)."""
        return self._iso_text(us)

    def iso_ceil(self, seconds: float) -> str:
        """`iso_s(self.at(seconds))`: whole seconds, rounded up."""
        us = self._epoch_us + micros(seconds)
        return self.iso_us(-(-us // 1_000_000) * 1_000_000)

    # --- start and end ------------------------------------------------------------------------------
    def begin(self, start: datetime) -> None:
        recover_stale_runs(self.store)
        self._autocheckpoint, self._cache_size = tune_for_run(self.conn)  # `finish` puts them back
        c, opts = self.campaign, self.opts
        where, params = segment.compile_where(self.definition.get("segment"))
        with self.store.write() as conn:
            cur = conn.execute(
                "INSERT INTO dial_runs (campaign, version, trunk, mode, agents, seed, owner, started_at, sim_start)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (c.name, c.version, self.trunk_name, self.mode, opts.agents, opts.seed, self.owner,
                 to_iso(utcnow()), iso_s(start)),
            )  # fmt: skip
            self.run_id = int(cur.lastrowid or 0)
            added = conn.execute(
                f"INSERT OR IGNORE INTO dial_contacts (campaign, contact_id) SELECT ?, c.id FROM contacts c "
                f"WHERE {where}",
                [c.name, *params],
            ).rowcount
            self.store.audit(
                "dial_run",
                self.run_id,
                "start",
                {"campaign": c.name, "version": c.version, "trunk": self.trunk_name, "mode": self.mode,
                 "agents": opts.agents, "seed": opts.seed, "owner": self.owner, "sim_start": iso_s(start),
                 "contacts_added": added},
            )  # fmt: skip

    def finish(self, stats: Stats, status: str) -> None:
        self.flush(final=True)
        self._stop_writer()
        end_s = self.clock.seconds
        if status != "interrupted" and self.engine is not None:
            # The span the agents were logged in for ends when the run stopped dialing: at the end of --for,
            # or earlier when it ran out of contacts (the virtual clock then jumps to the end of --for),
            # not when the last call in flight ended. The report spreads `logged_in_s` over it, by hour.
            end_s = min(end_s, self.engine.stop_at)
        end = self.at(end_s)
        with self.store.write() as conn:
            undialed = [callback_id for _, callback_id, _ in self.callbacks]
            if undialed:  # claimed, then the run ended before their turn: back in the queue, as they were
                conn.execute(
                    "UPDATE callbacks SET status = 'scheduled', claimed_by = NULL, claimed_at = NULL "
                    "WHERE id IN (SELECT value FROM json_each(?)) AND status = 'claimed' AND claimed_by = ?",
                    (json.dumps(undialed), self.store.actor),
                )
                self.store.audit("dial_run", self.run_id, "callbacks_released", {"callbacks": undialed})
                self.callbacks = []
            conn.execute(
                "UPDATE dial_contacts SET lease_owner = NULL, lease_until = NULL WHERE campaign = ? "
                "AND lease_owner = ?",
                (self.campaign.name, self.owner),
            )
            conn.execute(
                "UPDATE dial_runs SET status = ?, sim_end = ?, ended_at = ?, logged_in_s = ? WHERE id = ?",
                # the engine's agent-seconds (breaks and the drain of the last calls left out); an
                # interrupted run has none and the report falls back to agents x its span
                (status, iso_s(end), to_iso(utcnow()), stats.logged_in_s or None, self.run_id),
            )
            self.store.audit("dial_run", self.run_id, "end", {"status": status, **self.summary(stats)})
        with contextlib.suppress(sqlite3.Error):  # only how often the WAL is copied back
            self.conn.execute(f"PRAGMA wal_autocheckpoint = {int(self._autocheckpoint)}")
            self.conn.execute(f"PRAGMA cache_size = {int(self._cache_size)}")
            self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def summary(self, stats: Stats) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "campaign": self.campaign.name,
            "version": self.campaign.version,
            "mode": self.mode,
            "agents": self.opts.agents,
            "attempts": self.totals["attempts"],
            "blocked": self.totals["blocked"],
            "outcomes": dict(sorted(stats.outcomes.items())),
            "live_answers": stats.live,
            "abandoned": stats.abandoned,
            "abandon_rate": round(stats.abandon_rate, 5),
            "occupancy": round(stats.occupancy, 5),
            "optouts": self.totals["optouts"],
            "batches": self.totals["batches"],
            "stopped": self._stop_reason,
            "interrupted": False,
        }

    # --- leads ----------------------------------------------------------------------------------------
    def next_lead(self, now_s: float) -> Lead | None:
        if now_s >= self._next_callback_poll:
            self._poll_callbacks(now_s)
        if self.callbacks:
            held, callback_id, requested = self.callbacks.pop(0)
            return self._lead(held, callback_id, requested)
        if self.retries and self.retries[0][0] <= now_s:
            return self._lead(heapq.heappop(self.retries)[2])
        if not self.fresh and not self._db_empty:
            self.claim_more()
        if self.fresh:
            return self._lead(self.fresh.pop())
        return None

    def claim_more(self) -> None:
        """Claim the next block of due contacts, in a transaction of its own: the attempts buffered go
        with their own batch (a claim every few hundred dials would otherwise cut every batch short)."""
        self._use_writer()
        now_s, wall = self.engine_now(), iso_s(utcnow())
        chunk = WRITER_CLAIM_CHUNK if self._writer is not None else CLAIM_CHUNK
        params = {"owner": self.owner, "until": iso_s(utcnow() + timedelta(seconds=LEASE_S)),
                  "c": self.campaign.name, "now": iso_s(self.at(now_s)), "wall": wall, "n": chunk}  # fmt: skip
        if self._writer is not None:
            rows = self._writer.call("claim_block", self.run_id, params)
        else:
            before = self.conn.total_changes
            with self.store.write() as conn:
                rows = claim_block(self.store, conn, self.run_id, params)
            self.dial_gate.mine(before)  # leases only: nothing the decision reads
        if not rows:
            self._db_empty = True
            self._due_later_s = self._next_due(self.conn, now_s, wall)
            return
        self._take(rows)

    def _lead(self, held: Held, callback_id: int | None = None, requested: bool = False) -> Lead:
        return Lead(held.contact_id, held.phone, callback_id, requested, held)

    def finished(self, now_s: float) -> bool:
        """Nothing left to dial in this run: no fresh contact, no callback, no retry due before its end."""
        if not self._db_empty or self.fresh or self.callbacks:
            return False
        end = self.engine.stop_at if self.engine is not None else float("inf")
        if self._due_later_s is not None and self._due_later_s < end:
            return False  # a contact (or callback) of an earlier run comes due before this run's end
        return not self.retries or self.retries[0][0] >= end

    def _take(self, rows: list[tuple]) -> None:
        """The contacts just claimed: their numbers, their records for the gate, last claimed first out."""
        conn = self.conn
        attempts = dict(rows)
        marks = ",".join("?" * len(attempts))
        phones = conn.execute(
            f"SELECT id, phone FROM contacts WHERE id IN ({marks})", list(attempts)
        ).fetchall()
        claimed = sorted(
            (Held(cid, phone, attempts[cid]) for cid, phone in phones), key=lambda h: -h.contact_id
        )
        self.fresh.extend(claimed)
        self.dial_gate.load([held.contact_id for held in claimed])
        for held in claimed:
            self.held[held.contact_id] = held

    def _next_due(self, conn: sqlite3.Connection, now_s: float, wall: str) -> float | None:
        """When (run clock seconds) the first contact no run holds, or callback, comes due after now: the
        run waits for it (and claims it then) rather than ending as if nothing were left."""
        row = conn.execute(
            "SELECT min(t) FROM (SELECT min(next_at) t FROM dial_contacts WHERE campaign = :c AND "
            "state = 'pending' AND next_at > :now AND (lease_owner IS NULL OR lease_until < :wall) "
            "UNION ALL SELECT min(due_at) FROM callbacks WHERE status = 'scheduled' AND due_at > :now "
            "AND (campaign = :c OR campaign IS NULL))",
            {"c": self.campaign.name, "now": iso_s(self.at(now_s)), "wall": wall},
        ).fetchone()
        if row[0] is None:
            return None
        return (from_iso(row[0]) - self.at(0)).total_seconds()

    def _poll_callbacks(self, now_s: float) -> None:
        """Due callbacks of this campaign (or of none) go before fresh contacts; claimed at once."""
        self._next_callback_poll = now_s + 60.0
        now_text = iso_s(self.at(now_s))
        rows = self.conn.execute(
            "SELECT cb.id, cb.contact_id, cb.phone, cb.requested_by_customer FROM callbacks cb "
            "WHERE cb.status = 'scheduled' AND cb.due_at <= ? AND (cb.campaign = ? OR cb.campaign IS NULL) "
            "AND cb.id NOT IN (SELECT value FROM json_each(?)) ORDER BY cb.due_at, cb.id LIMIT 50",
            (now_text, self.campaign.name, json.dumps(self._refused_callbacks)),
        ).fetchall()
        if not rows:
            return
        self.flush()
        self._caught_up()
        before = self.conn.total_changes
        with self.store.write() as conn:
            taken = []
            for callback_id, contact_id, phone, requested in rows:
                if contact_id is None:
                    found = conn.execute("SELECT id FROM contacts WHERE phone = ?", (phone,)).fetchone()
                    if found is None:
                        continue
                    contact_id = found[0]
                held = self.held.get(contact_id)
                if held is None:
                    conn.execute(
                        "INSERT OR IGNORE INTO dial_contacts (campaign, contact_id) VALUES (?, ?)",
                        (self.campaign.name, contact_id),
                    )
                    got = conn.execute(
                        "UPDATE dial_contacts SET lease_owner = ?, lease_until = ? WHERE campaign = ? AND "
                        "contact_id = ? AND (lease_owner IS NULL OR lease_owner = ? OR lease_until < ?) "
                        "RETURNING attempts",
                        (self.owner, iso_s(utcnow() + timedelta(seconds=LEASE_S)), self.campaign.name,
                         contact_id, self.owner, iso_s(utcnow())),
                    ).fetchone()  # fmt: skip
                    if got is None:
                        continue  # another run holds the contact
                    phone_row = conn.execute(
                        "SELECT phone FROM contacts WHERE id = ?", (contact_id,)
                    ).fetchone()
                    held = self.held[contact_id] = Held(contact_id, phone_row[0], got[0])
                claimed = conn.execute(
                    "UPDATE callbacks SET status = 'claimed', claimed_by = ?, claimed_at = ? "
                    "WHERE id = ? AND status = 'scheduled'",
                    (self.store.actor, now_text, callback_id),
                ).rowcount
                if claimed:
                    taken.append(callback_id)
                    self.callbacks.append((held, callback_id, bool(requested)))
            if taken:
                self.store.audit("dial_run", self.run_id, "callbacks_claimed", {"callbacks": taken})
        self.dial_gate.mine(before)  # leases and callback claims: nothing the decision reads

    # --- the gate -----------------------------------------------------------------------------------
    def gate(self, lead: Lead, now_s: float) -> Any:
        assert lead.contact_id is not None
        us = self._epoch_us + micros(now_s)  # the instant `self.at(now_s)`, exactly
        return self.dial_gate.check_at(lead.contact_id, us, callback_requested=lead.callback_requested)

    # --- the sink -----------------------------------------------------------------------------------
    def attempt(self, call: Call) -> None:
        lead, check, outcome, disposition = call.lead, call.check, call.outcome, call.disposition
        held: Held = lead.extra
        attempts = held.attempts = held.attempts + 1
        c, epoch, text = self.campaign, self._epoch_us, self._iso_text  # locals: this runs at every attempt
        us = epoch + micros(call.dialed_s)
        started, ended_s = text(us), call.ended_s
        ended = text(epoch + micros(ended_s))
        state, delay = after_attempt(self.definition, attempts, outcome, disposition, self._plan)
        agent, ring, talk, wrap = call.agent, call.ring_s, call.talk_s, call.wrap_s
        connect = call.connect_delay_s
        local, zone, source, zones, registry, rules = check.row_fields() if check else _NO_CHECK
        # an absent value is the stand-in of `_ABSENT`, which the INSERT turns back into NULL
        self.attempt_rows.append(
            (
                self.run_id, c.name, c.version, held.contact_id, held.phone, started, ended,
                local, zone, source, zones, c.caller_id, registry, rules, self.trunk_name, outcome, disposition or "",
                None if ring is None else round(ring, 3), -1 if talk is None else round(talk, 3),
                -1 if wrap is None else round(wrap, 3), "" if agent is None else self._agent_names[agent],
                -1 if connect is None else round(connect, 3), int(call.abandoned), int(call.safe_harbour),
                lead.callback_id or 0, int(lead.callback_requested), call.sip_code or 0, call.call_id or "",
                c.script, c.script_sha256,
            )
        )  # fmt: skip
        self.dial_gate.note_attempt(held.phone, us, outcome)  # the next decision counts it, written or not
        counts = self.batch_counts
        counts[outcome] = counts.get(outcome, 0) + 1
        next_at = self.iso_ceil(ended_s + delay) if delay is not None else None
        self.contact_rows[held.contact_id] = (
            state, attempts, started, next_at, outcome, disposition, c.name, held.contact_id,
        )  # fmt: skip
        if lead.callback_id is not None:
            reached = outcome == "answered"
            self.callback_rows.append(
                (lead.callback_id, reached, disposition or outcome, ended, next_at, len(self.attempt_rows) - 1)
            )  # fmt: skip
        if state == "pending" and delay is not None:
            self._seq += 1
            heapq.heappush(self.retries, (ended_s + delay, self._seq, held))
        if disposition == "dnc_request":
            self.opt_out(held, call)
        elif len(self.attempt_rows) >= BATCH:
            self.flush()

    def blocked(self, lead: Lead, check: Any, now_s: float) -> None:
        held: Held = lead.extra
        c = self.campaign
        nxt = check.next_allowed_at
        self.blocked_rows.append(
            (self.run_id, c.name, c.version, held.contact_id, held.phone, self.iso(now_s),
             ";".join(check.reasons), iso_s(nxt) if nxt else None)
        )  # fmt: skip
        reasons = set(check.reasons)
        self.totals["blocked"] += 1
        if reasons & CAMPAIGN_WIDE:
            self._stop_reason = ";".join(sorted(reasons & CAMPAIGN_WIDE))
            if lead.callback_id is not None:  # back in the queue when the run ends (`finish`)
                self.callbacks.insert(0, (held, lead.callback_id, lead.callback_requested))
            else:
                self.fresh.append(held)  # not this contact's fault: it stays pending
            if self.engine is not None:
                self.engine.stop()
            return
        if nxt is not None:
            state, next_at = "pending", iso_s(nxt)
            self._seq += 1
            heapq.heappush(self.retries, ((nxt - self.clock.at_seconds(0)).total_seconds(), self._seq, held))
        elif "cap_total" in reasons and not reasons & SUPPRESSING:
            state, next_at = "exhausted", None
        else:
            state, next_at = "suppressed", None
        # an attempt of this contact still in the batch keeps its time and outcome as the last ones
        earlier = self.contact_rows.get(held.contact_id)
        last = (earlier[2], earlier[4], earlier[5]) if earlier is not None else (None, None, None)
        self.contact_rows[held.contact_id] = (
            state, held.attempts, last[0], next_at, last[1], last[2], c.name, held.contact_id,
        )  # fmt: skip
        if lead.callback_id is not None:
            # back in the queue, due when the contact may be called; with no such time (opted out, on a
            # list) due as it was, for a person to see, and not taken again by this run
            self.callback_rows.append(
                (lead.callback_id, False, "refused_at_dial", self.iso(now_s), next_at, None)
            )
            if next_at is None:
                self._refused_callbacks.append(lead.callback_id)

    def opt_out(self, held: Held, call: Call) -> None:
        """The callee said stop: an opt-out for every campaign, written with the attempt that carried it.

        On the wall clock (a real trunk) the batch is written at once; on the virtual clock it goes with
        the batch, which is written before this run could dial anyone again and within a second of wall time.
        """
        self.optout_rows.append(
            (held.phone, f"dialer:{self.campaign.name}", to_iso(self.at(call.answered_s or call.dialed_s)),
             self.iso(call.ended_s), self.store.actor, held.contact_id)
        )  # fmt: skip
        if not isinstance(self.clock, VirtualClock):
            self.flush()

    def flush(self, final: bool = False) -> None:
        """Write the buffered attempts, refusals and contact states in one transaction with one audit row:
        handed to the writer process when the run has one (and no callback is to be closed: those link the
        attempts by id, and are written here once the writer has caught up)."""
        if not (self.attempt_rows or self.blocked_rows or self.contact_rows or self.held):
            return
        self._use_writer()
        renew = None
        if time.monotonic() >= self._renew_at:
            self._renew_at = time.monotonic() + LEASE_S / 4
            renew = (iso_s(utcnow() + timedelta(seconds=LEASE_S)), self.campaign.name, self.owner)
        batch = Batch(
            self.run_id, self.campaign.name, self.attempt_rows, self.blocked_rows, list(self.contact_rows.values()),
            self.optout_rows, self.batch_counts, renew,
        )  # fmt: skip
        for phone, *_ in self.optout_rows:
            self.dial_gate.forget(phone)  # read again at its next dial, once written
        if self._writer is not None and not self.callback_rows:
            self._writer.submit("write_batch", batch)
        else:
            self._caught_up()
            before = self.conn.total_changes
            with self.store.write() as conn:
                first_id = write_batch(self.store, conn, batch)
                for callback_id, reached, outcome, ended, next_at, index in self.callback_rows:
                    attempt_id = None if index is None else first_id + index  # None: refused, not dialed
                    self._close_callback(conn, callback_id, reached, outcome, ended, next_at, attempt_id)
            self.dial_gate.mine(before)  # attempts and opt-outs were reported to the gate as they were noted
        for contact_id, row in self.contact_rows.items():
            if row[0] != "pending":
                self.held.pop(contact_id, None)
        self.totals["attempts"] += len(batch.attempts)
        self.totals["batches"] += 1 if (batch.attempts or batch.blocked) else 0
        self.totals["optouts"] += len(batch.optouts)
        self.attempt_rows, self.blocked_rows, self.callback_rows, self.optout_rows = [], [], [], []
        self.contact_rows, self.batch_counts = {}, {}
        self.dial_gate.written()
        self._last_flush_wall = time.monotonic()

    def _close_callback(
        self, conn: sqlite3.Connection, callback_id: int, reached: bool, outcome: str, ended: str,
        next_at: str | None, attempt_id: int | None,
    ) -> None:  # fmt: skip
        """A served callback: done when the person was reached, else back in the queue, due at the contact's
        retry time (its ticket hears of the call either way)."""
        try:  # the tickets area's service: close it and link the ticket, or put it back in the queue
            if reached:
                callback_service.mark_done(self.store, callback_id, outcome, attempt_id, at=from_iso(ended))
            else:
                due = from_iso(next_at) if next_at is not None else None
                callback_service.release(
                    self.store, callback_id, outcome, attempt_id, due_at=due, at=from_iso(ended)
                )
            return
        except UserError as refused:
            # Someone changed the callback while the dialer held it (cancelled it, or took it over once the
            # claim's grace ran out): its state is theirs to keep. The call still happened: the ticket and
            # the audit log say so, and the callback is left as it is.
            left = str(refused)
        action, what = (
            ("reached_by_dialer", "reached the person") if reached else ("tried_by_dialer", "called")
        )
        self.store.audit(
            "callback", callback_id, action, {"outcome": outcome, "attempt": attempt_id, "left": left}
        )
        ticket = conn.execute("SELECT ticket_id FROM callbacks WHERE id = ?", (callback_id,)).fetchone()
        if ticket and ticket[0] is not None:
            tickets.append_event(
                self.store, ticket[0], "link", from_iso(ended),
                note=f"the dialer {what}: {outcome} (callback {callback_id} left as it was)",
                ref={"callback": callback_id, "attempt": attempt_id},
            )  # fmt: skip

    def engine_now(self) -> float:
        return self.clock.seconds if self.clock is not None else 0.0

    def on_tick(self, now_s: float) -> None:
        if now_s >= self._next_reclaim or (self._due_later_s is not None and now_s >= self._due_later_s):
            self._next_reclaim = now_s + 300.0
            self._due_later_s = None
            self._db_empty = False  # contacts whose retry time has come may be claimed again
            self._next_callback_poll = now_s  # and callbacks now due taken
        if time.monotonic() - self._last_flush_wall >= FLUSH_WALL_S:
            self.flush()
        if now_s >= self._next_day_s and self.engine is not None:  # a new UTC day: new windows begin
            midnight_s, self._next_day_s = self._next_day_s, self._midnight_after(now_s)
            self.flush()
            self._caught_up()
            live, abandoned = pacing_prior(
                self.conn, self.campaign.name, self._window, self._cap, self.at(now_s)
            )
            # the calls still in flight were dialed the day before: their outcomes count there, not here
            self.engine.pacer.reset_window(live, abandoned, midnight_s)

    def _midnight_after(self, now_s: float) -> float:
        """Clock seconds of the first UTC midnight after `now_s` (`pacing_prior`'s windows turn there)."""
        moment = self.at(now_s).astimezone(UTC)
        midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        return now_s + (midnight - moment).total_seconds()

    def _caught_up(self) -> None:
        """The writer process has committed everything handed to it (before the run reads or writes the
        database itself)."""
        if self._writer is not None:
            self._writer.acked(True)

    def _start_writer(self, clock: Any) -> None:
        """A simulated run hands its batches and claims to a writer process (`dialwriter`): SQLite's work
        on the other core while this one dials. Not for a real trunk (a few calls a second, for hours),
        nor where the gate cannot count commits (no WAL), nor with `CCTOOL_DIAL_WRITER=0`."""
        if (
            not isinstance(clock, VirtualClock)
            or os.environ.get("CCTOOL_DIAL_WRITER", "1") == "0"
            or not self.dial_gate.sees_commits
            or str(self.store.path) == ":memory:"
        ):
            return
        try:
            self._starting = Writer(self.store.path, self.store.actor, self.store.command)
        except OSError:  # no interpreter to start (an embedded Python): the run writes by itself
            self._starting = None

    def _use_writer(self) -> None:
        """Hand the writes to the writer once it has started (until then, about 0.15 s, the run writes
        by itself: its first claim does not wait)."""
        starting = self._starting
        if starting is not None and starting.ready():
            self._starting = None
            self._writer = starting
            self.dial_gate.attach_writer(starting.acked)

    def _stop_writer(self, failed: bool = False) -> None:
        """The writer's last batch committed (unless `failed`: then it is stopped as it is, and what was
        not handed to it yet is dropped with it, so that every contact's state matches its attempts)."""
        writer, self._writer = self._writer, None
        if self._starting is not None:
            self._starting.kill(graceful=True)
            self._starting = None
        if writer is None:
            return
        self.dial_gate.attach_writer(None)
        if not failed:
            writer.close()
            return
        writer.kill()
        # callbacks those attempts served go back in the queue with the ones not dialed yet (`finish`)
        self.callbacks.extend((None, row[0], False) for row in self.callback_rows)  # type: ignore[misc]
        self.attempt_rows, self.blocked_rows, self.callback_rows, self.optout_rows = [], [], [], []
        self.contact_rows, self.batch_counts = {}, {}

    _writer: Writer | None = None
    _starting: Writer | None = None
    _window = "30d"
    _cap = 0.03
    _autocheckpoint = 1000
    _cache_size = -2000
    _next_day_s = float("inf")
    _next_reclaim = 300.0
    _due_later_s: float | None = None  # when the database has a contact due next (`_next_due`)

    # --- the run --------------------------------------------------------------------------------------
    def run(self, trunk: Any, clock: Any, model: CallModel) -> dict[str, Any]:
        self._start_writer(clock)  # first: it starts while the run begins
        try:
            return self._run(trunk, clock, model)
        finally:
            self._stop_writer(failed=True)  # stopped already, unless the run failed before dialing

    def _run(self, trunk: Any, clock: Any, model: CallModel) -> dict[str, Any]:
        self.clock = clock
        epoch = clock.at_seconds(0)
        self._epoch_us = int(epoch.timestamp()) * 1_000_000 + epoch.microsecond
        self._iso_text = IsoText()
        self._agent_names = [f"agent-{agent + 1:02d}" for agent in range(self.opts.agents)]
        start = clock.at_seconds(0) if isinstance(clock, VirtualClock) else clock.now()
        self.begin(start)
        dialing = self.definition.get("dialing") or {}
        self._cap = cap = float(self.campaign.abandon_cap or dialing.get("max_abandon_rate") or 0.03)
        self._window = self.campaign.abandon_window or "30d"
        self._next_day_s = self._midnight_after(0.0)
        live, abandoned = pacing_prior(self.conn, self.campaign.name, self._window, cap, start)
        self.dial_gate.start()
        pacer = Pacer(
            self.opts.agents,
            cap,
            prior_live=live,
            prior_abandoned=abandoned,
            max_channels=getattr(trunk, "max_channels", None),
        )
        engine = Engine(
            clock,
            trunk,
            model,
            agents=self.opts.agents,
            mode=self.mode,
            source=self,
            sink=self,
            gate=self.gate,
            pacer=pacer,
            caller_id=self.campaign.caller_id or "",
            ring_timeout_s=float(dialing.get("ring_timeout_s") or 20),
            preview_s=float(dialing.get("preview_s") or 10),
            seed=self.opts.seed,
            dispositions=list(self.definition.get("dispositions") or []) or None,
            on_tick=self.on_tick,
            breaks=break_plan(self.opts.agents, self.opts.for_s, self.opts.break_every_s, self.opts.break_s),
        )
        self.engine = engine
        status = "failed"
        # A simulated day makes hundreds of thousands of short-lived objects and no cycle worth collecting
        # in a second or two: the cycle collector, walking them every 700 allocations, costs a tenth of
        # the run. It is on again when the run ends, and stays on for a real trunk (hours of wall time).
        collecting = gc.isenabled() and isinstance(clock, VirtualClock)
        if collecting:
            gc.disable()
        try:
            stats = engine.run(self.opts.for_s, self.opts.speed)
            status = "finished"
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM from cron (the CLI turns it into this)
            with contextlib.suppress(Exception):
                trunk.close()  # cancel ringing calls, hang up answered ones; finished ones are recorded
            stats, status = engine.stats, "interrupted"
            self._finish(stats, status)
            summary = self.summary(stats)
            with contextlib.suppress(
                Exception
            ):  # the window's figures are a read more, not worth a traceback
                summary = self.summary_with_window(stats)
            raise RunInterrupted(
                f"run {self.run_id} of {self.campaign.name} interrupted: its {self.totals['attempts']} "
                f"attempts are written and its contacts freed; `cctool dial run {self.campaign.name}` "
                "again goes on with the contacts left",
                {**summary, "interrupted": True},
            ) from None
        except BaseException:
            self._safe_fail(engine.stats)
            raise
        finally:
            if collecting:
                gc.enable()
        self._finish(stats, status)
        return self.summary_with_window(stats)

    def summary_with_window(self, stats: Stats) -> dict[str, Any]:
        summary = self.summary(stats)
        # the cap is on the campaign's window, not on one run: a short run may spend the window's slack
        live, abandoned = window_counts(
            self.conn, self.campaign.name, self._window, self.at(self.clock.seconds)
        )
        summary["abandonment_window"] = {
            "window": self._window, "live_answers": live, "abandoned": abandoned,
            "rate": round(abandoned / live, 5) if live else 0.0, "cap": self._cap,
        }  # fmt: skip
        return summary

    def _finish(self, stats: Stats, status: str) -> None:
        """`finish`; if the writer process fails meanwhile, the run ends as failed, written from here."""
        try:
            self.finish(stats, status)
        except WriterFailed:
            self._safe_fail(stats)
            raise

    def _safe_fail(self, stats: Stats) -> None:
        writer, healthy = self._writer, True
        if writer is not None:
            with contextlib.suppress(WriterFailed):
                writer.acked(True)  # its batch in flight
            healthy = not writer.failed
        self._stop_writer(failed=not healthy)  # a failed writer's batch is lost: so is what followed it
        with contextlib.suppress(Exception):  # the original error is the one to report
            self.finish(stats, "failed")


def window_start(window: str, at: datetime) -> datetime:
    """Where the abandonment window ending at `at` begins: whole UTC days, as the audit counts them
    (`auditsections.abandonment`): `at`'s day for `day`, and the 29 days before it too for `30d`."""
    today = at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today if window == "day" else today - timedelta(days=29)


def window_counts(conn: sqlite3.Connection, campaign: str, window: str, at: datetime) -> tuple[int, int]:
    """(live answers, abandoned) of the campaign in the abandonment window ending at `at` (before, a
    rolling 30 x 24 hours: `dial status` showed a rate the audit does not judge)."""
    since = window_start(window, at)
    row = conn.execute(
        "SELECT count(*), coalesce(sum(abandoned), 0) FROM attempts WHERE campaign = ? "
        "AND outcome IN ('answered', 'abandoned') AND started_at >= ? AND started_at <= ?",
        (campaign, to_iso(since), to_iso(at)),
    ).fetchone()
    return int(row[0]), int(row[1])


def pacing_prior(
    conn: sqlite3.Connection, campaign: str, window: str, cap: float, at: datetime
) -> tuple[int, int]:
    """(live answers, abandoned) the pacer starts from at `at`: of the windows the calls dialed from now
    on will count in, the one with the least room under the cap (`cap x live - abandoned`).

    The audit checks each window of whole UTC days ending on each day (`auditsections`): the day itself
    (`day`), or the 30 days ending on it (`30d`). A call dialed today counts in the 30-day windows ending
    today and on each of the next 29 days; before anything is dialed on those days, they hold today and
    the 29, 28, ... 0 days before it, so the window ending in 29 days holds today alone. The room of
    older days (a month of calls at 2 %) is not room for today: if the campaign stopped dialing, today
    would be judged on its own. So the prior is the tightest of those suffixes of the last 30 days, each
    counted up to `at` (most often today's calls so far).
    """
    today = at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    days = 1 if window == "day" else 30
    rows = conn.execute(
        "SELECT substr(started_at, 1, 10), count(*), coalesce(sum(abandoned), 0) FROM attempts "
        "WHERE campaign = ? AND outcome IN ('answered', 'abandoned') AND started_at >= ? AND started_at <= ? "
        "GROUP BY 1",
        (campaign, to_iso(today - timedelta(days=days - 1)), to_iso(at)),
    ).fetchall()
    by_day = {day: (int(live), int(abandoned)) for day, live, abandoned in rows}
    live = abandoned = 0
    tightest, least = (0, 0), float("inf")
    for back in range(days):  # today, then today and yesterday, ...
        n, a = by_day.get((today - timedelta(days=back)).date().isoformat(), (0, 0))
        live, abandoned = live + n, abandoned + a
        if cap * live - abandoned < least:
            tightest, least = (live, abandoned), cap * live - abandoned
    return tightest


def recover_stale_runs(store: Store) -> int:
    """Runs left 'running' by a dead process on this host: mark them interrupted and free their leases."""
    host = socket.gethostname()
    stale = []
    for run_id, owner, campaign in store.conn.execute(
        "SELECT id, owner, campaign FROM dial_runs WHERE status = 'running'"
    ).fetchall():
        name, _, pid = owner.rpartition(":")
        if name == host and pid.isdigit() and not _alive(int(pid)):
            stale.append((run_id, owner, campaign))
    if not stale:
        return 0
    with store.write() as conn:
        for run_id, owner, campaign in stale:
            conn.execute("UPDATE dial_runs SET status = 'interrupted' WHERE id = ?", (run_id,))
            conn.execute(
                "UPDATE dial_contacts SET lease_owner = NULL, lease_until = NULL WHERE campaign = ? "
                "AND lease_owner = ?",
                (campaign, owner),
            )
            store.audit("dial_run", run_id, "interrupted", {"owner": owner, "found_by": owner_id()})
    return len(stale)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def make_trunk(value: str, model: CallModel, seed: int | None) -> tuple[Any, Any]:
    """(trunk, clock): the mock trunk on a virtual clock, or a SIP trunk file on the wall clock."""
    if value == "mock":
        return MockTrunk(model, seed), None
    try:
        from .sip.trunk import SipTrunk  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise UserError(
            f"--trunk {value}: this cctool has no SIP trunk support (cctool.sip); use --trunk mock"
        ) from None
    if Path(value).is_dir():
        raise UserError(f"trunk file {value} is a folder: give a SIP trunk YAML file or 'mock'")
    if not Path(value).is_file():
        raise UserError(f"trunk file {value} does not exist: give a SIP trunk YAML file or 'mock'")
    return SipTrunk.from_file(value), WallClock()


def run_campaign(store: Store, opts: RunOptions) -> dict[str, Any]:
    """`dial run`: check the inputs, then run the campaign on the chosen trunk and clock."""
    if not 1 <= opts.agents <= MAX_AGENTS:  # 10**8 agents took 12.6 GB before dialing anyone
        raise UsageError(f"--agents must be from 1 to {MAX_AGENTS:,} (got {opts.agents})")
    if opts.for_s <= 0:
        raise UsageError("--for must be a positive duration such as 8h")
    if opts.break_every_s is not None and not 0 < opts.break_s < opts.break_every_s:
        raise UsageError("--breaks EVERY:LENGTH needs 0 < LENGTH < EVERY, e.g. 2h:15m")
    if opts.mode is not None and opts.mode not in ("predictive", "progressive", "preview"):
        raise UsageError(f"--mode {opts.mode!r}: use predictive, progressive or preview")
    campaign = campaign_store.get(store.conn, opts.campaign)
    if campaign.paused:
        raise UserError(f"campaign {campaign.name!r} is paused: resume it before dialing")
    if not campaign.caller_id:
        raise UserError(f"campaign {campaign.name!r} has no caller ID: set caller_id in its file and load it")
    model = CallModel.from_file(opts.model) if opts.model else CallModel()
    trunk, clock = make_trunk(opts.trunk, model, opts.seed)
    if clock is None:
        start = opts.start or utcnow().replace(microsecond=0)
        try:  # the run's span, and the drain of its last calls, must be instants a date can hold
            start + timedelta(seconds=opts.for_s + DRAIN_S)
        except OverflowError:
            raise UserError(
                f"--start {iso_s(start)} with --for {opts.for_s:g}s ends after the year 9999: start earlier"
            ) from None
        clock = VirtualClock(start)
    elif opts.start is not None:
        raise UsageError("--start is for the mock trunk; a SIP trunk runs on the wall clock")
    run = DbRun(store, campaign, opts)
    run.trunk_name = opts.trunk if opts.trunk == "mock" else Path(opts.trunk).name
    try:
        return run.run(trunk, clock, model)
    except TrunkFatal as exc:  # e.g. "trunk rejected credentials": stop instead of burning the list
        raise UserError(f"trunk {run.trunk_name}: {exc}") from None
    finally:
        if isinstance(clock, WallClock):
            clock.close()


# --- dial status --------------------------------------------------------------------------------------
def status(conn: sqlite3.Connection, name: str, now: datetime | None = None) -> dict[str, Any]:
    """Contacts by state, attempts, outcomes, dispositions and abandonment in the current window."""
    campaign = campaign_store.get(conn, name)
    states = dict(
        conn.execute("SELECT state, count(*) FROM dial_contacts WHERE campaign = ? GROUP BY state", (name,))
    )
    where, params = segment.compile_where(campaign.definition.get("segment"))
    new = conn.execute(
        f"SELECT count(*) FROM contacts c WHERE {where} AND NOT EXISTS (SELECT 1 FROM dial_contacts d "
        "WHERE d.campaign = ? AND d.contact_id = c.id)",
        [*params, name],
    ).fetchone()[0]
    held = conn.execute(
        "SELECT count(*) FROM dial_contacts WHERE campaign = ? AND lease_owner IS NOT NULL AND lease_until >= ?",
        (name, iso_s(utcnow())),
    ).fetchone()[0]
    outcomes = dict(
        conn.execute("SELECT outcome, count(*) FROM attempts WHERE campaign = ? GROUP BY outcome", (name,))
    )
    dispositions = dict(
        conn.execute(
            "SELECT disposition, count(*) FROM attempts WHERE campaign = ? AND disposition IS NOT NULL "
            "GROUP BY disposition",
            (name,),
        )
    )
    last = conn.execute("SELECT max(started_at) FROM attempts WHERE campaign = ?", (name,)).fetchone()[0]
    at = now or (from_iso(last) if last else utcnow().replace(microsecond=0))
    live, abandoned = window_counts(conn, name, campaign.abandon_window, at)
    runs = [
        dict(zip(("id", "status", "mode", "agents", "trunk", "sim_start", "sim_end", "started_at"), r))
        for r in conn.execute(
            "SELECT id, status, mode, agents, trunk, sim_start, sim_end, started_at FROM dial_runs "
            "WHERE campaign = ? ORDER BY id DESC LIMIT 5",
            (name,),
        )
    ]
    blocked = dict(
        conn.execute(
            "SELECT reasons, count(*) FROM blocked_dials WHERE campaign = ? GROUP BY reasons", (name,)
        )
    )
    return {
        "campaign": name,
        "version": campaign.version,
        "paused": campaign.paused,
        # "new": in the segment, not yet taken in by a run (the next run adds them as pending)
        "contacts": {
            "new": new,
            **{s: states.get(s, 0) for s in ("pending", "done", "exhausted", "suppressed")},
        },
        "contacts_leased": held,
        "attempts": sum(outcomes.values()),
        "outcomes": dict(sorted(outcomes.items())),
        "dispositions": dict(sorted(dispositions.items())),
        "blocked": dict(sorted(blocked.items())),
        "abandonment": {
            "window": campaign.abandon_window,
            "from": to_iso(window_start(campaign.abandon_window, at)),
            "until": to_iso(at),
            "live_answers": live,
            "abandoned": abandoned,
            "rate": round(abandoned / live, 5) if live else 0.0,
            "cap": campaign.abandon_cap,
            "formula": "abandoned / live answers (answered + abandoned)",
        },
        "runs": runs,
    }
