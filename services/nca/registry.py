"""The nca's queries: the certificates the CA issued, the revocation registry, the CA operators.

Serials are keyed as lower-case hex without leading zeros. A serial is a positive integer of
at most 20 octets in DER (RFC 5280 §4.1.2.2), i.e. at most 159 bits: :func:`normalize_serial`
refuses anything else, so no such row is ever written here. Rows written some other way are
skipped, with a log line, by :func:`revocation_entries` and :func:`lookup` — a bad row can
never break the CRL or OCSP.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow

from .builders import RevokedEntry
from .models import PROFILES, REASONS, CaOperator, Certificate, Revocation

log = structlog.get_logger("nca")

#: a DER INTEGER of 20 octets holds a positive value of at most 159 bits
MAX_SERIAL_BITS = 159
#: longer input is not a serial, however it is spelt (``0x``, colons, leading zeros)
_MAX_SERIAL_TEXT = 128


def normalize_serial(serial: str | int) -> str:
    """A serial as the registry keys it: lower-case hex without leading zeros (``0x`` and ``:`` allowed).

    ValueError unless it is hex for a positive integer of at most 20 octets (RFC 5280 §4.1.2.2)."""
    if isinstance(serial, int):
        value = serial
    else:
        if len(serial) > _MAX_SERIAL_TEXT:
            raise ValueError("a certificate serial is at most 20 octets (RFC 5280 §4.1.2.2)")
        text = serial.strip().lower().replace(":", "")
        text = text[2:] if text.startswith("0x") else text
        if not text or not all(ch in "0123456789abcdef" for ch in text):
            raise ValueError("a certificate serial is written in hex")
        value = int(text, 16)
    if value <= 0:
        raise ValueError("a certificate serial is a positive integer")
    if value.bit_length() > MAX_SERIAL_BITS:
        raise ValueError("a certificate serial is at most 20 octets (RFC 5280 §4.1.2.2)")
    return format(value, "x")


# --- certificates ------------------------------------------------------------------------------


async def record_certificate(session: AsyncSession, cert: x509.Certificate,
                             profile: str = "other") -> tuple[Certificate, bool]:
    """Record a certificate the CA issued; returns (row, created). Recording it again keeps the first row.
    ValueError for a serial the registry cannot key or an unknown profile."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}")
    key = normalize_serial(cert.serial_number)
    existing = await session.get(Certificate, key)
    if existing is not None:
        return existing, False
    row = Certificate(serial=key, subject=cert.subject.rfc4514_string(), profile=profile,
                      not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
                      issued_at=utcnow().replace(microsecond=0),
                      der=cert.public_bytes(serialization.Encoding.DER))
    session.add(row)
    await session.flush()
    return row, True


async def find_certificate(session: AsyncSession, serial: str | int) -> Certificate | None:
    """The recorded certificate of ``serial`` (ValueError for a serial that cannot be one)."""
    return await session.get(Certificate, normalize_serial(serial))


async def recorded_serials(session: AsyncSession) -> set[str]:
    return set((await session.scalars(select(Certificate.serial))).all())


def certificate_dict(row: Certificate) -> dict:
    return {"serial_number": row.serial, "subject": row.subject, "profile": row.profile,
            "not_before": row.not_before.isoformat(), "not_after": row.not_after.isoformat(),
            "issued_at": row.issued_at.isoformat()}


# --- revocations -------------------------------------------------------------------------------


async def revoke(session: AsyncSession, serial: str | int, issuer: str, reason: str = "unspecified",
                 at: datetime | None = None) -> tuple[Revocation, bool]:
    """Record the revocation of ``serial``; returns (row, created). Revoking twice keeps the first record."""
    if reason not in REASONS:
        raise ValueError(f"reason must be one of {', '.join(REASONS)}")
    key = normalize_serial(serial)
    existing = await session.get(Revocation, key)
    if existing is not None:
        return existing, False
    row = Revocation(serial=key, issuer=issuer, revoked_at=(at or utcnow()).replace(microsecond=0), reason=reason)
    session.add(row)
    await session.flush()
    return row, True


async def lookup(session: AsyncSession, serial: int) -> RevokedEntry | None:
    """The revocation of ``serial``, or None when it is not revoked (or cannot be a serial of this CA)."""
    try:
        key = normalize_serial(serial)
    except ValueError:
        return None
    row = await session.get(Revocation, key)
    if row is None:
        return None
    try:
        return to_entry(row)
    except (ValueError, TypeError) as exc:
        log.error("unusable revocation row skipped", serial=str(row.serial)[:80], error=str(exc))
        return None


async def all_revocations(session: AsyncSession) -> list[Revocation]:
    return list((await session.scalars(select(Revocation).order_by(Revocation.revoked_at, Revocation.serial))).all())


async def revocation_entries(session: AsyncSession) -> list[RevokedEntry]:
    """Every usable revocation, once per serial, for the CRL. A row whose serial is not a serial
    (not hex, not positive, over 20 octets) is skipped and logged; an unknown reason is left out."""
    entries: dict[int, RevokedEntry] = {}
    for row in await all_revocations(session):
        try:
            entry = to_entry(row)
        except (ValueError, TypeError) as exc:
            log.error("unusable revocation row skipped", serial=str(row.serial)[:80], error=str(exc))
            continue
        entries.setdefault(entry.serial, entry)
    return list(entries.values())


def to_entry(row: Revocation) -> RevokedEntry:
    """The builders' view of a row; ValueError when the row cannot be used."""
    serial = int(normalize_serial(row.serial), 16)
    if row.revoked_at is None:
        raise ValueError("no revocation time")
    reason = row.reason
    if reason not in REASONS:
        log.warning("unknown revocation reason left out", serial=row.serial[:80], reason=str(reason)[:40])
        reason = "unspecified"
    return RevokedEntry(serial=serial, revoked_at=row.revoked_at, reason=reason)


def to_dict(row: Revocation) -> dict:
    return {"serial_number": row.serial, "issuer": row.issuer, "revoked_at": row.revoked_at.isoformat(),
            "reason": row.reason}


# --- CA operators ------------------------------------------------------------------------------


async def get_operator(session: AsyncSession, username: str) -> CaOperator | None:
    return await session.get(CaOperator, username)


async def set_operator(session: AsyncSession, username: str, password_hash: str) -> CaOperator:
    """Create the operator, or give it a new password hash (which lifts a lockout)."""
    row = await session.get(CaOperator, username)
    if row is None:
        row = CaOperator(username=username, password_hash=password_hash, failed_logins=0)
        session.add(row)
    else:
        row.password_hash, row.failed_logins, row.locked_until = password_hash, 0, None
    await session.flush()
    return row


async def operator_failed(session: AsyncSession, username: str, *, max_failed: int,
                          lockout: timedelta) -> None:
    """Count a failed attempt; the ``max_failed``-th in a row locks the operator for ``lockout``."""
    await session.execute(update(CaOperator).where(CaOperator.username == username)
                          .values(failed_logins=CaOperator.failed_logins + 1))
    row = await session.get(CaOperator, username, populate_existing=True)
    if row is not None and row.failed_logins >= max_failed:
        row.locked_until = utcnow() + lockout
        row.failed_logins = 0


async def operator_succeeded(session: AsyncSession, username: str) -> None:
    await session.execute(update(CaOperator).where(CaOperator.username == username)
                          .values(failed_logins=0, locked_until=None))
