"""Phone numbers: E.164 everywhere, with type and the time zones the number maps to (phonenumbers)."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType, timezone

from .errors import UsageError, UserError

_TYPE_NAMES = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "fixed",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
    PhoneNumberType.UNKNOWN: "unknown",
}
_NO_ZONE = timezone.UNKNOWN_TIMEZONE


@dataclass(frozen=True)
class Number:
    e164: str
    region: str | None
    number_type: str
    zones: tuple[str, ...]


class InvalidNumber(ValueError):
    """The text is not a valid phone number; `reason` is `missing_phone` or `invalid_phone`."""

    def __init__(self, reason: str, text: str):
        super().__init__(f"{reason}: {text!r}")
        self.reason = reason


def normalize(text: str, region: str | None = None) -> Number:
    """Parse, validate and describe a number given in any common format."""
    raw = (text or "").strip()
    if not raw:
        raise InvalidNumber("missing_phone", raw)
    try:
        parsed = phonenumbers.parse(raw, (region or "").upper() or None)
    except phonenumbers.NumberParseException:
        raise InvalidNumber("invalid_phone", raw) from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumber("invalid_phone", raw)
    zones = tuple(z for z in timezone.time_zones_for_number(parsed) if z != _NO_ZONE)
    return Number(
        e164=phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
        region=phonenumbers.region_code_for_number(parsed),
        number_type=_TYPE_NAMES.get(phonenumbers.number_type(parsed), "unknown"),
        zones=zones,
    )


# Codes people type that are not ISO 3166 (phonenumbers knows the country under another code).
NOT_ISO = {"UK": "GB", "EN": "GB", "USA": "US", "CHN": "CN", "PRC": "CN", "EL": "GR"}
NUMBER_TYPES = tuple(dict.fromkeys(_TYPE_NAMES.values()))


def region_code(text: str | None, what: str = "--region") -> str | None:
    """A country code a user gave (`--region gb`), upper-cased, or a usage error naming it: an unknown
    code would otherwise make every national number 'invalid' without saying why."""
    if text is None or not text.strip():
        return None
    hint = unknown_region(text)
    if hint is None:
        return text.strip().upper()
    raise UsageError(f"{what} {text!r} is not a two-letter country code phonenumbers knows: {hint}")


def unknown_region(text: str) -> str | None:
    """None for a country code phonenumbers knows (any case), else what to give instead."""
    code = text.strip().upper()
    if code in phonenumbers.SUPPORTED_REGIONS:
        return None
    better = NOT_ISO.get(code)
    return f"did you mean {better}?" if better else "use an ISO code such as US, GB or CN"


def e164(text: str, region: str | None = None) -> str:
    """The E.164 form of a number a user typed on the command line, or a one-line UserError."""
    region = region_code(region)
    try:
        return normalize(text, region).e164
    except InvalidNumber:
        hint = (
            ": check it for a typo"
            if (text or "").strip().startswith("+")
            else " (use +country format or give --region)"
        )
        raise UserError(f"phone number {text!r} is not a valid number{hint}") from None
