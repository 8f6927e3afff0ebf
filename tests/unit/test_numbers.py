"""Registry numbers (``shared/numbers.py``) and the JSON parser every body goes through (``shared/jcs.loads``)."""
from __future__ import annotations

import json
import re

import pytest

from shared import jcs
from shared.numbers import ALPHABET, is_well_formed, registry_number

NUMBER = re.compile(r"^ITI-ALA-2026-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z*~$=U]$")


def test_a_number_has_its_form_and_its_check_symbol():
    numbers = {registry_number("ITI-ALA", 2026) for _ in range(2000)}
    assert len(numbers) == 2000  # 50 random bits: no sequence to guess, no repeat in practice
    for n in numbers:
        assert NUMBER.match(n) and is_well_formed(n), n
    assert not set("ILOU") & set("".join(n.split("-")[3] + n.split("-")[4] for n in numbers))


def _random_part(number: str) -> list[int]:
    """Where the ten random symbols are in the number."""
    return [i for i, ch in enumerate(number) if i > len("ITI-ALA-2026-") - 1 and ch != "-"][:10]


def test_every_single_typo_and_every_swap_of_neighbours_is_caught():
    for _ in range(20):
        number = registry_number("ITI-ALA", 2026)
        places = _random_part(number)
        for i in places:
            for ch in ALPHABET:
                if ch != number[i]:
                    typo = number[:i] + ch + number[i + 1:]
                    assert not is_well_formed(typo), (number, typo)
        for i, j in zip(places, places[1:]):
            if number[i] != number[j] and j == i + 1:
                swapped = number[:i] + number[j] + number[i] + number[j + 1:]
                assert not is_well_formed(swapped), (number, swapped)


@pytest.mark.parametrize("bad", [
    "", "-", "ITI-ALA-2026", "ITI-ALA-2026-7K3MQ-9QXR-C", "ITI-ALA-2026-7K3MQ-9QXR00-C",
    "ITI-ALA-2026-7K3MO-9QXR0-C",  # O is not a symbol of the alphabet
    "ITI-ALA-2026-7k3mq-9qxr0-C",  # nor are small letters
    "ITI-ALA-2026-7K3MQ-9QXR0-CC", "1", "x" * 64,
])
def test_what_is_not_a_number_is_not_well_formed(bad):
    assert not is_well_formed(bad)


# --- shared.jcs.loads ---------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    b"NaN", b"Infinity", b"-Infinity", b'{"n": NaN}', b"[1e400]", b"-1e400",
    str(2**53).encode(), str(-(2**53)).encode(), str(2**63).encode(), b"1" * 100_000,
    b"[" * 100_000 + b"]" * 100_000,
    b'"\xed\xb2\x80"', b'"\xff"',                    # not UTF-8
    b'{"s": "\\udc80"}', b'{"\\ud800": 1}', b'["\\ude00\\ud83d"]',  # lone (or reversed) surrogates
    b"", b"{", b"{'a': 1}", b"[1,]",
])
def test_loads_refuses_what_jcs_cannot_hold(raw):
    with pytest.raises(jcs.NotCanonicalisable):
        jcs.loads(raw)


def test_the_refusal_is_a_json_decode_error():
    """So that FastAPI answers it as a malformed body (422 FORM_INVALID), never a 500."""
    with pytest.raises(json.JSONDecodeError):
        jcs.loads(b"[NaN]")


@pytest.mark.parametrize("raw, value", [
    (str(2**53 - 1).encode(), 2**53 - 1), (str(-(2**53 - 1)).encode(), -(2**53 - 1)),
    (b"1.5", 1.5), (b"1e308", 1e308), (b"-0", 0), (b"[]", []),
    (b'{"a": {"b": [true, false, null]}}', {"a": {"b": [True, False, None]}}),
    ('{"имя": "Әлия"}'.encode(), {"имя": "Әлия"}),
    (b'["\\ud83d\\ude00"]', ["\U0001F600"]),  # a surrogate pair is one character
    (b'\xef\xbb\xbf{"a": 1}', {"a": 1}),
    ('{"a": 1}', {"a": 1}),
])
def test_loads_takes_what_jcs_can_hold_and_canonicalises_it(raw, value):
    assert jcs.loads(raw) == value
    jcs.canonical(jcs.loads(raw))  # and whatever it takes, JCS can write


def test_a_huge_digit_string_is_refused_at_once():
    import time

    started = time.perf_counter()
    with pytest.raises(jcs.NotCanonicalisable):
        jcs.loads(b"9" * 1_000_000)
    assert time.perf_counter() - started < 1  # never int() of a million digits
