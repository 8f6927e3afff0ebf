"""The nca's own database: the registry of revoked certificates."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import utcnow
from shared.db.types import UtcDateTime

#: the CRL reason codes (RFC 5280 §5.3.1) the registry accepts
REASONS = ("keyCompromise", "cessationOfOperation", "superseded", "affiliationChanged", "unspecified")


class Base(DeclarativeBase):
    pass


class Revocation(Base):
    """One revoked certificate of the issuing CA: its serial (lower-case hex, no leading zeros)."""

    __tablename__ = "revocations"

    serial: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: the issuer's DN (RFC 4514), for the record
    issuer: Mapped[str] = mapped_column(String(512))
    revoked_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    reason: Mapped[str] = mapped_column(String(32))
