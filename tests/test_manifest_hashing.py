"""Files hashed as they are written: the digest is the file's, and a write error is not lost."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cctool import manifest


def test_a_file_hashed_while_written_has_the_digest_and_size_of_what_is_on_disk(tmp_path: Path) -> None:
    handle, raw = manifest.text_file(tmp_path / "rows.csv", newline="")
    handle.write("a,b\r\n")
    handle.write("é" * 700_000 + "\n")  # more than the 1 MB buffer: handed over whole
    handle.write("x\n" * 1000)
    handle.close()
    path = tmp_path / "rows.csv"
    assert raw.hexdigest() == manifest.file_sha256(path)
    assert raw.size == path.stat().st_size == 5 + 1_400_001 + 2000


def test_the_manifest_takes_digests_of_files_hashed_as_written_unless_the_file_changed(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.csv").write_text("one\n")
    (tmp_path / "b.csv").write_text("two\n")
    written = manifest.write(tmp_path, {}, {"a.csv": ("f" * 64, 4), "b.csv": ("0" * 64, 99)})
    assert written["files"]["a.csv"]["sha256"] == "f" * 64  # taken as given (same size)
    assert written["files"]["b.csv"]["sha256"] == manifest.file_sha256(tmp_path / "b.csv")  # size differs


def test_a_write_error_in_the_writing_thread_is_raised_on_close(tmp_path: Path, monkeypatch) -> None:
    def failing(fd: int, data: object) -> int:
        raise OSError(28, "No space left on device")

    handle, _raw = manifest.text_file(tmp_path / "full.csv", newline="")
    monkeypatch.setattr(os, "write", failing)
    handle.write("x" * (2 << 20))
    with pytest.raises(OSError, match="No space left"):
        handle.close()
