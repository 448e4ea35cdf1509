"""Field validators built on python-stdnum / phonenumbers. Each returns the normalised
value or raises ValueError with a message fit for an API client (never echoing a national id).

Each value must first match its *_PATTERN, which the OpenAPI document publishes as the
field's `pattern` (ECMA and Python read these the same way): a value the pattern refuses is
always refused, so the document never promises more than the API accepts. The libraries then
check what a pattern cannot (checksums, dates, numbering plans)."""
import re

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fi import hetu as stdnum_hetu
from stdnum.fi import ytunnus as stdnum_ytunnus

PLATE_RE = re.compile(r"^([A-ZÅÄÖ]{1,3})([0-9]{1,3})$")
VIN_RE = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
OVT_RE = re.compile(r"^0037([0-9]{8})([0-9A-Z]{0,5})$")

NATIONAL_ID_PATTERN = r"^[0-9]{6}[-+A-FU-Ya-fu-y][0-9]{3}[0-9A-FHJ-NPR-Ya-fhj-npr-y]$"
BUSINESS_ID_PATTERN = r"^[0-9]{7}-?[0-9]$"
PHONE_PATTERN = r"^\+?[0-9][0-9 -]{4,20}$"
PLATE_PATTERN = r"^[A-Za-zÅÄÖåäö]{1,3}[- ]?[0-9]{1,3}$"
VIN_PATTERN = r"^[A-HJ-NPR-Za-hj-npr-z0-9]{17}$"
POSTAL_CODE_PATTERN = r"^[0-9]{5}$"
IBAN_PATTERN = r"^[A-Z]{2}[0-9]{2}( ?[A-Z0-9]){11,30}$"
OVT_PATTERN = r"^0037[ -]?[0-9]{7}[ -]?[0-9]([ -]?[0-9A-Za-z]{1,5})?$"


def _shaped(value, pattern: str, message: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(pattern, value):
        raise ValueError(message)
    return value


def national_id(value: str) -> str:
    """Finnish henkilötunnus incl. the 2023 century signs (A-F, U-Y); checksum verified."""
    message = "Not a valid Finnish personal identity code."
    try:
        return stdnum_hetu.validate(_shaped(value, NATIONAL_ID_PATTERN, message).upper())
    except StdnumError:
        raise ValueError(message) from None


def mask_national_id(value: str) -> str:
    """'131052-308T' -> '131052-****': birth date and century sign only."""
    return value[:7] + "****" if value else value


def business_id(value: str) -> str:
    """Y-tunnus, e.g. '0737546-2'; checksum verified."""
    message = "Not a valid Finnish business ID (Y-tunnus)."
    try:
        return stdnum_ytunnus.format(stdnum_ytunnus.validate(_shaped(value, BUSINESS_ID_PATTERN, message)))
    except StdnumError:
        raise ValueError(message) from None


def phone(value: str, region: str = "FI") -> str:
    """E.164 or national notation with spaces or hyphens -> E.164 ('+358401234567')."""
    try:
        parsed = phonenumbers.parse(_shaped(value, PHONE_PATTERN, "Not a valid phone number."), region)
    except phonenumbers.NumberParseException:
        raise ValueError("Not a valid phone number.") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("Not a valid phone number.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def registration_number(value: str) -> str:
    """Finnish plate normalised to 'ABC-123'."""
    message = "Not a valid Finnish registration number (e.g. ABC-123)."
    match = PLATE_RE.match(re.sub(r"[\s-]", "", _shaped(value, PLATE_PATTERN, message).upper()))
    if not match:
        raise ValueError("Not a valid Finnish registration number (e.g. ABC-123).")
    return f"{match.group(1)}-{match.group(2)}"


def vin(value: str) -> str:
    """17 characters, letters I, O and Q excluded (ISO 3779); no check digit (EU VINs lack it)."""
    message = "VIN must be 17 characters: digits and letters except I, O and Q."
    compact = _shaped(value, VIN_PATTERN, message).upper()
    if not VIN_RE.match(compact):
        raise ValueError(message)
    return compact


def postal_code(value: str) -> str:
    return _shaped(value, POSTAL_CODE_PATTERN, "Postal code must be 5 digits.")


def iban(value: str) -> str:
    try:
        return stdnum_iban.compact(stdnum_iban.validate(_shaped(value, IBAN_PATTERN, "Not a valid IBAN.")))
    except StdnumError:
        raise ValueError("Not a valid IBAN.") from None


def ovt(value: str) -> str:
    """Finnish e-invoice address: '0037' + Y-tunnus digits (checksum verified) + optional suffix."""
    message = "OVT must be 0037, the 8 digits of a Y-tunnus and an optional suffix."
    compact = re.sub(r"[\s-]", "", _shaped(value, OVT_PATTERN, message).upper())
    match = OVT_RE.match(compact)
    if not match:
        raise ValueError(message)
    business_id(match.group(1))
    return compact


UNSTORABLE_TEXT = "Contains a NUL character or invalid Unicode."
SURROGATE = re.compile("[\ud800-\udfff]")


def storable(value) -> bool:
    """False for text no database can store as such: NUL characters or lone surrogates
    (JSON allows both), anywhere inside lists and objects too."""
    if isinstance(value, str):
        return "\x00" not in value and not SURROGATE.search(value)
    if isinstance(value, dict):
        return all(storable(key) and storable(item) for key, item in value.items())
    if isinstance(value, list):
        return all(storable(item) for item in value)
    return True
