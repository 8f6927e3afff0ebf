"""IIN and BIN: Kazakhstan's 12-digit individual and business identification numbers.

Layout (REFERENCE.md §5):

* IIN = ``YYMMDD`` birth date + century/sex digit + 4-digit serial + check digit.
  Century/sex digit: 1/2 = male/female born in the 1800s, 3/4 = 1900s, 5/6 = 2000s.
* BIN = ``YYMM`` of registration + entity-type digit (4 resident legal entity,
  5 non-resident, 6 joint individual entrepreneurship) + kind digit (0 head
  organisation, 1 branch, 2 representative office, 3 peasant farm) + 5-digit
  serial + check digit.
* Check digit (both): ``s = Σ dᵢ·i`` over the first 11 digits (weights 1..11),
  ``c = s mod 11``; if ``c == 10`` recompute with weights 3,4,5,6,7,8,9,10,11,1,2;
  if still 10 the number is invalid; otherwise it is valid iff ``c`` equals the
  12th digit.

Every refusal is ``ApiError("IIN_BIN_INVALID", detail=...)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.errors import ApiError

_WEIGHTS_1 = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
_WEIGHTS_2 = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)

BIN_ENTITY_TYPES = {4: "resident legal entity", 5: "non-resident", 6: "joint individual entrepreneurship"}
BIN_KINDS = {0: "head organisation", 1: "branch", 2: "representative office", 3: "peasant farm"}


@dataclass(frozen=True)
class IinInfo:
    iin: str
    birth_date: date
    sex: str  # "M" or "F"
    century: int  # 1800, 1900 or 2000


@dataclass(frozen=True)
class BinInfo:
    bin: str
    registration_yy: int  # two-digit year as written in the number
    registration_month: int
    entity_type: int  # 4, 5 or 6 (see BIN_ENTITY_TYPES)
    kind: int  # 0..3 (see BIN_KINDS)


def _is_12_digits(value: object) -> bool:
    return isinstance(value, str) and len(value) == 12 and value.isascii() and value.isdigit()


def _check_digit(first11: str) -> int | None:
    """The check digit for 11 leading digits, or None when no digit is possible."""
    digits = [int(ch) for ch in first11]
    for weights in (_WEIGHTS_1, _WEIGHTS_2):
        c = sum(d * w for d, w in zip(digits, weights)) % 11
        if c != 10:
            return c
    return None


def check_digit_ok(number: str) -> bool:
    """True iff ``number`` is 12 ASCII digits with a correct check digit."""
    if not _is_12_digits(number):
        return False
    return _check_digit(number[:11]) == int(number[11])


def _invalid(detail: str) -> ApiError:
    return ApiError("IIN_BIN_INVALID", detail=detail)


def _require_checksum(value: str, what: str) -> None:
    if not _is_12_digits(value):
        raise _invalid(f"{what} must be exactly 12 digits")
    if not check_digit_ok(value):
        raise _invalid(f"{what} check digit is wrong")


def validate_iin(value: str) -> IinInfo:
    """Parse a valid IIN or raise ``ApiError("IIN_BIN_INVALID")``."""
    _require_checksum(value, "IIN")
    cs = int(value[6])
    if not 1 <= cs <= 6:
        raise _invalid("IIN century/sex digit (7th) must be 1..6")
    century = 1800 + (cs - 1) // 2 * 100
    try:
        birth = date(century + int(value[0:2]), int(value[2:4]), int(value[4:6]))
    except ValueError:
        raise _invalid("IIN birth date (YYMMDD) is not a real date") from None
    return IinInfo(iin=value, birth_date=birth, sex="M" if cs % 2 else "F", century=century)


def validate_bin(value: str) -> BinInfo:
    """Parse a valid BIN or raise ``ApiError("IIN_BIN_INVALID")``."""
    _require_checksum(value, "BIN")
    month, entity_type, kind = int(value[2:4]), int(value[4]), int(value[5])
    if not 1 <= month <= 12:
        raise _invalid("BIN registration month (digits 3-4) must be 01..12")
    if entity_type not in BIN_ENTITY_TYPES:
        raise _invalid("BIN entity-type digit (5th) must be 4, 5 or 6")
    if kind not in BIN_KINDS:
        raise _invalid("BIN kind digit (6th) must be 0..3")
    return BinInfo(
        bin=value, registration_yy=int(value[0:2]), registration_month=month,
        entity_type=entity_type, kind=kind,
    )


def validate_iin_or_bin(value: str) -> str:
    """Return ``"IIN"`` or ``"BIN"`` for a valid number, else raise IIN_BIN_INVALID.

    Rule: the number is an IIN when it passes :func:`validate_iin` (7th digit is
    the century/sex digit 1..6 and digits 1-6 are a real date, so digit 5 — the
    first digit of the day — is 0..3); otherwise it is a BIN when it passes
    :func:`validate_bin` (5th digit 4/5/6, 6th digit 0..3, month 01..12).
    Because an IIN's 5th digit is 0..3 and a BIN's is 4..6, no number can pass
    both; IIN is tried first all the same.
    """
    try:
        validate_iin(value)
        return "IIN"
    except ApiError as iin_error:
        try:
            validate_bin(value)
            return "BIN"
        except ApiError as bin_error:
            raise _invalid(f"neither an IIN ({iin_error.detail}) nor a BIN ({bin_error.detail})") from None


def _complete(prefix: str, serial: int, width: int) -> str:
    """Append the first serial >= ``serial`` that admits a check digit, and that digit."""
    if serial < 0:
        raise ValueError("serial must be non-negative")
    while serial < 10**width:
        first11 = prefix + f"{serial:0{width}d}"
        c = _check_digit(first11)
        if c is not None:
            return first11 + str(c)
        serial += 1
    raise ValueError(f"no valid number with serial in range for prefix {prefix}")


def make_iin(birth: date, sex: str, serial: int) -> str:
    """Build a valid IIN; the serial (0..9999) is advanced if no check digit fits."""
    if sex not in ("M", "F"):
        raise ValueError("sex must be 'M' or 'F'")
    if not 1800 <= birth.year <= 2099:
        raise ValueError("birth year must be 1800..2099")
    cs = (birth.year - 1800) // 100 * 2 + (1 if sex == "M" else 2)
    return _complete(f"{birth.year % 100:02d}{birth.month:02d}{birth.day:02d}{cs}", serial, 4)


def make_bin(year: int, month: int, entity_type: int = 4, kind: int = 0, serial: int = 1) -> str:
    """Build a valid BIN; ``year`` may be 4- or 2-digit (only ``year % 100`` is kept).

    The serial (0..99999) is advanced if no check digit fits.
    """
    if not 1 <= month <= 12:
        raise ValueError("month must be 1..12")
    if entity_type not in BIN_ENTITY_TYPES or kind not in BIN_KINDS:
        raise ValueError("entity_type must be 4/5/6 and kind 0..3")
    return _complete(f"{year % 100:02d}{month:02d}{entity_type}{kind}", serial, 5)


def random_iin(sex: str = "F", birth: date | None = None) -> str:
    """A valid IIN of a random (or the given) birth date and a random serial: a fresh test person
    (the space is large enough that two in one test run practically never meet)."""
    import random

    rnd = random.SystemRandom()
    day = birth or date(rnd.randint(1950, 2005), rnd.randint(1, 12), rnd.randint(1, 28))
    return make_iin(day, sex, rnd.randint(0, 9000))
