"""The export folder's manifest: SHA-256 of every file, so a received folder can be re-checked."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write(folder: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """Hash every file in `folder` (but the manifest) and write manifest.json with `meta`."""
    files = {
        p.name: {"sha256": file_sha256(p), "bytes": p.stat().st_size}
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != MANIFEST
    }
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
