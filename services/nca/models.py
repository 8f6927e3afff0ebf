"""The nca's own database: the certificates the CA issued, the revocation registry and the
CA operators' credentials."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import utcnow
from shared.db.types import UtcDateTime

#: the CRL reason codes (RFC 5280 §5.3.1) the registry accepts
REASONS = ("keyCompromise", "cessationOfOperation", "superseded", "affiliationChanged", "unspecified")

#: what a recorded certificate is (``other``: recorded from a file the НУЦ did not classify)
PROFILES = ("individual", "employee", "system", "tsa", "other")


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


class Certificate(Base):
    """A certificate the issuing CA signed: through the API, offline by ``egov pki issue``, or at
    bootstrap (systems, demo people, the TSA). Revocation by serial needs the serial here."""

    __tablename__ = "certificates"

    #: lower-case hex without leading zeros; a serial is at most 20 octets (RFC 5280 §4.1.2.2)
    serial: Mapped[str] = mapped_column(String(40), primary_key=True)
    #: the subject DN (RFC 4514)
    subject: Mapped[str] = mapped_column(Text)
    profile: Mapped[str] = mapped_column(String(16))
    not_before: Mapped[datetime] = mapped_column(UtcDateTime())
    not_after: Mapped[datetime] = mapped_column(UtcDateTime())
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    der: Mapped[bytes] = mapped_column(LargeBinary)


class CaOperator(Base):
    """Someone allowed to issue and revoke through the API: an argon2 hash of the password
    (the password itself is in ``<data dir>/secrets/``), and the lockout after failed attempts."""

    __tablename__ = "ca_operators"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
