"""Every override shows in the audit export, with the figures the re-check reads the hours and caps from."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from cctool import auditexport, campaign_export, campaign_store
from cctool.campaign import load_file
from cctool.recheck import recheck
from cctool.store import Store

from .campaign_data import EXAMPLES


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_campaign_versions_and_overrides_are_exported(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        auditexport, "EXTRA_SECTIONS", [*auditexport.EXTRA_SECTIONS, *campaign_export.SECTIONS]
    )
    text = (EXAMPLES / "new-customer-care-uk.yaml").read_text(encoding="utf-8")
    loosened = text.replace('end: "19:30"', 'end: "21:30"') + (
        "override:\n  - rule: hours.end\n    reason: evening slot agreed with the customer panel\n"
    )
    path = tmp_path / "care.yaml"
    path.write_text(loosened, encoding="utf-8")
    (tmp_path / "new_customer_care.j2").write_text("Hello {{ contact.name }}\n", encoding="utf-8")
    campaign_store.load(store, load_file(EXAMPLES / "renewal-us.yaml"))
    campaign_store.load(store, load_file(path))

    out = tmp_path / "export"
    today = date.today()
    auditexport.export(store, auditexport.ExportRequest(today, today, out, formats={"csv"}))

    versions = read(out / "campaigns.csv")
    assert [(r["campaign"], r["version"], r["overrides"]) for r in versions] == [
        ("broadband-renewal-2026q4", "1", "0"),
        ("new-customer-care-uk", "1", "1"),
    ]
    care = versions[1]
    assert (care["hours_start"], care["hours_end"], care["days"]) == (
        "10:00",
        "21:30",
        "mon,tue,wed,thu,fri,sat",
    )
    assert read(out / "campaign_overrides.csv") == [
        {
            "campaign": "new-customer-care-uk",
            "version": "1",
            "rule": "hours.end",
            "preset_value": "21:00",
            "value": "21:30",
            "reason": "evening slot agreed with the customer panel",
            "recorded_at": care["loaded_at"],
            "actor": "tester",
        }
    ]
    assert recheck(out) == []
