"""Files cctool writes for a user (a contacts export, an import's rejects): written whole or not at all,
and a path that cannot be written is one line naming the option, not a traceback."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from .errors import UserError


def check_writable(path: Path, what: str) -> None:
    """Refuse early a path that cannot take the file (before a long import has run)."""
    if path.is_dir():
        raise UserError(f"{what} {path} is a folder: give a file name")
    folder = path.parent
    if not folder.is_dir():
        raise UserError(f"{what} {path}: folder {folder} does not exist; create it or choose another path")
    if not os.access(folder, os.W_OK):
        raise UserError(f"{what} {path}: folder {folder} is not writable; choose another path")


@contextlib.contextmanager
def atomic_text(path: Path, what: str, encoding: str = "utf-8-sig") -> Iterator[TextIO]:
    """Write through PATH.tmp renamed into place at the end, so a reader never sees half a file."""
    check_writable(path, what)
    tmp = path.with_name(path.name + ".tmp")
    try:
        handle = open(tmp, "w", encoding=encoding, newline="")  # noqa: SIM115 (closed below, then renamed)
    except OSError as exc:
        raise UserError(f"cannot write {what} {path} ({exc.strerror}): choose another path") from None
    try:
        with handle:
            yield handle
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise UserError(f"cannot write {what} {path} ({exc.strerror}): choose another path") from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
