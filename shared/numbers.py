"""Registry numbers that cannot be guessed: a permit's number is the holder's to give, and the public
registry answers only for a number someone was given.

``ITI-ALA-2026-7K3MQ-9QXR0-C``: the prefix and year, then 50 random bits in Crockford's base32
(no I, L, O, U: nothing to misread), then Crockford's check symbol (mod 37), so a mistyped
number is told apart from an unknown one.
"""
from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_SYMBOLS = ALPHABET + "*~$=U"


def _check(value: int) -> str:
    return CHECK_SYMBOLS[value % 37]


def registry_number(prefix: str, year: int) -> str:
    value = secrets.randbits(50)
    digits = "".join(ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(10)))
    return f"{prefix}-{year}-{digits[:5]}-{digits[5:]}-{_check(value)}"


def is_well_formed(number: str) -> bool:
    """The random part decodes and its check symbol matches (a typo is caught before any lookup)."""
    try:
        *_, first, second, check = number.split("-")
        digits = first + second
        if len(digits) != 10:
            return False
        value = 0
        for ch in digits:
            value = value * 32 + ALPHABET.index(ch)
    except ValueError:
        return False
    return check == _check(value)
