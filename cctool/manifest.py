"""The export folder's manifest: SHA-256 of every file, so a received folder can be re-checked."""

from __future__ import annotations

import hashlib
import io
import json
import os
import queue
import threading
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class HashingFile(io.RawIOBase):
    """A file written, and hashed as it is written, by a thread of its own.

    The exporter hands over its (buffered) bytes and goes on: the write system calls and SHA-256 (both
    run without the GIL) take the machine's other core, and the manifest need not read the big files
    again. A write error is raised by the next `write` or by `close`.
    """

    def __init__(self, path: Path):
        super().__init__()
        self.path = path
        self.size = 0
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        self._hash = hashlib.sha256()
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=1)  # a few MB in flight at most
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"write {path.name}", daemon=True)
        self._thread.start()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self._error is not None:
            raise self._error
        whole = isinstance(data, memoryview) and isinstance(data.obj, bytes) and data.nbytes == len(data.obj)
        # bytes are kept as they are; a view of a buffer its owner will reuse is copied
        chunk = data.obj if whole else bytes(data)
        self._queue.put(chunk)
        return len(chunk)

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self._error is not None:
                continue  # drain: the error is raised in the writer's thread
            try:
                self._hash.update(chunk)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(self._fd, view) :]
                self.size += len(chunk)
            except BaseException as exc:  # noqa: BLE001 - handed to the writing thread
                self._error = exc

    def close(self) -> None:
        if not self.closed:
            self._queue.put(None)
            self._thread.join()
            os.close(self._fd)
            super().close()
            if self._error is not None:
                raise self._error

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def text_file(path: Path, newline: str | None) -> tuple[io.TextIOWrapper, HashingFile]:
    """A UTF-8 text file as `open(path, "w", newline=newline, buffering=1 MB)` gives, hashed as written."""
    raw = HashingFile(path)
    return io.TextIOWrapper(io.BufferedWriter(raw, 1 << 20), encoding="utf-8", newline=newline), raw


def write(
    folder: Path, meta: dict[str, Any], hashed: dict[str, tuple[str, int]] | None = None
) -> dict[str, Any]:
    """Hash every file in `folder` (but the manifest) and write manifest.json with `meta`. `hashed`:
    (SHA-256, size) of files hashed as they were written, not read again (unless their size changed)."""
    known = hashed or {}

    def entry(path: Path) -> dict[str, Any]:
        size = path.stat().st_size
        digest, written = known.get(path.name, ("", -1))
        return {"sha256": digest if written == size else file_sha256(path), "bytes": size}

    files = {p.name: entry(p) for p in sorted(folder.iterdir()) if p.is_file() and p.name != MANIFEST}
    manifest = {**meta, "files": files}
    (folder / MANIFEST).write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return manifest


def verify(folder: Path) -> list[str]:
    """Every mismatch between the folder and its manifest (missing, altered or extra files)."""
    path = folder / MANIFEST
    if not path.is_file():
        return [f"{path} is missing"]
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        listed = manifest["files"]
    except (ValueError, KeyError, TypeError):
        return [f"{path} is not a cctool manifest"]
    problems = []
    for name, entry in sorted(listed.items()):
        target = folder / name
        if not target.is_file():
            problems.append(f"{name}: missing")
        elif file_sha256(target) != entry.get("sha256"):
            problems.append(f"{name}: altered (SHA-256 differs from the manifest)")
    for extra in sorted(
        p.name for p in folder.iterdir() if p.is_file() and p.name not in listed and p.name != MANIFEST
    ):
        problems.append(f"{extra}: not in the manifest")
    return problems
