"""Masking personal data in exports: numbers keep country code, first three and last four digits."""

from __future__ import annotations

import hashlib

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
