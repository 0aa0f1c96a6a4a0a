"""A seeded synthetic contact sample: what a small team's CRM exports look like, warts included.

Three files: an English UTF-8 export with a BOM (US and UK numbers in mixed formats, read with
--region US), a Chinese GB18030 export with Chinese headers and messy mobile numbers (--region CN), and
the renewal team's call list from the billing system (2,500 US customers whose contract ends this month):
enough people for five agents to dial a whole day, so the demo's predictive campaign shows its pacing at
work. They hold a few invalid numbers, repeats and consent answers, so an import shows every outcome.
All names and numbers are made up; the same seed always gives the same files.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from pathlib import Path

from .phonefast import Classifier

FIRST = [
    "James",
    "Mary",
    "Oliver",
    "Amelia",
    "Noah",
    "Emma",
    "Liam",
    "Sofia",
    "Harry",
    "Isla",
    "Ethan",
    "Grace",
]
LAST = ["Smith", "Jones", "Brown", "Taylor", "Wilson", "Evans", "Miller", "Davis", "Clarke", "Walker"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡"
GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "霞"]
CITIES_CN = ["上海", "北京", "成都", "广州", "深圳", "杭州", "武汉"]
PLANS = ["broadband", "mobile", "tv", "bundle"]


@dataclass(frozen=True)
class SampleFile:
    path: Path
    region: str
    description: str


def _valid(rng: random.Random, make, classify: Classifier) -> str:
    while True:
        number = make()
        if not isinstance(classify(number), str):
            return number


def _us_number(rng: random.Random, area: int, classify: Classifier) -> str:
    """A valid US number (E.164) in the area code `area`."""
    return _valid(rng, lambda: f"+1{area}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}", classify)


def _us_uk_rows(rng: random.Random, count: int) -> list[list[str]]:
    classify = Classifier("US")
    rows: list[list[str]] = []
    for i in range(count):
        roll = rng.random()
        if roll < 0.45:
            e164 = _us_number(rng, rng.choice([212, 415, 312, 617, 206, 303, 512, 305]), classify)
            d = e164[2:]
            phone = rng.choice([e164, f"({d[:3]}) {d[3:6]}-{d[6:]}", f"{d[:3]}.{d[3:6]}.{d[6:]}"])
        else:
            e164 = _valid(rng, lambda: f"+447{rng.randint(400000000, 999999999)}", classify)
            phone = rng.choice([e164, f"+44 {e164[3:7]} {e164[7:]}"])
        if i % 23 == 7:
            phone = rng.choice(["555-0100", "+1 (000) 123-4567", "+44 7911", "n/a"])  # invalid
        if i % 31 == 5:
            phone = ""
        tags = "|".join(
            sorted(
                {
                    rng.choice(PLANS),
                    rng.choice(["renewal-due", "web-lead", "lapsed", "vip", "new-customer", ""]),
                }
                - {""}
            )
        )
        rows.append(
            [
                phone,
                f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                f"customer{i}@example.com" if rng.random() < 0.6 else "",
                tags,
                # most people due a renewal said yes to offers on the web form; others rarely answered
                rng.choice(["yes", "yes", "yes", "no"] if "renewal-due" in tags else ["yes", "no", "", ""]),
                rng.choice(["", "", "America/Chicago"]) if phone.startswith("(") else "",
                str(rng.randint(1, 120)),
            ]
        )
    for i in range(0, count, 17):  # the same person exported twice, with a new tag
        again = list(rows[i])
        again[3] = "returning"
        rows.append(again)
    return rows


def _cn_rows(rng: random.Random, count: int) -> list[list[str]]:
    classify = Classifier("CN")
    rows: list[list[str]] = []
    for i in range(count):
        e164 = _valid(rng, lambda: f"+861{rng.choice([3, 5, 8])}{rng.randint(0, 999999999):09d}", classify)
        d = e164[3:]
        phone = rng.choice([d, f"{d[:3]} {d[3:7]} {d[7:]}", f"+86 {d[:3]}-{d[3:7]}-{d[7:]}", f"86{d}", e164])
        if i % 19 == 3:
            phone = rng.choice(["1380013", "12345678901", "电话未知"])  # invalid
        rows.append(
            [
                rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2))),
                phone,
                rng.choice(["会员", "VIP", "续约", "会员|续约", "投诉", ""]),
                rng.choice(["是", "否", ""]),
                rng.choice(CITIES_CN),
            ]
        )
    return rows


def _renewal_rows(rng: random.Random, count: int) -> list[list[str]]:
    classify = Classifier("US")
    rows: list[list[str]] = []
    for i in range(count):
        e164 = _us_number(
            rng, rng.choice([212, 718, 415, 213, 312, 617, 206, 303, 512, 305, 404, 702]), classify
        )
        d = e164[2:]
        phone = rng.choice([e164, f"({d[:3]}) {d[3:6]}-{d[6:]}", f"{d[:3]}-{d[3:6]}-{d[6:]}", d])
        if i % 97 == 11:
            phone = rng.choice(["n/a", "555-0199", "+1 (000) 555-0100"])  # invalid
        rows.append(
            [
                phone,
                f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                rng.choice(PLANS),
                f"2026-12-{rng.randint(1, 31):02d}",
                rng.choice(["yes"] * 17 + ["no", "no", ""]),  # the web form's offers box, mostly ticked
                "renewal-due",
            ]
        )
    return rows


def write_sample(
    folder: Path, seed: int = 2026, us_uk: int = 220, cn: int = 130, renewals: int = 2500
) -> list[SampleFile]:
    """Write the sample files into `folder` and describe them."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    english = folder / "crm_export_us_uk.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["Phone", "Name", "Email", "Tags", "Marketing Consent", "Time Zone", "Customer Since (months)"]
    )
    writer.writerows(_us_uk_rows(rng, us_uk))
    english.write_bytes(buffer.getvalue().encode("utf-8-sig"))
    chinese = folder / "客户名单_gb18030.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["姓名", "手机号", "标签", "营销同意", "城市"])
    writer.writerows(_cn_rows(rng, cn))
    chinese.write_bytes(buffer.getvalue().encode("gb18030"))
    renewal = folder / "renewals_due_2026-12.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["Phone", "Customer", "Plan", "Contract End", "Marketing Consent", "Tags"])
    writer.writerows(_renewal_rows(random.Random(seed + 1), renewals))  # its own stream: the others unchanged
    renewal.write_text(buffer.getvalue(), encoding="utf-8")
    return [
        SampleFile(english, "US", "US and UK numbers, UTF-8 with BOM, mixed formats"),
        SampleFile(chinese, "CN", "Chinese export, GB18030, Chinese headers, messy mobile numbers"),
        SampleFile(renewal, "US", "the renewal team's call list from billing, UTF-8, a day's dialing"),
    ]
