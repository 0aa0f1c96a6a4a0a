"""The registry fast path accepts only what phonenumbers calls valid, with the same E.164 form."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cctool import registry_file
from cctool.phones import InvalidNumber, normalize

REGIONS = {"US": 1, "CA": 1, "GB": 44, "CN": 86, "DE": 49, "FR": 33, "IT": 39, "IN": 91}


def slow(line: str, region: str | None) -> str | None:
    try:
        return normalize(line, region).e164
    except InvalidNumber:
        return None


def examples(region: str) -> list[str]:
    found = []
    for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
        number = phonenumbers.example_number_for_type(region, kind)
        if number is not None:
            found.append(str(number.national_number))
    return found


@st.composite
def registry_lines(draw):
    region = draw(st.sampled_from(sorted(REGIONS)))
    code = REGIONS[region]
    seeds = examples(region)
    lines = []
    for _ in range(draw(st.integers(min_value=1, max_value=30))):
        if seeds and draw(st.booleans()):
            seed = draw(st.sampled_from(seeds))
            tail = draw(st.text("0123456789", min_size=4, max_size=4))
            national = seed[:-4] + tail
        else:
            national = draw(st.text("0123456789", min_size=5, max_size=13))
        form = draw(st.sampled_from(["e164", "national", "trunk", "spaced"]))
        lines.append(
            {
                "e164": f"+{code}{national}",
                "national": national,
                "trunk": "0" + national,
                "spaced": f"+{code} {national}",
            }[form]
        )
    return region, lines


@settings(max_examples=150, deadline=None)
@given(sample=registry_lines(), with_region=st.booleans())
def test_every_line_ends_as_phonenumbers_would_have_it(sample, with_region: bool) -> None:
    region, lines = sample
    used = region if with_region else None
    parsed = registry_file.parse_lines("\n".join(lines) + "\n", used)
    expected = [slow(line, used) for line in lines]
    assert sorted(parsed.numbers) == sorted(e for e in expected if e)
    assert parsed.invalid == sum(1 for e in expected if e is None)
    assert parsed.lines == len(lines)


def test_plain_e164_and_national_digits_take_the_fast_path() -> None:
    lines = ["+12125550123", "2125550142", "12125550187", " +1 212 555 0199"]
    parsed = registry_file.parse_lines("\n".join(lines), "US")
    assert sorted(parsed.numbers) == ["+12125550123", "+12125550142", "+12125550187", "+12125550199"]
    assert parsed.fast == 3  # the spaced one went through phonenumbers


@pytest.mark.parametrize("code", sorted(set(REGIONS.values())))
def test_the_fast_pattern_has_exactly_its_own_groups(code: int) -> None:
    pattern = registry_file.fast_pattern((code,), None)
    assert pattern is not None and pattern.groups == 3


def test_a_big_file_parsed_on_two_cores_gives_the_same_numbers() -> None:
    lines = [f"+1212555{i % 10000:04d}" if i % 3 else f"212555{i % 10000:04d}" for i in range(3000)]
    lines[1500] = "(212) 555-0199"
    lines[2000] = "junk"
    text = "\n".join(lines) + "\n"
    serial = registry_file.parse_lines(text, "US")
    parallel = registry_file.parse_in_two(text, "US")
    assert sorted(parallel.numbers) == sorted(serial.numbers)
    assert (parallel.lines, parallel.invalid, parallel.accepted) == (3000, 1, 2999)
    assert len(parallel.arrays) >= 2


def test_a_file_mixing_countries_matches_phonenumbers_line_by_line() -> None:
    lines = ["+12125550123", "+442079460018", "+8613800138000", "+4930123456", "+33142685300", "+9999", "+1"]
    lines += ["+447700900123", "+861012345678", "+12125550199", "+390612345678", "+8613800138000"]
    parsed = registry_file.parse_lines("\n".join(lines), None)
    expected = [slow(line, None) for line in lines]
    assert sorted(parsed.numbers) == sorted(e for e in expected if e)
    assert parsed.invalid == expected.count(None)
