"""JSON as RFC 8785 (JCS) can canonicalise it: the canonical bytes, and a parser that refuses
what they cannot hold.

Everything the system signs is JCS of a JSON value, so a value JCS cannot represent can never
be signed or verified: ``NaN``, ``Infinity``, numbers that overflow a double (``1e400``) and
integers beyond ±(2^53 − 1) (I-JSON, RFC 7493). :func:`loads` refuses them at the door instead
of letting them fail deep inside (a 500).
"""
from __future__ import annotations

import json
import math
import re
from typing import Any

import rfc8785

#: the largest integer a JSON number holds exactly (I-JSON); rfc8785 refuses anything beyond
MAX_SAFE_INTEGER = 2**53 - 1


class NotCanonicalisable(json.JSONDecodeError):
    """The JSON text is not valid, or holds a value JCS cannot represent. A ``JSONDecodeError``,
    so that FastAPI reports it like any malformed body (a 422, never a 500)."""

    def __init__(self, msg: str):
        super().__init__(msg, "", 0)


def canonical(obj: Any) -> bytes:
    """RFC 8785 (JCS) canonical UTF-8 bytes of a JSON value.

    For a value without floats, big integers or non-BMP characters in object keys — every message
    and document of this system — JCS is exactly ``json.dumps`` with sorted keys, no spaces and
    UTF-8 (the same escapes, the same integer form, keys ordered by code point, which equals UTF-16
    order inside the BMP), three times faster than the general serialiser; anything else goes to
    ``rfc8785``, which also refuses what JCS cannot represent."""
    if _plain(obj):
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return rfc8785.dumps(obj)


def _plain(obj: Any) -> bool:
    """True when ``json.dumps`` gives the JCS form of ``obj`` (see :func:`canonical`)."""
    t = type(obj)
    if t is dict:
        return all(type(k) is str and (k.isascii() or _bmp(k)) and _plain(v) for k, v in obj.items())
    if t is list:
        return all(_plain(v) for v in obj)
    if t is int:
        return -MAX_SAFE_INTEGER <= obj <= MAX_SAFE_INTEGER
    return t is str or t is bool or obj is None


def _bmp(key: str) -> bool:
    return all(ord(c) <= 0xFFFF for c in key)


def _constant(name: str):
    raise NotCanonicalisable(f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NotCanonicalisable(f"{text} is out of range for a JSON number")
    return value


def _int(text: str) -> int:
    if len(text) > 17:  # cheap guard before int() of a huge digit string
        raise NotCanonicalisable("integer out of range (|n| ≤ 2^53 − 1)")
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise NotCanonicalisable(f"integer {text} out of range (|n| ≤ 2^53 − 1)")
    return value


#: a \\u escape of a UTF-16 surrogate: where a string may come out holding half a character
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def loads(raw: bytes | str) -> Any:
    """Parse JSON, refusing what JCS cannot canonicalise (raises :class:`NotCanonicalisable`): bytes
    that are not UTF-8, and strings holding a lone surrogate (``"\\udc80"``: not Unicode text, I-JSON
    §2.1), besides the numbers above."""
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, (bytes, bytearray)) else raw
        if text is raw:
            text.encode("utf-8")  # text given as str: it must be Unicode text too
        value = json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except NotCanonicalisable:
        raise
    except RecursionError:
        raise NotCanonicalisable("JSON nested too deeply") from None
    except (ValueError, TypeError) as exc:  # JSONDecodeError, bad UTF-8
        raise NotCanonicalisable(f"not JSON: {exc.msg if isinstance(exc, json.JSONDecodeError) else exc}") from None
    if _SURROGATE_ESCAPE.search(text) and not _unicode_text(value):
        raise NotCanonicalisable("a string holds a lone surrogate (not Unicode text)")
    return value


def _unicode_text(value: Any) -> bool:
    """Every string (and key) in ``value`` is UTF-8 encodable. A pair of surrogate escapes is one
    character once parsed; a lone one stays a surrogate, which no UTF-8 (nor JCS) can hold."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True
