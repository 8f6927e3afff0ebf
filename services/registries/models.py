"""The state registries the gateway's sync channel reaches: ГБД ФЛ, ГБД ЮЛ, ЕНИС, ПШЭП."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import utcnow
from shared.db.types import UtcDateTime


class Base(DeclarativeBase):
    pass


class Person(Base):
    """ГБД ФЛ — an individual, by IIN."""

    __tablename__ = "persons"

    iin: Mapped[str] = mapped_column(String(12), primary_key=True)
    surname: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    patronymic: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    #: the identity document (удостоверение личности) number
    document_number: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Organisation(Base):
    """ГБД ЮЛ — a legal entity, by BIN."""

    __tablename__ = "organisations"

    bin: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    head_iin: Mapped[str] = mapped_column(String(12))
    head_name: Mapped[str] = mapped_column(String(300))
    address: Mapped[str] = mapped_column(Text)
    #: ACTIVE, LIQUIDATED, SUSPENDED
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class PowerOfAttorney(Base):
    """ЕНИС — a notarised power of attorney."""

    __tablename__ = "powers_of_attorney"

    number: Mapped[str] = mapped_column(String(32), primary_key=True)
    principal_iin_bin: Mapped[str] = mapped_column(String(12), index=True)
    representative_iin: Mapped[str] = mapped_column(String(12), index=True)
    #: service codes it covers (["S1", "S2"]) or ["all"]
    scope: Mapped[list] = mapped_column(JSON)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    notary: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Payment(Base):
    """ПШЭП — a payment fact: a payer (IIN/BIN) paid an amount for a service."""

    __tablename__ = "payments"

    payment_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    payer_iin_bin: Mapped[str] = mapped_column(String(12), index=True)
    service_code: Mapped[str] = mapped_column(String(8))
    region: Mapped[str | None] = mapped_column(String(32))
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="KZT")
    status: Mapped[str] = mapped_column(String(16), default="PAID")
    #: the idempotency key: the sync call's messageId (a redelivered call records nothing twice)
    request_key: Mapped[str] = mapped_column(String(64), unique=True)
    #: the system that sent the payment (the portal), or "admin"
    source: Mapped[str] = mapped_column(String(64))
    paid_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
