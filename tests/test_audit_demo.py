"""The demo's audit step exports the simulated period and verifies it."""

from __future__ import annotations

from pathlib import Path

from cctool import auditexport, manifest

from . import auditdata as data


def test_the_demo_step_exports_the_simulated_period_and_verifies_it(store, tmp_path: Path) -> None:
    data.build(store)
    said: list[str] = []
    auditexport.demo(store, tmp_path, said.append)
    [folder] = [p for p in tmp_path.iterdir() if p.name.startswith("audit-")]
    assert folder.name == f"audit-{data.START}-{data.END}"
    assert manifest.verify(folder) == []
    assert any("no violations" in line for line in said)
    assert any("files match" in line for line in said)
