"""The revocation registry: revoke a serial, look one up, list them all."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow

from .builders import RevokedEntry
from .models import REASONS, Revocation


def normalize_serial(serial: str | int) -> str:
    """A serial as the registry keys it: lower-case hex without leading zeros (``0x`` and ``:`` allowed)."""
    if isinstance(serial, int):
        value = serial
    else:
        text = serial.strip().lower().replace(":", "")
        text = text[2:] if text.startswith("0x") else text
        value = int(text, 16)  # ValueError on anything that is not hex
    if value <= 0:
        raise ValueError("a certificate serial is a positive integer")
    return format(value, "x")


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
    """The revocation of ``serial``, or None when it is not revoked."""
    row = await session.get(Revocation, normalize_serial(serial))
    return None if row is None else to_entry(row)


async def all_revocations(session: AsyncSession) -> list[Revocation]:
    return list((await session.scalars(select(Revocation).order_by(Revocation.revoked_at, Revocation.serial))).all())


def to_entry(row: Revocation) -> RevokedEntry:
    return RevokedEntry(serial=int(row.serial, 16), revoked_at=row.revoked_at, reason=row.reason)


def to_dict(row: Revocation) -> dict:
    return {"serial_number": row.serial, "issuer": row.issuer, "revoked_at": row.revoked_at.isoformat(),
            "reason": row.reason}
