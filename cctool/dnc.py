"""Do-not-call lists: the national registry snapshot with its load history, and the company's own list.

A registry load replaces the snapshot atomically: the new copy is built in a side table and swapped in,
with its history row and audit row, inside one transaction. A failing load (bad file, crash, Ctrl-C)
leaves the previous snapshot and history untouched, and a dialer reading meanwhile sees the old copy.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from . import consent, optout, registry_file
from .errors import UserError
from .phones import region_code
from .store import Store
from .suppression import NATIONAL, current_load, suppression_state
from .timeutil import to_iso, utcnow

INTERNAL = "internal"
LISTS = (NATIONAL, INTERNAL)
_BUILD = "dnc_national_build"


def _check_list(list_name: str, allowed: tuple[str, ...]) -> None:
    if list_name not in allowed:
        raise UserError(f"--list {list_name!r} is not one of {', '.join(allowed)} here", exit_code=2)


def import_registry(
    store: Store,
    path: Path,
    version: str,
    registry_date: date | None = None,
    *,
    list_name: str = NATIONAL,
    region: str | None = None,
    column: str | None = None,
    reading: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Load a registry copy as the new snapshot; returns the load summary. `reading` is told when the
    arguments are checked and the file is about to be read (a large copy takes a while).

    Re-loading the version in force with the same content changes nothing (safe to repeat from cron);
    the same version with different content is refused: a version names one copy.
    """
    _check_list(list_name, (NATIONAL,))
    version = (version or "").strip()
    if not version:
        raise UserError("a registry load needs --version (the registry's name for this copy)", exit_code=2)
    region = region_code(region)
    today = utcnow().date()
    registry_date = registry_date or today
    if registry_date > today:
        raise UserError(f"registry date {registry_date} is in the future: give the date of the copy")
    if reading is not None:
        reading()
    data = registry_file.read_bytes(path)
    digest = registry_file.sha256(data)
    summary: dict[str, Any] = {
        "list": list_name,
        "version": version,
        "date": registry_date.isoformat(),
        "file": str(path),
        "sha256": digest,
    }
    current = _known_copy(store, list_name, version, digest)
    if current is not None and current["version"] == version and current["sha256"] == digest:
        return {**summary, "count": current["count"], "unchanged": True, "lines": None, "invalid": None}
    parsed = registry_file.parse(registry_file.decode(data, path), region, column)
    if not parsed.accepted:
        hint = f" (e.g. {parsed.invalid_examples[0]!r})" if parsed.invalid_examples else ""
        advice = (
            "check the file's phone column (--column NAME)"
            if region
            else "national numbers need --region, e.g. --region US"
        )
        raise UserError(f"registry file {path} has no valid numbers{hint}: nothing loaded; {advice}")
    with store.write() as conn:
        # Asked again under the write lock: another load may have finished while this file was parsed.
        current = _known_copy(store, list_name, version, digest)
        if current is not None and current["version"] == version and current["sha256"] == digest:
            return {**summary, "count": current["count"], "unchanged": True, "lines": None, "invalid": None}
        count = _swap_in(store, parsed.arrays)
        loaded_at = to_iso(utcnow())
        cursor = conn.execute(
            "INSERT INTO dnc_registry_loads (list, version, registry_date, loaded_at, count, sha256, file_name,"
            " actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (list_name, version, summary["date"], loaded_at, count, digest, path.name, store.actor),
        )
        summary.update(
            load_id=cursor.lastrowid,
            loaded_at=loaded_at,
            count=count,
            lines=parsed.lines,
            invalid=parsed.invalid,
            invalid_examples=parsed.invalid_examples,
            duplicates=parsed.accepted - count,
            unchanged=False,
            replaced=current["version"] if current is not None else None,
        )
        store.audit("dnc_registry", version, "load", {k: v for k, v in summary.items() if k != "file"})
    return summary


def _known_copy(store: Store, list_name: str, version: str, digest: str) -> Any:
    """The load in force, after refusing a version already loaded from a different file."""
    earlier = store.conn.execute(
        "SELECT sha256 FROM dnc_registry_loads WHERE list = ? AND version = ?", (list_name, version)
    ).fetchall()
    if any(sha != digest for (sha,) in earlier):
        raise UserError(
            f"registry version {version!r} was already loaded from a different file: "
            "a version names one copy, give the new copy its own --version"
        )
    return current_load(store.conn, list_name)


def _swap_in(store: Store, arrays: list[str]) -> int:
    """Build the new snapshot beside the old one and swap it in; the caller's transaction makes it atomic."""
    conn = store.conn
    conn.execute(f"DROP TABLE IF EXISTS {_BUILD}")
    conn.execute(f"CREATE TABLE {_BUILD} (phone TEXT PRIMARY KEY) WITHOUT ROWID")
    # json_each hands SQLite whole arrays at once; it sorts and deduplicates them in C and appends to the
    # B-tree in key order: about three times the speed of executemany with rows sorted in Python.
    union = " UNION ALL ".join("SELECT value FROM json_each(?)" for _ in arrays)
    conn.execute(f"INSERT OR IGNORE INTO {_BUILD} SELECT value FROM ({union}) ORDER BY 1", arrays)
    count = conn.execute(f"SELECT count(*) FROM {_BUILD}").fetchone()[0]
    conn.execute("DROP TABLE dnc_national")
    conn.execute(f"ALTER TABLE {_BUILD} RENAME TO dnc_national")
    return int(count)


def loads(store: Store, list_name: str = NATIONAL) -> list[dict[str, Any]]:
    """The load history of a registry list, oldest first; the last one is the snapshot in force."""
    cursor = store.conn.execute(
        "SELECT id, list, version, registry_date, loaded_at, count, sha256, file_name, actor"
        " FROM dnc_registry_loads WHERE list = ? ORDER BY id",
        (list_name,),
    )
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, r)) for r in cursor]
    today = utcnow().date()
    for row in rows:
        row["in_force"] = row is rows[-1]
        # Days since the registry's own date: what the staleness rule (31 days us, 28 uk) is measured on.
        row["age_days"] = (today - date.fromisoformat(row["registry_date"])).days
    return rows


def add_internal(store: Store, phone: str, reason: str | None = None, list_name: str = INTERNAL) -> dict:
    """Put a number on the company's own do-not-call list (at once; adding it twice changes nothing)."""
    _check_list(list_name, (INTERNAL,))
    with store.write() as conn:
        open_entry = conn.execute(
            "SELECT id, added_at FROM dnc_internal WHERE phone = ? AND removed_at IS NULL", (phone,)
        ).fetchone()
        if open_entry:
            return {"phone": phone, "list": INTERNAL, "added": False, "since": open_entry[1]}
        now = to_iso(utcnow())
        cursor = conn.execute(
            "INSERT INTO dnc_internal (phone, reason, added_at, added_by) VALUES (?, ?, ?, ?)",
            (phone, reason, now, store.actor),
        )
        result = {"phone": phone, "list": INTERNAL, "added": True, "since": now, "reason": reason}
        store.audit("dnc_internal", cursor.lastrowid, "add", result)
    return result


def remove_internal(store: Store, phone: str, reason: str | None = None, list_name: str = INTERNAL) -> dict:
    """Take a number off the company's own list; the entry is closed, never deleted."""
    _check_list(list_name, (INTERNAL,))
    with store.write() as conn:
        open_entry = conn.execute(
            "SELECT id FROM dnc_internal WHERE phone = ? AND removed_at IS NULL", (phone,)
        ).fetchone()
        if open_entry is None:
            raise UserError(f"{phone} is not on the internal do-not-call list: nothing to remove")
        now = to_iso(utcnow())
        conn.execute(
            "UPDATE dnc_internal SET removed_at = ?, removed_by = ? WHERE id = ?",
            (now, store.actor, open_entry[0]),
        )
        result = {"phone": phone, "list": INTERNAL, "removed": True, "at": now, "reason": reason}
        store.audit("dnc_internal", open_entry[0], "remove", result)
    return result


def check(store: Store, phone: str) -> dict[str, Any]:
    """Is the number suppressed now, and by which lists; with the registry copy checked."""
    state = suppression_state(store.conn, phone, utcnow())
    return {
        "phone": phone,
        "suppressed": state.suppressed,
        "lists": state.lists,
        "registry_version": state.registry_version,
        "registry_date": state.registry_date,
        "optout_at": state.optout_at,
    }


DEMO_NATIONAL = [
    "+12125550123",
    "+12125550142",
    "+12125550187",
    "(212) 555-0199",  # national format: normalised with --region US
    "+44 20 7946 0018",
    "+442079460077",
    "+8613800138000",
    "not a number",
    "+1 555",
]


def _demo_contacts(store: Store) -> list[str]:
    """A few numbers from the contact book the contacts step imported (none when run on its own)."""
    rows = store.conn.execute(
        "SELECT phone FROM contacts WHERE erased_at IS NULL ORDER BY id LIMIT 5 OFFSET 1"
    ).fetchall()
    return [r[0] for r in rows]


def demo(store: Store, workdir: Path, say: Callable[[str], None]) -> None:
    """Load a small national registry copy, add an internal entry, an opt-out and a consent; check numbers."""
    known = _demo_contacts(store)
    picks: list[str | None] = list(known[:4]) if len(known) >= 4 else [None] * 4
    on_registry, internal, opting_out, consenting = picks
    registry = workdir / "national_dnc.txt"
    lines = DEMO_NATIONAL + ([on_registry] if on_registry else [])
    registry.write_text("\n".join(lines) + "\n", encoding="utf-8")
    overlap = " and one number from the contact book" if on_registry else ""
    say(
        f"Wrote a national do-not-call copy [cyan]{registry.name}[/cyan]: {len(lines)} lines of generated "
        f"test numbers (+1 212 555 01xx, +44 20 7946 0xxx){overlap}, two of them invalid on purpose."
    )
    summary = import_registry(store, registry, "demo-2026-11", utcnow().date(), region="US")
    say(
        f"[bold]dnc import[/bold] version {summary['version']} dated {summary['date']}: {summary['count']} "
        f"numbers loaded, {summary['invalid']} invalid lines reported, sha256 {summary['sha256'][:16]}..."
    )
    internal = internal or "+12125550111"
    add_internal(store, internal, "asked an agent not to call again")
    say(f"[bold]dnc add[/bold] {internal} to the internal list (asked an agent not to call again)")
    opting_out = opting_out or "+447700900123"
    optout.record(store, opting_out, "sms")
    say(f"[bold]optout[/bold] {opting_out} by sms: suppressed in every campaign from this moment")
    consenting = consenting or "+12125550150"
    consent.record(store, consenting, "marketing", "grant", "demo web form", "form-4711")
    say(f"[bold]consent grant[/bold] {consenting} for marketing (source: demo web form, evidence form-4711)")
    erased = store.conn.execute("SELECT phone FROM suppressions ORDER BY id LIMIT 1").fetchone()
    checks = [on_registry or "+12125550123", internal, opting_out, consenting] + (
        [erased[0]] if erased else []
    )
    for phone in checks:
        result = check(store, phone)
        lists = ", ".join(result["lists"]) or "none"
        verdict = "[red]suppressed[/red]" if result["suppressed"] else "[green]not suppressed[/green]"
        say(f"  dnc check {phone}: {verdict} (lists: {lists}; registry {result['registry_version']})")
