"""Merkle trees as RFC 9162 §2.1 has them: roots, inclusion paths, and their check."""
from __future__ import annotations

import hashlib
from typing import Sequence

import structlog




log = structlog.get_logger("message_log")




def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _mth(leaves: Sequence[bytes], lo: int, hi: int) -> bytes:
    n = hi - lo
    if n == 1:
        return leaf_hash(leaves[lo])
    k = _split(n)
    return node_hash(_mth(leaves, lo, lo + k), _mth(leaves, lo + k, hi))


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 over the leaves' data (here: record hashes, 32 bytes each)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    return _mth(leaves, 0, len(leaves))


def inclusion_path(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1: the audit path of leaf ``index``, bottom up."""
    if not 0 <= index < len(leaves):
        raise IndexError(index)
    path: list[bytes] = []

    def walk(m: int, lo: int, hi: int) -> None:
        n = hi - lo
        if n == 1:
            return
        k = _split(n)
        if m < k:
            walk(m, lo, lo + k)
            path.append(_mth(leaves, lo + k, hi))
        else:
            walk(m - k, lo + k, hi)
            path.append(_mth(leaves, lo, lo + k))

    walk(index, 0, len(leaves))
    return path


def verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does ``path`` prove ``leaf`` at ``index`` of a tree of ``size`` with ``root``?"""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf_hash(leaf)
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


