"""Campaign files: YAML parsed into a node tree (so every error names its line), validated, and resolved
against the policy preset into the definition JSON and the effective figures stored per version.

A campaign may tighten any figure of its preset. A figure that loosens one needs an `override:` entry
with the rule's name and a `reason:`; the loosening is then recorded in `campaign_overrides` and shows in
every audit export. Validation reports every problem at once, each as `FILE:LINE: message`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

import yaml

from . import scripts, segment
from .compliance import KINDS, WEEKDAYS
from .errors import UserError
from .phones import InvalidNumber, normalize
from .policy import PRESETS, Policy
from .timeutil import MAX_DURATION_S

TOP_KEYS = (
    "name", "kind", "policy", "seller", "purpose", "caller_id", "segment", "hours", "caps", "retry", "dialing",
    "registry_max_age", "script", "dispositions", "success_dispositions", "service_to_marketing_threshold",
    "override",
)  # fmt: skip
HOURS_KEYS = ("start", "end", "days")
CAPS_KEYS = ("per_day", "per_24h", "total", "min_gap")
RETRY_KEYS = ("busy", "no_answer", "voicemail", "abandoned", "callback", "failed")
DIALING_KEYS = ("mode", "max_abandon_rate", "abandon_window", "abandon_lock", "ring_timeout", "preview")
MODES = ("predictive", "progressive", "preview")
DEFAULT_DISPOSITIONS = ["sale", "interested", "not_interested", "callback", "dnc_request", "wrong_number"]
DEFAULT_RETRY = {"busy": "10m", "no_answer": "2h", "voicemail": "1d", "abandoned": "1h", "callback": "0s"}
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_DURATION = re.compile(r"^(\d+)(s|m|h|d)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# The rules an `override:` entry may name: each loosens one preset figure.
OVERRIDABLE = (
    "hours.start", "hours.end", "caps.per_day", "dialing.max_abandon_rate", "dialing.abandon_window",
    "dialing.abandon_lock", "dialing.ring_timeout", "registry_max_age",
)  # fmt: skip

Path_ = tuple[Any, ...]
_FULL_DAYS = {
    "monday": "mon", "tuesday": "tue", "wednesday": "wed", "thursday": "thu", "friday": "fri",
    "saturday": "sat", "sunday": "sun",
}  # fmt: skip


@dataclass(frozen=True)
class Override:
    rule: str
    preset_value: str | None
    value: str | None
    reason: str


@dataclass
class Campaign:
    """A validated campaign: the definition JSON, the columns of its version row, its loosenings."""

    name: str
    kind: str
    policy: str
    definition: dict[str, Any]
    columns: dict[str, Any]
    overrides: list[Override]
    script_path: Path | None
    script_text: str | None
    text: str
    file_name: str | None


@dataclass
class _Doc:
    """The plain values of a YAML document with the line of every key and item."""

    file: str
    data: Any = None
    lines: dict[Path_, int] = field(default_factory=dict)
    raw: dict[Path_, str] = field(default_factory=dict)  # scalars as written ('10:30', not 630)
    errors: list[tuple[int, str]] = field(default_factory=list)
    nodes: int = 0  # read so far (see _plain)

    def line(self, path: Path_) -> int:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def error(self, path: Path_, message: str) -> None:
        self.errors.append((self.line(path), message))


_MAX_NODES = 100_000  # a campaign file has a few hundred; aliases of aliases can make billions


def _plain(
    loader: yaml.SafeLoader, node: yaml.Node, path: Path_, doc: _Doc, inside: frozenset[int] = frozenset()
) -> Any:
    """The node as plain values, noting each key's line. `inside`: the nodes being read around this one
    (an alias to one of them, `a: &a [*a]`, would never end)."""
    doc.nodes += 1
    if id(node) in inside or doc.nodes > _MAX_NODES:
        if not doc.errors or doc.errors[-1][1] != _ALIAS_LOOP:
            doc.errors.append((node.start_mark.line + 1, _ALIAS_LOOP))
        return None
    doc.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        inside = inside | {id(node)}
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                doc.errors.append((key_node.start_mark.line + 1, "a key must be a plain word"))
                continue
            key = key_node.value
            doc.lines[path + (key,)] = key_node.start_mark.line + 1
            if key in out:
                doc.errors.append((key_node.start_mark.line + 1, f"key {key!r} given twice"))
            out[key] = _plain(loader, value_node, path + (key,), doc, inside)
        return out
    if isinstance(node, yaml.SequenceNode):
        inside = inside | {id(node)}
        return [_plain(loader, item, path + (i,), doc, inside) for i, item in enumerate(node.value)]
    doc.raw[path] = node.value
    try:
        value = loader.construct_object(node, deep=True)
    except ValueError:  # a date that does not exist (`2026-13-01`): the field's own check says so
        return node.value
    # a date or time (`imported_before: 2026-06-01`) is kept as written: the definition is stored as JSON,
    # and the fields that take one read it from text
    return node.value if isinstance(value, date) else value


_ALIAS_LOOP = "YAML aliases here refer to themselves or expand without end: write the values out"


def parse(text: str, file: str) -> _Doc:
    """The document with lines, or the syntax error with its line."""
    doc = _Doc(file)
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            doc.errors.append(
                (1, "the file is empty: a campaign needs at least name, kind, policy, caller_id")
            )
            return doc
        doc.data = _plain(loader, root, (), doc)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        doc.errors.append(((mark.line + 1) if mark else 1, f"YAML syntax error: {exc.problem or exc}"))
    finally:
        loader.dispose()
    return doc


def _duration_s(doc: _Doc, path: Path_, value: Any) -> int | None:
    if value is None:
        return None
    match = _DURATION.match(str(value).strip()) if isinstance(value, str) else None
    if not match:
        doc.error(path, f"bad duration {doc.raw.get(path, value)!r} for {'.'.join(map(str, path))}: use a number and "
                  "a unit s, m, h or d (e.g. 30s, 10m, 2h, 1d)")  # fmt: skip
        return None
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds > MAX_DURATION_S:  # a time built from it would leave the calendar: a traceback at preview
        doc.error(path, f"{'.'.join(map(str, path))} {doc.raw.get(path, value)!r} is too long: at most 3650d")
        return None
    return seconds


def _clock(doc: _Doc, path: Path_) -> time | None:
    text = doc.raw.get(path)
    match = _CLOCK.match(text.strip()) if text is not None else None
    if not match:
        doc.error(path, f'{".".join(map(str, path))} {text!r} is not a time of day: use HH:MM, e.g. "09:00"')
        return None
    return time(int(match.group(1)), int(match.group(2)))


def _known(doc: _Doc, value: Any, path: Path_, keys: tuple[str, ...], what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        doc.error(path, f"{what} must be a mapping")
        return {}
    for key in value:
        if key not in keys:
            doc.error(path + (key,), f"unknown key {key!r} in {what} (known: {', '.join(keys)})")
    return value


MAX_COUNT = 1_000_000  # a cap beyond this caps nothing (and past 2**63 SQLite cannot store it)


def _count(doc: _Doc, value: Any, path: Path_) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_COUNT:
        doc.error(
            path, f"{'.'.join(map(str, path))} must be a whole number from 1 to {MAX_COUNT:,} (or null)"
        )
        return None
    return value


def _fmt(seconds: float | None) -> str | None:
    return None if seconds is None else f"{int(seconds)}s"


def load_file(path: Path) -> Campaign:
    """Read, validate and resolve a campaign file; a UserError lists every problem with its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"campaign file {path} not found") from None
    except UnicodeDecodeError:
        raise UserError(
            f"campaign file {path} is not UTF-8 text (a GB18030/GBK or ANSI file?): save it as UTF-8"
        ) from None
    except IsADirectoryError:
        raise UserError(f"campaign file {path} is a folder: give the .yaml file") from None
    except OSError as exc:
        raise UserError(f"cannot read campaign file {path} ({exc.strerror})") from None
    campaign, errors = validate(text, str(path), path)
    if errors or campaign is None:
        raise CampaignErrors(str(path), errors)
    return campaign


class CampaignErrors(UserError):
    """Every problem of one campaign file, each `FILE:LINE: message`."""

    def __init__(self, file: str, errors: list[tuple[int, str]]):
        self.file = file
        self.errors = errors
        lines = [f"{file}:{line}: {message}" for line, message in errors]
        plural = "s" if len(errors) != 1 else ""
        super().__init__("\n".join(lines + [f"{file}: {len(errors)} error{plural}, nothing stored"]))


def validate(text: str, file: str, path: Path | None = None) -> tuple[Campaign | None, list[tuple[int, str]]]:
    """The resolved campaign (None if invalid) and every error as (line, message), in line order."""
    doc = parse(text, file)
    if doc.errors and doc.data is None:
        return None, doc.errors
    data = doc.data
    if not isinstance(data, dict):
        doc.error((), "a campaign file must be a mapping of keys (name, kind, policy, ...)")
        return None, sorted(doc.errors)
    campaign = _resolve(doc, data, text, path)
    errors = sorted(doc.errors, key=lambda e: e[0])
    return (None if errors else campaign), errors


def _resolve(doc: _Doc, data: dict[str, Any], text: str, path: Path | None) -> Campaign:
    for key in data:
        if key not in TOP_KEYS:
            doc.error((key,), f"unknown key {key!r} (known: {', '.join(TOP_KEYS)})")
    definition = _identity(doc, data)
    kind = definition["kind"]
    preset = PRESETS.get(str(definition["policy"]), PRESETS["strict"])
    definition["hours"] = _hours(doc, data, preset)
    definition["caps"] = _caps(doc, data, preset)
    retry = _known(doc, data.get("retry"), ("retry",), RETRY_KEYS, "retry")
    definition["retry_s"] = {
        k: _duration_s(doc, ("retry", k), v) for k, v in {**DEFAULT_RETRY, **retry}.items()
    }
    definition["dialing"] = _dialing(doc, data, preset)
    definition["registry_max_age_s"] = (
        _duration_s(doc, ("registry_max_age",), data["registry_max_age"])
        if data.get("registry_max_age") is not None
        else _seconds(preset.registry_max_age)
    )
    definition.update(_outcomes(doc, data, kind))
    script_name, script_path, script_text = _script(doc, data, kind, path)
    definition["script"] = script_name
    # With no known preset there is nothing to loosen: 'strict' stands in only so the figures resolve,
    # and judging them against it would add errors about a preset the file never named.
    known_preset = str(definition["policy"]) in PRESETS
    overrides = _overrides(doc, data, preset, _loosenings(preset, definition)) if known_preset else []
    definition["overrides"] = [o.__dict__ for o in overrides]
    return Campaign(
        name=str(definition["name"]),
        kind=str(kind),
        policy=str(definition["policy"]),
        definition=definition,
        columns=_columns(definition, script_text),
        overrides=overrides,
        script_path=script_path,
        script_text=script_text,
        text=text,
        file_name=path.name if path else doc.file,
    )


def _identity(doc: _Doc, data: dict[str, Any]) -> dict[str, Any]:
    """Name, kind, preset, seller, purpose, caller ID and segment."""
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        doc.error(("name",), "name is missing or not a lower-case word (letters, digits, . _ -)")
    kind = data.get("kind")
    if kind not in KINDS:
        given = f"kind {kind!r} is not" if "kind" in data else "missing kind: give"
        doc.error(("kind",), f"{given} one of {', '.join(KINDS)}")
    preset_name = data.get("policy")
    if preset_name not in PRESETS:
        given = f"policy {preset_name!r} is not" if "policy" in data else "missing policy: give"
        doc.error(("policy",), f"{given} one of {', '.join(PRESETS)}")
    for key in ("seller", "purpose"):
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            doc.error((key,), f"{key} must be text")
        elif kind == "marketing" and not value:
            where = (key,) if key in data else ()
            doc.error(where, f"a marketing campaign needs {key}: (who sells what, for the record)")
    for where, message in segment.check(data.get("segment")):
        doc.error(("segment",) + where, message)
    return {
        "name": name,
        "kind": kind,
        "policy": preset_name,
        "seller": data.get("seller"),
        "purpose": data.get("purpose"),
        "caller_id": _caller_id(doc, data),
        "segment": data.get("segment") or {},
    }


def _hours(doc: _Doc, data: dict[str, Any], preset: Policy) -> dict[str, Any]:
    hours = _known(doc, data.get("hours"), ("hours",), HOURS_KEYS, "hours")
    start = _clock(doc, ("hours", "start")) if "start" in hours else preset.hours_start
    end = _clock(doc, ("hours", "end")) if "end" in hours else preset.hours_end
    if start and end and end <= start:
        doc.error(("hours", "end"), f"hours end {end:%H:%M} is not after start {start:%H:%M}")
    return {"start": _hm(start), "end": _hm(end), "days": _days(doc, hours)}


def _caps(doc: _Doc, data: dict[str, Any], preset: Policy) -> dict[str, Any]:
    caps = _known(doc, data.get("caps"), ("caps",), CAPS_KEYS, "caps")
    per_day = preset.max_attempts_per_day
    if "per_day" in caps:
        per_day = _count(doc, caps["per_day"], ("caps", "per_day"))
    return {
        "per_day": per_day,
        "per_24h": _count(doc, caps.get("per_24h"), ("caps", "per_24h")),
        "total": _count(doc, caps.get("total"), ("caps", "total")),
        "min_gap_s": _duration_s(doc, ("caps", "min_gap"), caps.get("min_gap")),
    }


def _dialing(doc: _Doc, data: dict[str, Any], preset: Policy) -> dict[str, Any]:
    dialing = _known(doc, data.get("dialing"), ("dialing",), DIALING_KEYS, "dialing")
    mode = dialing.get("mode", "predictive")
    if mode not in MODES:
        doc.error(("dialing", "mode"), f"dialing mode {mode!r} is not one of {', '.join(MODES)}")
    rate = dialing.get("max_abandon_rate", preset.abandon_cap)
    if not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 <= rate <= 1:
        doc.error(("dialing", "max_abandon_rate"), "max_abandon_rate must be a fraction such as 0.03")
        rate = preset.abandon_cap
    window = dialing.get("abandon_window", preset.abandon_window)
    if window not in ("30d", "day"):
        doc.error(("dialing", "abandon_window"), "abandon_window must be 30d or day")
        window = preset.abandon_window
    lock_s = _seconds(preset.abandon_redial_lock)
    if "abandon_lock" in dialing:
        lock_s = _duration_s(doc, ("dialing", "abandon_lock"), dialing["abandon_lock"]) or 0
    return {
        "mode": mode,
        "max_abandon_rate": rate,
        "abandon_window": window,
        "abandon_lock_s": lock_s,
        "ring_timeout_s": _duration_s(doc, ("dialing", "ring_timeout"), dialing.get("ring_timeout", "20s"))
        or 20,
        "preview_s": _duration_s(doc, ("dialing", "preview"), dialing.get("preview", "10s")) or 10,
    }


def _outcomes(doc: _Doc, data: dict[str, Any], kind: Any) -> dict[str, Any]:
    """Dispositions, the successful ones, and the service-to-marketing threshold."""
    dispositions = _words(doc, data, "dispositions", DEFAULT_DISPOSITIONS)
    success = _words(doc, data, "success_dispositions", [d for d in ("sale",) if d in dispositions])
    for index, word in enumerate(success):
        if word not in dispositions:
            doc.error(
                ("success_dispositions", index), f"success disposition {word!r} is not among dispositions"
            )
    threshold = data.get("service_to_marketing_threshold")
    where = ("service_to_marketing_threshold",)
    if threshold is not None:
        if not isinstance(threshold, int) or isinstance(threshold, bool) or not 0 <= threshold <= 100:
            doc.error(where, "service_to_marketing_threshold must be 0-100 or null")
        elif kind == "marketing":
            doc.error(where, "a marketing campaign has no service-to-marketing switch")
    return {
        "dispositions": dispositions,
        "success_dispositions": success,
        "service_to_marketing_threshold": threshold,
    }


def _loosenings(preset: Policy, d: dict[str, Any]) -> dict[str, tuple[Any, Any, bool]]:
    """Each overridable figure: (preset's value, campaign's value, whether the campaign loosens it)."""
    hours, caps, dialing, registry_s = d["hours"], d["caps"], d["dialing"], d["registry_max_age_s"]
    preset_registry = _seconds(preset.registry_max_age)
    preset_lock, min_ring = _seconds(preset.abandon_redial_lock) or 0, _seconds(preset.min_ring) or 0
    per_day, preset_per_day = caps["per_day"], preset.max_attempts_per_day
    return {  # "HH:MM" texts compare as times
        "hours.start": (
            _hm(preset.hours_start),
            hours["start"],
            (hours["start"] or "99") < _hm(preset.hours_start),
        ),
        "hours.end": (_hm(preset.hours_end), hours["end"], (hours["end"] or "") > _hm(preset.hours_end)),
        "caps.per_day": (
            preset_per_day,
            per_day,
            preset_per_day is not None and (per_day is None or per_day > preset_per_day),
        ),
        "dialing.max_abandon_rate": (
            preset.abandon_cap,
            dialing["max_abandon_rate"],
            dialing["max_abandon_rate"] > preset.abandon_cap,
        ),
        "dialing.abandon_window": (
            preset.abandon_window,
            dialing["abandon_window"],
            preset.abandon_window == "day" and dialing["abandon_window"] != "day",
        ),
        "dialing.abandon_lock": (
            _fmt(preset_lock),
            _fmt(dialing["abandon_lock_s"]),
            dialing["abandon_lock_s"] < preset_lock,
        ),
        "dialing.ring_timeout": (
            _fmt(min_ring),
            _fmt(dialing["ring_timeout_s"]),
            dialing["ring_timeout_s"] < min_ring,
        ),
        "registry_max_age": (
            _fmt(preset_registry),
            _fmt(registry_s),
            preset_registry is not None and (registry_s is None or registry_s > preset_registry),
        ),
    }


def _columns(d: dict[str, Any], script_text: str | None) -> dict[str, Any]:
    """The effective figures as `campaign_versions` columns."""
    return {
        "kind": d["kind"],
        "policy": d["policy"],
        "seller": d["seller"],
        "purpose": d["purpose"],
        "caller_id": d["caller_id"],
        "hours_start": d["hours"]["start"],
        "hours_end": d["hours"]["end"],
        "days": ",".join(d["hours"]["days"]),
        "cap_per_day": d["caps"]["per_day"],
        "cap_24h": d["caps"]["per_24h"],
        "cap_total": d["caps"]["total"],
        "min_gap_s": d["caps"]["min_gap_s"],
        "abandon_cap": d["dialing"]["max_abandon_rate"],
        "abandon_window": d["dialing"]["abandon_window"],
        "abandon_lock_s": d["dialing"]["abandon_lock_s"],
        "registry_max_age_s": d["registry_max_age_s"] if d["kind"] == "marketing" else None,
        "dial_mode": d["dialing"]["mode"],
        "script": d["script"],
        "script_sha256": scripts.sha256(script_text) if script_text is not None else None,
        "script_text": script_text,
        "definition": json.dumps(d, ensure_ascii=False, sort_keys=True),
    }


def _seconds(value: timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds())


def _hm(value: time | None) -> str:
    return "" if value is None else value.strftime("%H:%M")


def _caller_id(doc: _Doc, data: dict[str, Any]) -> str | None:
    value = data.get("caller_id")
    if value in (None, ""):
        doc.error(
            ("caller_id",) if "caller_id" in data else (), 'missing caller ID: add caller_id: "+14155550100"'
        )
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML reads +14155550100 unquoted as the integer 14155550100: the + is gone, so do not guess.
        doc.error(
            ("caller_id",),
            f'caller ID {value} was read by YAML as a number, without its +: quote it, caller_id: "+{value}"',
        )
        return None
    try:
        return normalize(str(value)).e164
    except InvalidNumber:
        doc.error(("caller_id",), f"caller ID {value!r} is not a valid number in +country format")
        return None


def _days(doc: _Doc, hours: dict[str, Any]) -> list[str]:
    value = hours.get("days", list(WEEKDAYS))
    if not isinstance(value, list) or not value:
        doc.error(("hours", "days"), "days must be a non-empty list such as [mon, tue, wed, thu, fri]")
        return list(WEEKDAYS)
    days = []
    for index, day in enumerate(value):
        word = str(day).strip().lower() if isinstance(day, str) else ""
        word = _FULL_DAYS.get(word, word)
        if word not in WEEKDAYS:
            doc.error(("hours", "days", index), f"unknown day {day!r}: use mon, tue, wed, thu, fri, sat, sun")
        elif word not in days:
            days.append(word)
    return [d for d in WEEKDAYS if d in days]


def _words(doc: _Doc, data: dict[str, Any], key: str, default: list[str]) -> list[str]:
    value = data.get(key, default)
    if not isinstance(value, list) or not all(
        isinstance(v, str) and re.match(r"^[a-z][a-z0-9_]*$", v) for v in value
    ):
        doc.error((key,), f"{key} must be a list of lower-case words such as [sale, callback]")
        return list(default)
    return list(dict.fromkeys(value))


def _script(
    doc: _Doc, data: dict[str, Any], kind: Any, path: Path | None
) -> tuple[str | None, Path | None, str | None]:
    name = data.get("script")
    if name is None:
        doc.error((), "missing script: name the call script, e.g. script: renewal.j2")
        return None, None, None
    found = scripts.find(str(name), path) if isinstance(name, str) else None
    if found is None:
        bare = Path(str(name)).name
        if isinstance(name, str) and bare != name:  # the file may well exist: paths are refused, say so
            message = (
                f"script {name!r} must be a bare file name such as {bare!r}, beside the campaign or in "
                "scripts_templates/ (a path is not allowed)"
            )
        else:
            message = f"unknown script {name!r}: no such file beside the campaign or in scripts_templates/"
        doc.error(("script",), message)
        return str(name), None, None
    try:  # utf-8-sig: a BOM from Notepad is not part of the script
        text = found.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        doc.error(
            ("script",),
            f"script {found.name} is not UTF-8 text (a GB18030/GBK or ANSI file?): save it as UTF-8",
        )
        return str(name), None, None
    except OSError as exc:
        doc.error(("script",), f"cannot read script {found} ({exc.strerror})")
        return str(name), None, None
    for problem in scripts.check(text, str(kind)):
        where = f" (line {problem.line} of {found.name})" if problem.line else f" ({found.name})"
        doc.error(("script",), problem.message + where)
    return str(name), found, text


def _overrides(
    doc: _Doc, data: dict[str, Any], preset: Policy, figures: dict[str, tuple[Any, Any, bool]]
) -> list[Override]:
    given: dict[str, tuple[str, Path_]] = {}
    entries = data.get("override") or []
    if not isinstance(entries, list):
        doc.error(("override",), "override must be a list of {rule: NAME, reason: WHY}")
        entries = []
    for index, entry in enumerate(entries):
        where = ("override", index)
        if not isinstance(entry, dict):
            doc.error(where, "each override needs rule: and reason:")
            continue
        for key in entry:
            if key not in ("rule", "reason"):
                doc.error(where + (key,), f"unknown key {key!r} in override (known: rule, reason)")
        rule, reason = entry.get("rule"), entry.get("reason")
        if rule not in OVERRIDABLE:
            doc.error(where + ("rule",), f"override rule {rule!r} is not one of {', '.join(OVERRIDABLE)}")
            continue
        if not isinstance(reason, str) or not reason.strip():
            doc.error(where, f"override of {rule} needs a reason: saying why the preset is loosened")
            continue
        given[rule] = (reason.strip(), where)
    result = []
    for rule, (preset_value, value, loosens) in figures.items():
        if loosens and rule not in given:
            doc.error(
                tuple(rule.split(".")),
                f"{rule} {value} loosens the {preset.name} preset ({preset_value}): tighten it, or add an "
                f"override: entry with rule: {rule} and a reason:",
            )
        elif loosens:
            result.append(Override(rule, _text(preset_value), _text(value), given[rule][0]))
        elif rule in given:
            doc.error(given[rule][1], f"override of {rule} does not loosen anything: remove it")
    return result


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
