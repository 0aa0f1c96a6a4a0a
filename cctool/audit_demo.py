"""The demo's last step: export the audit of everything the demo did, then verify it as an auditor would."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from . import audit, auditexport, manifest
from .store import Store
from .timeutil import utcnow


def period(store: Store) -> tuple[str, str]:
    """From the first to the last UTC day with anything to show: the simulated dialing day(s) and today
    (the wall-clock day of the demo's own operations in the audit log)."""
    first, last = store.conn.execute("SELECT min(started_at), max(started_at) FROM attempts").fetchone()
    today = utcnow().date().isoformat()
    days = [today] + [d[:10] for d in (first, last) if d]
    return min(days), max(days)


def demo(store: Store, workdir: Path, say: Callable[[str], None]) -> None:
    start, end = period(store)
    out = workdir / f"audit-{start}_{end}"
    if out.exists():
        for leftover in out.iterdir():
            leftover.unlink()
    request = auditexport.ExportRequest(start=date.fromisoformat(start), end=date.fromisoformat(end), out=out)
    summary = auditexport.export(store, request)
    counts = ", ".join(f"{name} {count}" for name, count in summary["counts"].items())
    say(f"exported the audit of {start}..{end} to {out} (masked): {counts}")
    violations = summary["violations"]
    say(
        "independent re-check: "
        + ("no violations" if not violations else f"[red]{len(violations)} violations[/red]")
    )
    problems = manifest.verify(out)
    say(f"manifest: {'every file matches' if not problems else problems[0]}")
    verdict = audit.verify(store.conn)
    say(f"audit chain: {'intact' if verdict.ok else verdict.problem}, {verdict.rows} rows")
    say(f"open {out / 'report.html'} in a browser for the auditor's report")
