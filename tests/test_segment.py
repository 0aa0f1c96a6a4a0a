"""Segments select contacts through parameterised SQL only; hostile values are inert."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


# --- property: the compiled SQL selects exactly whom a plain Python reading of the filter selects -----

TAGS = ["a", "b", "c", "d"]
PHONES = ["+14155552671", "+12125550123", "+8613812345678", "+442079460000", "+8613912345678", "+14155552672"]


def _reference(person: dict, spec: dict) -> bool:
    tags = set(person["tags"])
    if spec.get("tags_any") and not tags & set(spec["tags_any"]):
        return False
    if spec.get("tags_all") and not set(spec["tags_all"]) <= tags:
        return False
    if spec.get("tags_none") and tags & set(spec["tags_none"]):
        return False
    if spec.get("region") and person["region"] not in spec["region"]:
        return False
    if spec.get("imported_after") and person["created"] < spec["imported_after"]:
        return False
    if spec.get("imported_before") and not person["created"] < spec["imported_before"]:
        return False
    for condition in spec.get("fields", []):
        value = person["plan"] if condition["field"] == "attributes.plan" else person["phone"]
        if "equals" in condition and value != condition["equals"]:
            return False
        if "in" in condition and value not in condition["in"]:
            return False
        if "prefix" in condition and not (value or "").startswith(condition["prefix"]):
            return False
    return True


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    people=st.lists(
        st.fixed_dictionaries(
            {
                "tags": st.lists(st.sampled_from(TAGS), unique=True, max_size=3),
                "plan": st.sampled_from(["basic", "plus", None]),
                "day": st.integers(min_value=1, max_value=28),
            }
        ),
        min_size=1,
        max_size=len(PHONES),
    ),
    spec=st.fixed_dictionaries(
        {},
        optional={
            "tags_any": st.lists(st.sampled_from(TAGS), min_size=1, max_size=2),
            "tags_all": st.lists(st.sampled_from(TAGS), min_size=1, max_size=2),
            "tags_none": st.lists(st.sampled_from(TAGS), min_size=1, max_size=2),
            "region": st.lists(st.sampled_from(["US", "CN", "GB"]), min_size=1, max_size=2),
            "imported_after": st.sampled_from(["2026-02-05", "2026-02-15"]),
            "imported_before": st.sampled_from(["2026-02-10", "2026-02-20"]),
            "fields": st.lists(
                st.one_of(
                    st.builds(
                        lambda v: {"field": "attributes.plan", "equals": v},
                        st.sampled_from(["basic", "plus"]),
                    ),
                    st.builds(
                        lambda v: {"field": "attributes.plan", "in": v},
                        st.lists(st.sampled_from(["basic", "plus"]), min_size=1),
                    ),
                    st.builds(
                        lambda v: {"field": "phone", "prefix": v},
                        st.sampled_from(["+1", "+86", "+4420", "+1415"]),
                    ),
                ),
                max_size=2,
            ),
        },
    ),
)
def test_compiled_segments_select_what_the_filter_says(
    tmp_path_factory, people: list[dict], spec: dict
) -> None:
    from cctool.store import open_store

    store = open_store(tmp_path_factory.mktemp("seg") / "s.db", actor="t", command="t")
    try:
        expected = []
        for phone, person in zip(PHONES, people):
            created = f"2026-02-{person['day']:02d}"
            attributes = {"plan": person["plan"]} if person["plan"] else {}
            cid = add_contact(
                store, phone, tags=person["tags"], attributes=attributes, created_at=created + "T00:00:00Z"
            )
            region = {"+1": "US", "+86": "CN", "+44": "GB"}[
                phone[:3] if phone.startswith("+86") or phone.startswith("+44") else "+1"
            ]
            reading = {**person, "phone": phone, "region": region, "created": created}
            if _reference(reading, spec):
                expected.append(cid)
        assert segment.check(spec) == []
        assert segment.contact_ids(store.conn, spec) == expected
    finally:
        store.close()
