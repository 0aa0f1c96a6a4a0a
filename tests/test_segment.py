"""Segments select contacts through parameterised SQL only; hostile values are inert."""

from __future__ import annotations

import pytest

from cctool import segment
from cctool.store import Store

from .campaign_data import add_contact

INJECTIONS = [
    "x' OR '1'='1",
    'x"); DROP TABLE contacts; --',
    "') UNION SELECT id FROM contacts --",
    "%",
    "_",
    "*/ OR 1=1 /*",
    "\\' OR 1=1 --",
]


@pytest.fixture
def people(store: Store) -> dict[str, int]:
    return {
        "ann": add_contact(store, "+14155552671", tags=["renewal-due", "customer"], name="Ann",
                           attributes={"plan": "basic"}, created_at="2026-01-10T00:00:00Z", source="crm"),
        "bob": add_contact(store, "+12125550123", tags=["customer", "vip"], name="Bob",
                           attributes={"plan": "plus"}, created_at="2026-05-10T00:00:00Z", source="web"),
        "chen": add_contact(store, "+8613812345678", tags=["customer", "complaint"], name="陈",
                            created_at="2026-09-01T00:00:00Z"),
        "dora": add_contact(store, "+442079460000", tags=["new-customer"], name="Dora",
                            created_at="2026-11-20T00:00:00Z"),
    }  # fmt: skip


def ids(store: Store, spec: dict) -> list[int]:
    assert segment.check(spec) == []
    return segment.contact_ids(store.conn, spec)


def test_tags_any_all_none(store: Store, people: dict[str, int]) -> None:
    assert ids(store, {"tags_any": ["renewal-due", "vip"]}) == [people["ann"], people["bob"]]
    assert ids(store, {"tags_all": ["customer", "vip"]}) == [people["bob"]]
    assert ids(store, {"tags_any": ["customer"], "tags_none": ["vip", "complaint"]}) == [people["ann"]]


def test_region_number_type_and_import_dates(store: Store, people: dict[str, int]) -> None:
    assert ids(store, {"region": "cn"}) == [people["chen"]]
    assert ids(store, {"region": ["US", "GB"]}) == [people["ann"], people["bob"], people["dora"]]
    assert ids(store, {"number_type": ["mobile"]}) == [people["chen"]]
    assert ids(store, {"imported_after": "2026-05-01", "imported_before": "2026-10-01"}) == [
        people["bob"],
        people["chen"],
    ]


def test_field_equals_in_and_prefix(store: Store, people: dict[str, int]) -> None:
    assert ids(store, {"fields": [{"field": "attributes.plan", "equals": "plus"}]}) == [people["bob"]]
    assert ids(store, {"fields": [{"field": "source", "in": ["crm", "web"]}]}) == [
        people["ann"],
        people["bob"],
    ]
    assert ids(store, {"fields": [{"field": "phone", "prefix": "+1"}]}) == [people["ann"], people["bob"]]


def test_erased_contacts_are_never_in_a_segment(store: Store, people: dict[str, int]) -> None:
    with store.write() as conn:
        conn.execute("UPDATE contacts SET erased_at = '2026-11-30T00:00:00Z' WHERE id = ?", (people["ann"],))
    assert people["ann"] not in ids(store, {})


def _segments_with(value: str) -> list[dict]:
    return [
        {"tags_any": [value]},
        {"tags_all": [value, "customer"]},
        {"tags_none": [value]},
        {"region": value},
        {"number_type": [value]},
        {"fields": [{"field": "name", "equals": value}]},
        {"fields": [{"field": "attributes.plan", "in": [value, "basic"]}]},
        {"fields": [{"field": "phone", "prefix": value}]},
        {"fields": [{"field": "email", "prefix": value}]},
    ]


@pytest.mark.parametrize("hostile", INJECTIONS)
def test_injection_attempts_through_every_field_are_inert(
    store: Store, people: dict[str, int], hostile: str
) -> None:
    everyone = ids(store, {})
    for spec, honest in zip(_segments_with(hostile), _segments_with("zzz")):
        where, params = segment.compile_where(spec)
        assert where == segment.compile_where(honest)[0]  # the statement never depends on a value
        assert hostile in params or any(hostile.upper() == p for p in params)
        found = segment.contact_ids(store.conn, spec)
        if "tags_none" in spec:
            assert found == everyone  # nobody carries the hostile tag
        elif "tags_all" in spec:
            assert found == []
        elif spec.get("fields", [{}])[0].get("in"):
            assert found == [people["ann"]]  # matched only by the honest value "basic"
        else:
            assert found == []
    assert store.conn.execute("SELECT count(*) FROM contacts").fetchone()[0] == 4


def test_hostile_field_names_and_attribute_keys_are_refused_before_any_sql(store: Store) -> None:
    for name in [
        "phone; DROP TABLE contacts",
        "attributes.x') OR 1=1 --",
        "c.id",
        "attributes.",
        "erased_at",
    ]:
        problems = segment.check({"fields": [{"field": name, "equals": "1"}]})
        assert problems and "is not one of" in problems[0][1]
        with pytest.raises(ValueError):
            segment.compile_where({"fields": [{"field": name, "equals": "1"}]})


def test_hostile_dates_are_refused(store: Store) -> None:
    assert segment.check({"imported_after": "2026-01-01' OR 1=1 --"})[0][1].startswith("imported_after")


def test_attribute_key_travels_as_a_parameter(store: Store) -> None:
    where, params = segment.compile_where({"fields": [{"field": "attributes.plan-2", "equals": "x"}]})
    assert "plan-2" not in where and '$."plan-2"' in params


def test_unknown_filters_and_operators_are_reported_with_their_path() -> None:
    problems = segment.check(
        {"colour": "red", "fields": [{"field": "name", "like": "%a"}, {"field": "name"}]}
    )
    paths = [p for p, _ in problems]
    assert ("colour",) in paths and ("fields", 0, "like") in paths and ("fields", 1) in paths
