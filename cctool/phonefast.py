"""Bulk phone classification: the same answers as `phones.normalize`, several times faster.

`phonenumbers.parse` spends most of its time on generic input handling. Most numbers in a CRM export
are already in E.164 (`+14155550123`), and for those the answer only needs the library's own metadata:
the country code, the region whose leading digits or patterns match, the type patterns in the
library's order, and the time-zone prefix table. This module compiles that metadata once and applies
it directly. Anything it is not certain about (national formats, a leading national prefix that
parse() would strip, non-geographic codes) goes to `phones.normalize`, so the results are identical;
tests compare both on random numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberType
from phonenumbers.phonenumberutil import _GEO_MOBILE_COUNTRIES, COUNTRY_CODE_TO_REGION_CODE
from phonenumbers.timezone import UNKNOWN_TIMEZONE

try:
    from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX
except ImportError:  # pragma: no cover - slim phonenumbers builds
    TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX = {}, 0

from .phones import _TYPE_NAMES, InvalidNumber, normalize

# One classified number: (e164, region, number_type, zones).
Classified = tuple[str, str | None, str, tuple[str, ...]]

_SEPARATORS = str.maketrans("", "", " -().\u00a0\t")
# The order phonenumbers' _number_type_helper tests the specific types in.
_TYPE_ORDER = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
)


@dataclass
class _Desc:
    lengths: frozenset[int]
    pattern: str | None

    def allows(self, length: int) -> bool:
        # An empty length list means "as the general description", which is checked first.
        return self.pattern is not None and (not self.lengths or length in self.lengths)


def _desc(desc: object) -> _Desc | None:
    if desc is None:
        return None
    pattern = getattr(desc, "national_number_pattern", None)
    return _Desc(frozenset(getattr(desc, "possible_length", ()) or ()), pattern or None)


class _Region:
    """One region's type patterns, joined per number length into one regex.

    phonenumbers tests the types one after another and takes the first that matches; an alternation
    under fullmatch takes the first alternative that matches the whole string, which is the same
    answer in one call. `lastindex` names the outer group that matched (inner groups close first).
    """

    def __init__(self, code: str, meta: Any):
        self.code = code
        self.leading = re.compile(meta.leading_digits) if meta.leading_digits else None
        self.general = _desc(meta.general_desc)
        descs: list[tuple[_Desc, int]] = []
        for attr, kind in _TYPE_ORDER:
            found = _desc(getattr(meta, attr, None))
            if found is not None and found.pattern:
                descs.append((found, kind))
        self.fixed, self.mobile = _desc(meta.fixed_line), _desc(meta.mobile)
        self.same = bool(meta.same_mobile_and_fixed_line_pattern)
        self.descs = descs
        self.by_length: dict[int, tuple[re.Pattern[str] | None, dict[int, int]]] = {}

    def _compile(self, length: int) -> tuple[re.Pattern[str] | None, dict[int, int]]:
        general = self.general
        if general is None or not general.allows(length):
            return None, {}
        parts: list[tuple[str, int]] = [(d.pattern, k) for d, k in self.descs if d.allows(length)]  # type: ignore[misc]
        fixed = self.fixed if self.fixed is not None and self.fixed.allows(length) else None
        mobile = self.mobile if self.mobile is not None and self.mobile.allows(length) else None
        if fixed is not None:
            if self.same:
                parts.append((fixed.pattern, PhoneNumberType.FIXED_LINE_OR_MOBILE))  # type: ignore[arg-type]
            else:
                if mobile is not None:
                    both = f"(?=(?:{fixed.pattern})\\Z)(?:{mobile.pattern})"
                    parts.append((both, PhoneNumberType.FIXED_LINE_OR_MOBILE))
                parts.append((fixed.pattern, PhoneNumberType.FIXED_LINE))  # type: ignore[arg-type]
        if mobile is not None and not self.same:
            parts.append((mobile.pattern, PhoneNumberType.MOBILE))  # type: ignore[arg-type]
        if not parts:
            return None, {}
        groups: dict[int, int] = {}
        pieces = []
        index = 1
        for pattern, kind in parts:
            groups[index] = kind
            pieces.append(f"({pattern})")
            index += 1 + re.compile(pattern).groups
        joined = f"(?=(?:{general.pattern})\\Z)(?:{'|'.join(pieces)})"
        return re.compile(joined), groups

    def number_type(self, nsn: str) -> int:
        """phonenumbers' _number_type_helper, as one precompiled fullmatch."""
        length = len(nsn)
        compiled = self.by_length.get(length)
        if compiled is None:
            compiled = self.by_length[length] = self._compile(length)
        pattern, groups = compiled
        if pattern is None:
            return PhoneNumberType.UNKNOWN
        match = pattern.fullmatch(nsn)
        if match is None or match.lastindex is None:
            return PhoneNumberType.UNKNOWN
        return groups[match.lastindex]


@dataclass
class _Country:
    code: int
    regions: list[_Region]
    national_prefix: re.Pattern[str] | None
    country_zones: tuple[str, ...]
    zone_lengths: tuple[int, ...]
    transforms: bool


def _region(code: str) -> _Region | None:
    meta = PhoneMetadata.metadata_for_region(code, None)
    return None if meta is None else _Region(code, meta)


def _country_zones(cc: int) -> tuple[str, ...]:
    text = str(cc)
    for length in range(TIMEZONE_LONGEST_PREFIX, 0, -1):
        zones = TIMEZONE_DATA.get(text[: 1 + length])
        if zones is not None:
            return tuple(zones)
    return (UNKNOWN_TIMEZONE,)


_COUNTRIES: dict[int, _Country | None] = {}


def _country(cc: int) -> _Country | None:
    """Compiled metadata for a country calling code; None when only the slow path may answer."""
    if cc in _COUNTRIES:
        return _COUNTRIES[cc]
    codes = COUNTRY_CODE_TO_REGION_CODE.get(cc)
    country = None
    if codes and "001" not in codes:
        regions = [r for r in (_region(code) for code in codes) if r is not None]
        main = PhoneMetadata.metadata_for_region(phonenumbers.region_code_for_country_code(cc), None)
        if regions and main is not None:
            prefix = main.national_prefix_for_parsing
            text = str(cc)
            lengths = tuple(sorted({len(k) for k in TIMEZONE_DATA if k.startswith(text)}, reverse=True))
            country = _Country(
                cc,
                regions,
                re.compile(prefix) if prefix else None,
                _country_zones(cc),
                lengths,
                bool(main.national_prefix_transform_rule),
            )
    _COUNTRIES[cc] = country
    return country


_NO_ZONE = (UNKNOWN_TIMEZONE,)
# id of a zone tuple of the library's tables -> the same zones without the unknown marker. The tables
# live as long as the process, so their ids are stable keys, and a lookup costs less than the filter.
_KNOWN_ZONES: dict[int, tuple[str, ...]] = {}


def _known_zones(zones: tuple[str, ...]) -> tuple[str, ...]:
    found = _KNOWN_ZONES.get(id(zones))
    if found is None:
        found = _KNOWN_ZONES[id(zones)] = tuple(z for z in zones if z != UNKNOWN_TIMEZONE)
    return found


def _zones(e164: str, cc: int, kind: int, country: _Country) -> tuple[str, ...]:
    """phonenumbers.timezone.time_zones_for_number without the unknown marker."""
    if not (
        kind == PhoneNumberType.FIXED_LINE
        or kind == PhoneNumberType.FIXED_LINE_OR_MOBILE
        or (kind == PhoneNumberType.MOBILE and cc in _GEO_MOBILE_COUNTRIES)
    ):
        return _known_zones(country.country_zones)
    digits = e164[1:]
    for length in country.zone_lengths:
        found = TIMEZONE_DATA.get(digits[:length])
        if found is not None:
            return _known_zones(found)
    return ()


# "+" and the first three digits -> (country calling code, its length), as parse() extracts it.
_CC_PREFIX: dict[str, tuple[int, int]] = {}
for _n in range(1000):
    _digits = f"{_n:03d}"
    for _size in (1, 2, 3):
        if _digits[0] != "0" and int(_digits[:_size]) in COUNTRY_CODE_TO_REGION_CODE:
            _CC_PREFIX[_digits] = (int(_digits[:_size]), _size)
            break


def _fast(text: str) -> Classified | None | bool:
    """Classify a number already in E.164: the answer, False when invalid, None when unsure."""
    candidate = text if text.isascii() and text[1:].isdigit() else text.translate(_SEPARATORS)
    if not 4 <= len(candidate) <= 19 or not (candidate.isascii() and candidate[1:].isdigit()):
        return None
    found = _CC_PREFIX.get(candidate[1:4])
    if found is None:
        return None
    cc, size = found
    country = _country(cc)
    if country is None:
        return None
    nsn = candidate[1 + size :]
    if len(nsn) < 2:
        return None
    if country.national_prefix is not None:
        prefix = country.national_prefix.match(nsn)
        if prefix is not None:
            # parse() keeps either the digits as given or them without the national prefix. When neither
            # is a valid number the answer is "invalid" whichever it keeps; otherwise ask the library.
            if (
                country.transforms
                or _classify(cc, country, nsn)
                or _classify(cc, country, nsn[prefix.end() :])
            ):
                return None
            return False
    return _classify(cc, country, nsn)


def _classify(cc: int, country: _Country, nsn: str) -> Classified | bool:
    regions = country.regions
    region = regions[0]
    if len(regions) == 1:
        kind = region.number_type(nsn)
    else:  # the first region whose leading digits match, or else whose patterns know the number
        for region in regions:
            if region.leading is not None:
                if region.leading.match(nsn):
                    kind = region.number_type(nsn)
                    break
            else:
                kind = region.number_type(nsn)
                if kind != PhoneNumberType.UNKNOWN:
                    break
        else:
            return False
    if kind == PhoneNumberType.UNKNOWN:
        return False
    e164 = "+" + str(cc) + nsn
    return (e164, region.code, _TYPE_NAMES.get(kind, "unknown"), _zones(e164, cc, kind, country))


@dataclass
class _Home:
    """The default region's dialling rules, for numbers written in national format."""

    cc: str
    idd: re.Pattern[str] | None
    national_prefix: re.Pattern[str] | None


def _home(region: str | None) -> _Home | None:
    meta = PhoneMetadata.metadata_for_region(region, None) if region else None
    if meta is None or not meta.country_code:
        return None
    idd = meta.international_prefix
    prefix = meta.national_prefix_for_parsing
    return _Home(
        str(meta.country_code), re.compile(idd) if idd else None, re.compile(prefix) if prefix else None
    )


def _national(text: str, home: _Home) -> Classified | None | bool:
    """A national-format number that parse() would take digit for digit as the national number."""
    digits = text.translate(_SEPARATORS)
    if not (digits.isascii() and digits.isdigit()) or digits.startswith(home.cc):
        return None
    if (home.idd is not None and home.idd.match(digits)) or (
        home.national_prefix is not None and home.national_prefix.match(digits)
    ):
        return None  # an international prefix or a national prefix: let the library decide
    return _fast("+" + home.cc + digits)


class Classifier:
    """Classifies many numbers: the E.164 fast path first, then phonenumbers with a small cache."""

    def __init__(self, region: str | None = None, cache_size: int = 50_000):
        self.region = (region or "").upper() or None
        self._cache: dict[str, Classified | str] = {}
        self._cache_size = cache_size
        self._home = _home(self.region)

    def __call__(self, text: str) -> Classified | str:
        """(e164, region, type, zones) or a reason code: 'missing_phone' / 'invalid_phone'."""
        if not text:
            return "missing_phone"
        if text[0] == "+":
            found = _fast(text)
        elif self._home is not None:
            found = _national(text, self._home)
        else:
            found = None
        if found is False:
            return "invalid_phone"
        if found is not None and found is not True:
            return found
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        try:
            number = normalize(text, self.region)
            result: Classified | str = (number.e164, number.region, number.number_type, number.zones)
        except InvalidNumber as exc:
            result = exc.reason
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[text] = result
        return result
