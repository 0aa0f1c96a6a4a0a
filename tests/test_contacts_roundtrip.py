"""Properties: the fast number path agrees with phonenumbers; import -> export -> re-import changes nothing."""

from __future__ import annotations

import csv
import random
import tempfile
from pathlib import Path

import phonenumbers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cctool import contacts
from cctool.contacts_import import import_contacts
from cctool.phonefast import Classifier
from cctool.phones import InvalidNumber, normalize
from cctool.store import open_store

from .contacts_helpers import people


def reference(text: str, region: str | None) -> object:
    try:
        number = normalize(text, region)
    except InvalidNumber as exc:
        return exc.reason
    return (number.e164, number.region, number.number_type, number.zones)


def test_the_fast_path_gives_phonenumbers_answers_on_random_numbers() -> None:
    rng = random.Random(20261201)
    codes = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    regions = ["US", "GB", "CN", "DE", "FR", "CA", "IN", "BR"]
    texts = []
    for _ in range(20000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(4, 13)))
        texts.append(f"+{rng.choice(codes)}{digits}")
        texts.append(f"+{rng.choice([1, 44, 86])} {digits[:3]}-{digits[3:]}")
    for region in regions:
        for kind in phonenumbers.PhoneNumberType.values():
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
            for _ in range(30):
                tail = f"{rng.randint(0, 999):03d}"
                texts += [e164[:-3] + tail, national[:-3] + tail]
    for region in [None, *regions]:
        classify = Classifier(region)
        for text in texts:
            assert classify(text) == reference(text, region), (text, region)


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="+0123456789 ()-.", max_size=18), st.sampled_from([None, "US", "GB", "CN", "IT", "RU"])
)
def test_the_fast_path_agrees_on_any_typed_text(text: str, region: str | None) -> None:
    assert Classifier(region)(text.strip()) == reference(text.strip(), region)


NUMBERS = [
    "+12125550123",
    "+14155550199",
    "+447911123456",
    "+442079460123",
    "+8613800138000",
    "+8613912345678",
]
safe_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\ufeff"),
    max_size=12,
).map(str.strip)
tag = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-会员", min_size=1, max_size=8)
person = st.fixed_dictionaries(
    {
        "phone": st.sampled_from(NUMBERS),
        "name": safe_text,
        "email": st.sampled_from(["", "a@example.com", "b@example.org"]),
        "tags": st.lists(tag, max_size=3).map("|".join),
        "timezone": st.sampled_from(["", "Europe/London", "America/Chicago"]),
        "marketing consent": st.sampled_from(["", "yes", "no", "是", "否"]),
        "city": safe_text,
        "客户等级": st.sampled_from(["", "金", "银"]),
    }
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(person, min_size=1, max_size=8), st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
def test_import_then_export_then_reimport_changes_nothing(rows: list[dict[str, str]], encoding: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        source = tmp / "in.csv"
        with open(source, "w", encoding=encoding, newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        store = open_store(tmp / "cc.db", actor="tester")
        try:
            import_contacts(store, source)
            before = people(tmp / "cc.db")
            exported = tmp / "out.csv"
            with open(exported, "w", encoding="utf-8-sig", newline="") as handle:
                contacts.export_csv(store.conn, handle)
            counts = import_contacts(store, exported).counts
            assert people(tmp / "cc.db") == before
            assert counts["imported"] == counts["updated"] == counts["rejected"] == 0
            assert counts["unchanged"] == len(before["contacts"])
        finally:
            store.close()
