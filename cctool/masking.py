"""Masking personal data in exports: numbers keep country code, first three and last four digits."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE


def _split_e164(e164: str) -> tuple[str, str] | None:
    """(country code, national number) of a well-formed E.164 text, without a full parse.

    Country codes are prefix-free, so the first prefix of 1-3 digits that is one is the one. This is the
    export's hot path (a million numbers); anything unusual goes to phonenumbers.
    """
    digits = e164[1:]
    if not (e164.startswith("+") and digits.isdigit() and 8 <= len(e164) <= 16):
        return None
    for length in (1, 2, 3):
        if int(digits[:length]) in COUNTRY_CODE_TO_REGION_CODE:
            return digits[:length], digits[length:]
    return None


def mask_phone(e164: str | None) -> str:
    """'+8613800135678' -> '+86 138****5678'; '+12125550123' -> '+1 212***0123'."""
    if not e164:
        return ""
    split = _split_e164(e164)
    if split is not None:
        cc, nsn = split
    else:
        try:
            number = phonenumbers.parse(e164, None)
            cc, nsn = str(number.country_code), phonenumbers.national_significant_number(number)
        except phonenumbers.NumberParseException:
            cc, nsn = "", e164.lstrip("+")
    keep_head, keep_tail = (3, 4) if len(nsn) >= 9 else (2, 2)
    hidden = max(len(nsn) - keep_head - keep_tail, 1)
    masked = nsn[:keep_head] + "*" * hidden + nsn[-keep_tail:]
    return f"+{cc} {masked}" if cc else masked


def mask_name(name: str | None) -> str:
    """A name reduced to its initial: 'John Smith' -> 'J.', '张伟' -> '张.'."""
    name = (name or "").strip()
    return f"{name[0]}." if name else ""


class PhoneRef:
    """A keyed hash that links rows about one number inside one export without revealing it.

    The key is random per export and never written, so the reference cannot be reversed by hashing
    every possible number, and references from two exports cannot be joined.
    """

    def __init__(self, key: bytes):
        self._key = key

    def __call__(self, e164: str | None) -> str:
        if not e164:
            return ""
        # BLAKE2b in its keyed mode is a MAC (RFC 7693), and several times faster than HMAC-SHA256.
        return hashlib.blake2b(e164.encode(), key=self._key, digest_size=10).hexdigest()


# A number inside free text, as people write one: `+1 (646) 555 0100`, `718 675 1303`, `(718) 555-0142`,
# `+8613800138000`, `tel:13800138000`: digits with spaces, dots, dashes or brackets between them. Not a
# date (`2026-12-02`), nor part of a time or a word (`05:36:17.936876`, `form-4711`, hex).
_NUMBER_IN_TEXT = re.compile(r"(?<![\w.+\-])(?<!\d:)\+?\(?\d[\d \u00a0().\-]*\d(?![\w])")
_DATE_START = re.compile(r"\d{4}-\d{2}-\d{2}")


def mask_numbers_in_text(text: str) -> str:
    """Free text with every phone number in it masked: an E.164 one as `mask_phone` does, any other
    written form of 7 to 15 digits down to its last four (`718 675 1303` -> `******1303`)."""
    return _NUMBER_IN_TEXT.sub(_mask_match, text)


def _mask_match(match: re.Match[str]) -> str:
    found = match.group(0)
    digits = "".join(ch for ch in found if ch.isdigit())
    if not 7 <= len(digits) <= 15 or _DATE_START.match(found):
        return found
    if found.startswith("+"):
        return mask_phone("+" + digits)
    return "*" * (len(digits) - 4) + digits[-4:]


def mask_numbers_in_payload(payload: str) -> str:
    """An audit row's JSON payload with the numbers in its texts masked; its JSON numbers (counts, ids,
    rates) are not phone numbers and stay as they are. Unchanged payloads keep their exact text."""
    try:
        document = json.loads(payload)
    except ValueError:
        return mask_numbers_in_text(payload)
    masked = _mask_strings(document)
    if masked == document:
        return payload
    return json.dumps(masked, ensure_ascii=False, separators=(",", ":"))


def _mask_strings(value: Any) -> Any:
    if isinstance(value, str):
        return mask_numbers_in_text(value)
    if isinstance(value, list):
        return [_mask_strings(v) for v in value]
    if isinstance(value, dict):
        return {k: _mask_strings(v) for k, v in value.items()}
    return value
