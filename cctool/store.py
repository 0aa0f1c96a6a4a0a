"""Opening the database: WAL, foreign keys, busy timeout, migrations, write transactions and the audit row.

Every change goes through `Store.write()`, a `BEGIN IMMEDIATE` transaction (so overlapping cron runs queue
on the busy timeout instead of failing half-way) and `Store.audit()`, which appends the audit row inside
that same transaction.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import os
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import audit
from .errors import UserError
from .resources import data_dir
from .timeutil import parse_duration, to_iso, utcnow

if TYPE_CHECKING:  # imported when used: a dial run's writer process opens a Store without it
    import sqlite_utils
    from sqlite_utils.migrations import Migrations


def busy_timeout_s() -> float:
    """How long a write waits for another's lock: $CCTOOL_BUSY_TIMEOUT, seconds or a duration (`90s`, `2m`),
    default 60 s. Read at each connection, so that a bad value is one line naming it, not a traceback."""
    text = os.environ.get("CCTOOL_BUSY_TIMEOUT", "").strip() or "60"
    try:
        seconds = float(text) if re.fullmatch(r"\d+(\.\d*)?", text) else parse_duration(text).total_seconds()
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 86400:
        raise UserError(
            f"CCTOOL_BUSY_TIMEOUT={text!r}: give seconds from 0 to 86400, or a duration such as 90s or 2m"
        )
    return seconds


# What to do about a database SQLite finds damaged, on opening it (`connect`) or later (`cli.main`).
DAMAGED_ADVICE = (
    "nothing was changed; restore it from a backup (`PRAGMA integrity_check` in sqlite3 shows what is wrong)"
)
MIGRATION_SET = "cctool"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+$")


def default_db_path() -> Path:
    return Path(os.environ.get("CCTOOL_DB") or "cctool.db")


def default_actor() -> str:
    actor = os.environ.get("CCTOOL_ACTOR", "").strip()
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def migration_files() -> list[Path]:
    files = sorted(p for p in data_dir("migrations").glob("*.sql") if _MIGRATION_NAME.match(p.stem))
    return files


def _statements(sql: str) -> Iterator[str]:
    """Split a script into statements (executescript would COMMIT the migration's transaction)."""
    buffer = ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                yield buffer
            buffer = ""
    if buffer.strip() and not all(
        ln.strip().startswith("--") or not ln.strip() for ln in buffer.splitlines()
    ):
        raise ValueError(f"incomplete SQL statement at the end of a migration: {buffer[:80]!r}")


def _migrations() -> Migrations:
    from sqlite_utils.migrations import Migrations

    migrations = Migrations(MIGRATION_SET)
    for path in migration_files():
        sql = path.read_text(encoding="utf-8")

        def run(db: sqlite_utils.Database, sql: str = sql) -> None:
            for statement in _statements(sql):
                db.conn.execute(statement)

        migrations(name=path.stem)(run)
    return migrations


def schema_version(names: list[str]) -> int:
    return max((int(n[:4]) for n in names if _MIGRATION_NAME.match(n)), default=0)


@dataclass
class Store:
    """One open database, the actor and the command on whose behalf it changes."""

    path: Path
    conn: sqlite3.Connection
    actor: str = field(default_factory=default_actor)
    command: str = "python"

    @functools.cached_property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils' view of the connection (migrations, nested transactions)."""
        import sqlite_utils

        return sqlite_utils.Database(self.conn)

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE); nested calls become savepoints."""
        conn = self.conn
        if conn.in_transaction:
            with self.db.atomic():
                yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def audit(self, entity: str, entity_id: str | int | None, action: str, payload: Any = None) -> dict:
        """Append the audit row for a change; must be called inside `write()`."""
        if not self.conn.in_transaction:
            raise RuntimeError("audit() outside a write transaction")
        return audit.append(
            self.conn,
            ts=to_iso(utcnow()),
            actor=self.actor,
            command=self.command,
            entity=entity,
            entity_id=entity_id,
            action=action,
            payload=payload if payload is not None else {},
        )

    def status(self) -> dict[str, Any]:
        migrations = _migrations()
        applied = [m.name for m in migrations.applied(self.db)]
        pending = [m.name for m in migrations.pending(self.db)]
        return {"schema_version": schema_version(applied), "applied": applied, "pending": pending}

    def migrate(self) -> list[str]:
        """Apply pending migrations (serialised against other processes); return what was applied.

        The usual case, nothing pending, is a plain read: no write lock (a report or `audit verify` is not
        kept waiting by another process's write) and no sqlite-utils.
        """
        known = {p.stem for p in migration_files()}
        applied = self._applied()
        self._check_schema(applied, known)
        if known <= set(applied):
            return []
        with self.write():
            self._check_schema(self._applied(), known)  # another process may have migrated it
            migrations = _migrations()
            pending = [m.name for m in migrations.pending(self.db)]
            if pending:
                migrations.apply(self.db)
                self.audit("schema", None, "migrate", {"applied": pending})
        return pending

    def _applied(self) -> list[str]:
        """The cctool migrations applied, in order (sqlite-utils' `_sqlite_migrations` table, read by hand)."""
        conn = self.conn
        if conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlite_migrations'"
        ).fetchone():
            rows = conn.execute(
                "SELECT name FROM _sqlite_migrations WHERE migration_set = ? ORDER BY rowid", (MIGRATION_SET,)
            )
            return [name for (name,) in rows]
        return []

    def _check_schema(self, applied: list[str], known: set[str]) -> None:
        unknown = [n for n in applied if n not in known]
        if unknown:
            raise UserError(
                f"database {self.path} has schema version {schema_version(applied)}, newer than this "
                f"cctool knows ({schema_version(sorted(known))}): upgrade cctool before using it"
            )

    def close(self) -> None:
        self.conn.close()


def connect(path: Path) -> sqlite3.Connection:
    """A connection with our pragmas; creates the file with mode 0600 when it does not exist."""
    path = Path(path)
    if str(path) != ":memory:":
        if path.is_dir():
            raise UserError(f"database {path} is a folder: give a file path with --db")
        if not path.parent.exists():
            raise UserError(f"database folder {path.parent} does not exist: create it or choose another --db")
        if not path.exists():
            with contextlib.suppress(FileExistsError):
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    timeout = busy_timeout_s()
    conn = sqlite3.connect(str(path), timeout=timeout, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    except sqlite3.DatabaseError as exc:
        conn.close()
        if str(path) != ":memory:" and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
            raise UserError(
                f"database {path} cannot be written ({exc}): cctool writes the file and its -wal and -shm "
                "files beside it, even to read; fix the permissions or copy it to a writable folder"
            ) from None
        if _sqlite_header(path):  # the operator's own database, damaged: not "another file"
            raise UserError(f"database {path} is damaged ({exc}): {DAMAGED_ADVICE}") from None
        raise UserError(f"{path} is not a cctool database ({exc}): point --db at another file") from None
    return conn


def _refuse_other_files(path: Path, create: bool) -> None:
    """A database without cctool's tables is not made one behind the user's back: one with another
    application's tables never, an empty one only by a command that may create a database. Looked at
    read-only, before `connect` writes anything (its WAL pragma rewrites the file's header)."""
    if str(path) == ":memory:" or not path.is_file():
        return
    if path.stat().st_size == 0:
        tables: list[str] | None = []
    else:
        tables = _tables_read_only(path)
    if tables is None or any(name == "_sqlite_migrations" for name in tables):
        return  # unreadable (`connect` says why) or cctool's (migrations are checked when applied)
    if tables:
        shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        raise UserError(
            f"database {path} holds another application's tables ({shown}), not cctool's: "
            "point --db at a cctool database, or at a new file"
        )
    if not create:
        raise UserError(
            f"database {path} is empty (no cctool tables): check --db (or $CCTOOL_DB), "
            "or create it with `cctool init`"
        )


def _tables_read_only(path: Path) -> list[str] | None:
    """The tables of a database file, opened read-only; None when SQLite cannot read it."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=busy_timeout_s())
    except sqlite3.Error:
        return None
    try:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return [name for (name,) in rows if not name.startswith("sqlite_")]


def _sqlite_header(path: Path) -> bool:
    try:
        with open(path, "rb") as file:
            return file.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def open_store(
    path: Path | str | None = None,
    *,
    actor: str | None = None,
    command: str = "python",
    migrate: bool = True,
    create: bool = True,
) -> Store:
    """Open (creating if needed) and migrate the database at `path`; without `create`, only a cctool
    database (one with its tables) is opened."""
    resolved = Path(path) if path is not None else default_db_path()
    _refuse_other_files(resolved, create)
    conn = connect(resolved)
    store = Store(resolved, conn, actor or default_actor(), command)
    if migrate:
        try:
            store.migrate()
        except BaseException:
            store.close()
            raise
    return store
