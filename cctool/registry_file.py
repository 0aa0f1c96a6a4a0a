"""Reading a do-not-call registry file: one number a line or a CSV column, normalised to E.164.

A national registry holds millions of numbers, and phonenumbers parses about 23k a second here, so
numbers are taken in two passes:

1. **Fast path**, in C: a regular expression per country code, built once from phonenumbers' own
   metadata (every region sharing the code, its leading digits and every number type with its possible
   lengths), finds the lines that are already E.164 (`+12125550123`) or bare national digits for
   `--region` (`2125550123`). It only *accepts*: a line it accepts is one phonenumbers calls valid, with
   the same E.164 form (tests/test_registry_file.py checks this against phonenumbers).
2. **Slow path**, line by line, for the rest: stripped of spaces, dashes, dots and brackets, a line
   gets a second try at the fast pattern ("(212) 555-0123"); what still fails (other countries, "(0)",
   letters, junk) goes through `phones.normalize`. Lines it rejects are counted as invalid, never fatal.

A big file is split in two and the second half parsed by a forked child, so both cores work. The
numbers come out as JSON arrays that SQLite reads, sorts and inserts itself (see `dnc._swap_in`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import multiprocessing
import re
import signal
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from multiprocessing.connection import Connection
from pathlib import Path

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata

from .children import die_with_parent
from .errors import UserError
from .phones import InvalidNumber, normalize

# Number types; any match makes a number valid, so the common ones go first (the regex tries in order).
_TYPES = (
    "fixed_line",
    "mobile",
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)
_PHONE_HEADERS = {
    "phone",
    "number",
    "phone_number",
    "phonenumber",
    "telephone",
    "tel",
    "mobile",
    "msisdn",
    "e164",
    "电话",
    "手机",
    "手机号",
    "号码",
    "电话号码",
}
_AREA_HEADERS = {"area", "areacode", "area_code", "area code", "area-code", "npa", "区号"}
_PUNCTUATION = str.maketrans("", "", " \t()-./\u00a0")  # what people put between digits
_SAMPLE_LINES = 2000  # lines read to decide which country codes the fast path covers
_MAX_CODES = 20  # a pattern for six big codes builds in about 0.1 s
_PARALLEL_FROM = 4_000_000  # characters (about 300k lines): below this a second process does not pay


@dataclass
class ParsedRegistry:
    """The E.164 numbers of a registry file, as JSON arrays ready for SQLite, and what was dropped."""

    arrays: list[str]  # JSON arrays of E.164 numbers, duplicates kept (the database drops them)
    accepted: int
    lines: int  # non-blank lines (data rows for CSV)
    invalid: int
    invalid_examples: list[str] = field(default_factory=list)
    fast: int = 0  # how many took the fast path
    layout: str = "lines"

    @property
    def numbers(self) -> list[str]:
        return [number for array in self.arrays for number in json.loads(array)]


def read_bytes(path: Path) -> bytes:
    """The file's bytes, or one clear UserError for a missing, unreadable, empty or binary file."""
    if not path.exists():
        raise UserError(f"registry file {path} does not exist: check the path")
    if path.is_dir():
        raise UserError(f"registry file {path} is a folder: give the file itself")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"registry file {path} cannot be read ({exc.strerror})") from None
    if not data.strip():
        raise UserError(f"registry file {path} is empty: nothing to load")
    if b"\x00" in data[:65536]:
        raise UserError(f"registry file {path} is binary, not a text list of numbers")
    return data


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode(data: bytes, path: Path) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UserError(f"registry file {path} is not text (neither UTF-8 nor GB18030)")


def parse(text: str, region: str | None = None, column: str | None = None) -> ParsedRegistry:
    """Every number of a registry file's text, normalised to E.164; invalid lines counted."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    first = next((line for line in text[:10_000].split("\n") if line.strip()), "")
    layout = "lines"
    header_only = first.strip().lstrip("\ufeff").lower() in _PHONE_HEADERS  # a one-column CSV: "phone"
    if column is not None or header_only or any(sep in first for sep in (",", ";", "\t")):
        text = "\n".join(csv_column(text, column))
        layout = "csv"
    parsed = parse_in_two(text, region) if len(text) >= _PARALLEL_FROM else parse_lines(text, region)
    parsed.layout = layout
    return parsed


_SHARED: dict[str, str] = {}  # the text a forked child reads (inherited memory, nothing pickled)


def parse_in_two(text: str, region: str | None) -> ParsedRegistry:
    """Parse a big file on two cores: a forked child takes the second half of the lines.

    The child returns its numbers as one JSON string, which crosses the pipe far faster than a list.
    Without fork (or if the child fails) the second half is parsed here, so the result is the same.
    """
    codes = _country_codes(text, region)
    fast_pattern(codes, region)  # compiled once, before the fork, so the child inherits it
    middle = text.find("\n", len(text) // 2) + 1 or len(text)
    try:
        context = multiprocessing.get_context("fork")
    except ValueError:
        return _merge([parse_lines(text[:middle], region, codes), parse_lines(text[middle:], region, codes)])
    _SHARED["text"] = text
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_parse_shared, args=(sender, receiver, middle, region, codes), daemon=True)
    try:
        child.start()
        sender.close()
        first = parse_lines(text[:middle], region, codes)
        try:
            second = receiver.recv()
        except EOFError:
            second = parse_lines(text[middle:], region, codes)
    finally:
        _SHARED.clear()
        receiver.close()
        child.join(timeout=5)
        if child.is_alive():
            child.kill()
    return _merge([first, second])


def _parse_shared(
    sender: Connection, receiver: Connection, start: int, region: str | None, codes: tuple[int, ...]
) -> None:
    # Ctrl-C reaches the whole process group: the parent handles it (and ends this child), quietly.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    die_with_parent()
    receiver.close()  # the parent's end: kept open here, a send to a dead parent blocked for ever
    sender.send(parse_lines(_SHARED["text"][start:], region, codes))
    sender.close()


def _merge(parts: list[ParsedRegistry]) -> ParsedRegistry:
    return ParsedRegistry(
        arrays=[a for p in parts for a in p.arrays],
        accepted=sum(p.accepted for p in parts),
        lines=sum(p.lines for p in parts),
        invalid=sum(p.invalid for p in parts),
        invalid_examples=[e for p in parts for e in p.invalid_examples][:5],
        fast=sum(p.fast for p in parts),
    )


def parse_lines(text: str, region: str | None, codes: tuple[int, ...] | None = None) -> ParsedRegistry:
    """One number a line: the fast path over the whole text, then the slow path for what is left."""
    if not text.endswith("\n"):
        text += "\n"
    pattern = fast_pattern(codes if codes is not None else _country_codes(text, region), region)
    prefix = f"+{_national_cc(region)}" if region else "+"
    accepted: list[str] = []
    others: list[str] = []
    if pattern is None:
        others = text.split("\n")
    else:
        # One pass in C: each line is (digits after '+', national digits, anything else), one group set.
        for e164, national, other in pattern.findall(text):
            if e164:
                accepted.append("+" + e164)
            elif national:
                accepted.append(prefix + national)
            else:
                others.append(other)
    fast_count = len(accepted)
    invalid = 0
    examples: list[str] = []
    lines = fast_count
    for line in others:
        raw = line.strip()
        if not raw:
            continue
        lines += 1
        # "(212) 555-0123": without its punctuation the fast pattern may still vouch for it.
        match = pattern.match(raw.translate(_PUNCTUATION) + "\n") if pattern is not None else None
        if match and match.group(1):
            accepted.append("+" + match.group(1))
            continue
        if match and match.group(2):
            accepted.append(prefix + match.group(2))
            continue
        try:
            accepted.append(normalize(raw, region).e164)
        except InvalidNumber:
            invalid += 1
            if len(examples) < 5:
                examples.append(raw[:40])
    # '+' and digits only, so joined they make a valid JSON array (at C speed, unlike json.dumps).
    arrays = ['["' + '","'.join(accepted) + '"]'] if accepted else []
    return ParsedRegistry(arrays, len(accepted), lines, invalid, examples, fast_count)


def csv_column(text: str, column: str | None) -> Iterable[str]:
    """The phone column of a CSV registry (header aliases, or the first numeric column without one)."""
    sample = text[:8192]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows: Iterable[list[str]] = csv.reader(io.StringIO(text), dialect)
    header = next(iter(rows), [])
    keys = [h.strip().lstrip("\ufeff").lower() for h in header]
    phone_at = area_at = None
    if column is not None:
        if column.lower() not in keys:
            raise UserError(f"registry CSV has no column {column!r} (columns: {', '.join(header)})")
        phone_at = keys.index(column.lower())
    else:
        phone_at = next((i for i, k in enumerate(keys) if k in _PHONE_HEADERS), None)
        area_at = next((i for i, k in enumerate(keys) if k in _AREA_HEADERS), None)
    if phone_at is None:
        # No header: FTC-style "212,5550123" rows, or the first cell that looks like a number.
        digits = [re.sub(r"\D", "", cell) for cell in header]
        if len(digits) >= 2 and len(digits[0]) == 3 and len(digits[1]) == 7:
            area_at, phone_at = 0, 1
        else:
            phone_at = next((i for i, d in enumerate(digits) if len(d) >= 7), None)
        if phone_at is None:
            raise UserError("registry CSV has no phone column: name it 'phone' or pass --column NAME")
        rows = _chain([header], rows)
    for row in rows:
        if not row or phone_at >= len(row):
            if row and any(cell.strip() for cell in row):
                yield "?"  # a row without the column is an invalid line, counted like one
            continue
        cell = row[phone_at]
        if area_at is not None and area_at < len(row):
            cell = row[area_at].strip() + cell.strip()
        yield cell.strip() or ("?" if any(c.strip() for c in row) else "")


def _chain(first: list[list[str]], rest: Iterable[list[str]]) -> Iterable[list[str]]:
    yield from first
    yield from rest


def _national_cc(region: str) -> int | None:
    meta = PhoneMetadata.metadata_for_region(region.upper(), None)
    return meta.country_code if meta else None


def _country_codes(text: str, region: str | None) -> tuple[int, ...]:
    """The country codes worth a fast-path pattern: --region's, and the commonest in the first lines.

    Capped, because each code's pattern takes a while to build: rarer codes take the slow path.
    """
    seen: Counter[int] = Counter()
    for line in text[: _SAMPLE_LINES * 20].split("\n")[:_SAMPLE_LINES]:
        line = line.strip()
        if line.startswith("+") and line[1:].isdigit():
            for size in (1, 2, 3):
                if int(line[1 : 1 + size] or 0) in COUNTRY_CODE_TO_REGION_CODE:
                    seen[int(line[1 : 1 + size])] += 1
                    break
    codes = {code for code, _ in seen.most_common(_MAX_CODES)}
    if region and _national_cc(region):
        codes.add(_national_cc(region) or 0)
    return tuple(sorted(codes))


@cache
def fast_pattern(codes: tuple[int, ...], region: str | None) -> re.Pattern[str] | None:
    """One multi-line pattern with two groups: digits of a valid `+CC...` line, or valid national digits."""
    valid = [f"{code}(?:{valid_national(code)})" for code in codes if valid_national(code)]
    e164 = f"\\+(?=(?:{'|'.join(valid)})$)(\\d+)" if valid else "()(?!)"
    national = (national_pattern(region) if region else None) or "()(?!)"
    pattern = re.compile(f"^(?:{e164}|{national}|(.*))\\n", re.MULTILINE)
    if pattern.groups != 3:  # a metadata pattern with its own groups: do without the fast path
        return None
    return pattern


@cache
def valid_national(code: int) -> str:
    """A pattern matching exactly the national significant numbers phonenumbers calls valid for `code`.

    Mirrors phonenumbers: the first region (in its order) whose leading digits match decides; a region
    without leading digits accepts when the number matches one of its types. '' when the code has none.
    """
    options = []
    earlier_leads: list[str] = []
    for region in COUNTRY_CODE_TO_REGION_CODE.get(code, ()):
        meta = PhoneMetadata.metadata_for_region(region, None)
        if meta is None:
            continue
        types = _types_pattern(meta)
        guards = "".join(f"(?!{lead})" for lead in earlier_leads)
        if meta.leading_digits:
            options.append(f"{guards}(?={meta.leading_digits}){types}" if types else None)
            earlier_leads.append(meta.leading_digits)
        elif types:
            options.append(f"{guards}{types}")
    kept = [o for o in options if o]
    return "|".join(f"(?:{o})" for o in kept)


def _sizes(lengths: Iterable[int]) -> str:
    return "|".join(f"\\d{{{n}}}" for n in sorted(set(lengths)))


def _types_pattern(meta: PhoneMetadata) -> str:
    """Digits to the line's end matching the region's general pattern and at least one number type."""
    general = meta.general_desc
    if general is None or not general.national_number_pattern:
        return ""
    general_lengths = set(general.possible_length or ()) - {-1}
    if not general_lengths:
        return ""
    types = []
    for name in _TYPES:
        desc = getattr(meta, name)
        if desc is None or not desc.national_number_pattern:
            continue
        lengths = set(desc.possible_length or general_lengths) - {-1}
        if not lengths:
            continue
        # A type's own length check is needed only where it allows fewer lengths than the general one.
        check = "" if lengths >= general_lengths else f"(?=(?:{_sizes(lengths)})$)"
        types.append(f"{check}(?:{desc.national_number_pattern})$")
    if not types:
        return ""
    head = f"(?=(?:{_sizes(general_lengths)})$)(?=(?:{general.national_number_pattern})$)"
    return head + "(?:" + "|".join(dict.fromkeys(types)) + ")"


@cache
def national_pattern(region: str) -> str | None:
    """Bare national digits for `region` (its trunk prefix optional), when its parsing rule is plain."""
    meta = PhoneMetadata.metadata_for_region(region.upper(), None)
    if meta is None:
        return None
    valid = valid_national(meta.country_code)
    if not valid:
        return None
    prefix = meta.national_prefix_for_parsing or meta.national_prefix
    if meta.national_prefix_transform_rule or meta.general_desc is None:
        return None
    general = meta.general_desc.national_number_pattern
    if prefix:
        if not re.fullmatch(r"\d+(?:\|\d+)*", prefix):
            return None
        # Strip the trunk prefix only when what is left is still viable, as phonenumbers does.
        lead = f"(?:(?:{prefix})(?=(?:{general})$)|(?!(?:{prefix})))"
    else:
        lead = ""
    return f"(?=\\d){lead}({valid})"
