"""Segments: a small filter language over contacts, compiled to parameterised SQL.

    tags_any: [renewal-due]          # has at least one of these tags
    tags_all: [customer, opted-in]   # has every one
    tags_none: [vip, complaint]      # has none of them
    region: [US, CA]                 # number's region (a single value or a list)
    number_type: [mobile]            # mobile, fixed, fixed_or_mobile, voip, ...
    imported_after: 2026-01-01       # contact created at or after (UTC date or time)
    imported_before: 2026-12-01      # created before
    fields:                          # every condition must hold
      - {field: attributes.plan, in: [basic, plus]}
      - {field: phone, prefix: "+1415"}
      - {field: source, equals: crm}

The SQL text is built only from this module's own fragments; every value (and every attribute key) from
the campaign file travels as a bound parameter, so no input can change the statement.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

from .phones import NUMBER_TYPES, unknown_region
from .timeutil import to_iso

KEYS = (
    "tags_any",
    "tags_all",
    "tags_none",
    "region",
    "number_type",
    "imported_after",
    "imported_before",
    "fields",
)
COLUMNS = ("phone", "name", "email", "region", "number_type", "timezone", "source")
OPERATORS = ("equals", "in", "prefix")
_ATTRIBUTE = re.compile(r"^attributes\.([A-Za-z0-9_-]{1,64})$")

Problem = tuple[tuple[Any, ...], str]  # (path inside the segment, message)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _texts(value: Any) -> bool:
    return all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in _as_list(value))


def _moment(value: Any) -> str | None:
    """A date or time from the file (YAML may already have made it a date) as UTC ISO text."""
    if isinstance(value, datetime):
        return to_iso(value if value.tzinfo else value.replace(tzinfo=UTC))
    if isinstance(value, date):
        return value.isoformat() + "T00:00:00Z"
    if isinstance(value, str):
        try:
            return _moment(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def check(segment: Any) -> list[Problem]:
    """Every problem with a segment definition, each with its path for the file's line number."""
    if segment is None:
        return []
    if not isinstance(segment, dict):
        return [((), "segment must be a mapping of filters (tags_any, region, fields, ...)")]
    problems: list[Problem] = []
    for key, value in segment.items():
        if key not in KEYS:
            problems.append(((key,), f"unknown segment filter {key!r} (known: {', '.join(KEYS)})"))
        elif key in ("imported_after", "imported_before"):
            if _moment(value) is None:
                problems.append(((key,), f"{key} {value!r} is not a date: use YYYY-MM-DD"))
        elif key == "fields":
            problems.extend(_check_fields(value))
        elif not _texts(value) or not _as_list(value):
            problems.append(((key,), f"{key} must be a word or a list of words"))
        elif key in ("region", "number_type"):
            problems.extend(_check_values(key, value))
    return problems


def _check_values(key: str, value: Any) -> Iterator[Problem]:
    """A region or number type no contact can have would silently empty the segment (`region: UK`)."""
    for item in _as_list(value):
        hint = unknown_region(str(item)) if key == "region" else None
        if hint:
            yield ((key,), f"region {item!r} is not a two-letter country code: {hint}")
        elif key == "number_type" and item not in NUMBER_TYPES:
            yield ((key,), f"number_type {item!r} is not one of {', '.join(NUMBER_TYPES)}")


def _check_fields(value: Any) -> Iterator[Problem]:
    if not isinstance(value, list):
        yield (("fields",), "fields must be a list of {field: NAME, equals|in|prefix: VALUE}")
        return
    for index, condition in enumerate(value):
        path = ("fields", index)
        if not isinstance(condition, dict):
            yield (path, "each fields entry must be a mapping {field: NAME, equals|in|prefix: VALUE}")
            continue
        field = condition.get("field")
        if not isinstance(field, str) or not (field in COLUMNS or _ATTRIBUTE.match(field)):
            yield (path + ("field",), f"field {field!r} is not one of {', '.join(COLUMNS)} or attributes.KEY")
        operators = [k for k in condition if k != "field"]
        for key in operators:
            if key not in OPERATORS:
                yield (path + (key,), f"unknown operator {key!r} (known: {', '.join(OPERATORS)})")
            elif key == "in" and not (
                isinstance(condition[key], list) and condition[key] and _texts(condition[key])
            ):
                yield (path + (key,), "in needs a non-empty list of values")
            elif key != "in" and (isinstance(condition[key], list) or not _texts(condition[key])):
                yield (path + (key,), f"{key} needs a single value")
        if len(operators) != 1:
            yield (path, "each fields entry needs exactly one of equals, in, prefix")


def _field_sql(field: str) -> tuple[str, list[Any]]:
    attribute = _ATTRIBUTE.match(field)
    if attribute:
        return "json_extract(c.attributes, ?)", [f'$."{attribute.group(1)}"']
    if field not in COLUMNS:  # check() stops this earlier; never let a name reach the SQL text
        raise ValueError(f"unknown field {field!r}")
    return f"c.{field}", []


def compile_where(segment: dict[str, Any] | None) -> tuple[str, list[Any]]:
    """The WHERE clause (over `contacts c`) and its parameters; contacts that are erased never match."""
    clauses: list[str] = ["c.erased_at IS NULL"]
    params: list[Any] = []
    segment = segment or {}
    for key, mode in (("tags_any", "any"), ("tags_all", "all"), ("tags_none", "none")):
        tags = [str(t) for t in _as_list(segment.get(key) or [])]
        if not tags:
            continue
        marks = ", ".join("?" * len(tags))
        inner = f"SELECT t.contact_id FROM contact_tags t WHERE t.tag IN ({marks})"
        if mode == "any":
            clauses.append(f"c.id IN ({inner})")
        elif mode == "none":
            clauses.append(f"c.id NOT IN ({inner})")
        else:
            clauses.append(f"c.id IN ({inner} GROUP BY t.contact_id HAVING count(DISTINCT t.tag) = ?)")
        params.extend(tags)
        if mode == "all":
            params.append(len(set(tags)))
    for key, column in (("region", "c.region"), ("number_type", "c.number_type")):
        values = [str(v) for v in _as_list(segment.get(key) or [])]
        if values:
            clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
            params.extend(v.upper() if key == "region" else v for v in values)
    for key, op in (("imported_after", ">="), ("imported_before", "<")):
        if segment.get(key) is not None:
            clauses.append(f"julianday(c.created_at) {op} julianday(?)")
            params.append(_moment(segment[key]))
    for condition in segment.get("fields") or []:
        sql, field_params = _field_sql(condition["field"])
        params.extend(field_params)
        if "equals" in condition:
            clauses.append(f"{sql} = ?")
            params.append(condition["equals"])
        elif "in" in condition:
            clauses.append(f"{sql} IN ({', '.join('?' * len(condition['in']))})")
            params.extend(condition["in"])
        else:
            clauses.append(f"substr({sql}, 1, length(?)) = ?")
            params.extend([str(condition["prefix"])] * 2)
    return " AND ".join(clauses), params


def contact_ids(conn: sqlite3.Connection, segment: dict[str, Any] | None) -> list[int]:
    """The ids of the contacts in the segment, in id order."""
    where, params = compile_where(segment)
    return [
        row[0] for row in conn.execute(f"SELECT c.id FROM contacts c WHERE {where} ORDER BY c.id", params)
    ]
