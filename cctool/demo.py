"""`cctool demo`: an end-to-end walk through the product on a fresh database built from bundled samples.

Each area contributes one `demo(store, workdir, say)` step; they run in the order a team would work:
contacts and consents, do-not-call lists, campaigns, tickets and callbacks, a simulated day of dialing,
and the audit export an auditor receives.
"""

from __future__ import annotations

import importlib
import tempfile
from collections.abc import Callable
from pathlib import Path

from .errors import UserError
from .store import open_store

# (title, module) pairs; each module has `demo(store, workdir, say)`.
STEPS: list[tuple[str, str]] = [
    ("Contacts from CRM exports (UTF-8 with BOM, GB18030)", "contacts_demo"),
    ("Consent and do-not-call lists", "dnc"),
    ("Campaigns: load and preview", "campaign_demo"),
    ("Tickets and callbacks", "tickets"),
    ("A simulated day of dialing on the mock trunk", "dialer_demo"),
    ("Real SIP calls against a SIPp peer on loopback", "sip.demo"),
    ("Audit export: what an auditor receives, verified", "audit_demo"),
]


def run(workdir: Path | None, say: Callable[[str], None], actor: str = "demo") -> Path:
    """Build a fresh database in `workdir` (a new temporary folder if None) and walk every step."""
    folder = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="cctool-demo-"))
    if folder.exists() and not folder.is_dir():
        raise UserError(f"--dir {folder} is a file, not a folder: give a folder for the demo")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create --dir {folder} ({exc.strerror}): choose another folder") from None
    db_path = folder / "demo.db"
    for leftover in (db_path, db_path.with_name("demo.db-wal"), db_path.with_name("demo.db-shm")):
        leftover.unlink(missing_ok=True)
    store = open_store(db_path, actor=actor, command="demo")
    try:
        say(f"[bold]cctool demo[/bold] on a fresh database: {db_path}")
        for number, (title, module) in enumerate(STEPS, start=1):
            say(f"\n[bold]{number}. {title}[/bold]")
            step = importlib.import_module(f"cctool.{module}").demo
            step(store, folder, say)
    finally:
        store.close()
    return db_path
