"""The ЦОН desk's own database: operators, lookups in the state registries, scanned documents,
receipts (расписки) with their timeline, outbox and inbox."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import utcnow
from shared.db.types import UtcDateTime
from shared.messaging.models import InboxMixin, OutboxMixin


class Base(DeclarativeBase):
    pass


class Operator(Base):
    """A ЦОН operator ("process 1": logs in to the ARM of the ЦОН information system)."""

    __tablename__ = "operators"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(255))
    iin: Mapped[str] = mapped_column(String(12))
    region: Mapped[str] = mapped_column(String(32))
    office: Mapped[dict] = mapped_column(JSON)


class Lookup(Base):
    """What ГБД ФЛ / ГБД ЮЛ and ЕНИС answered for one applicant (and representative) — "process 3"."""

    __tablename__ = "lookups"

    lookup_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    operator: Mapped[str] = mapped_column(String(64), index=True)
    service_code: Mapped[str] = mapped_column(String(8))
    region: Mapped[str] = mapped_column(String(32))
    iin_bin: Mapped[str] = mapped_column(String(12))
    consent: Mapped[bool] = mapped_column(Boolean)
    applicant: Mapped[dict] = mapped_column(JSON)
    representative: Mapped[dict | None] = mapped_column(JSON)
    #: when the applicant took the queue ticket the operator called (the desk's clock; none: not called)
    queued_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    #: when the operator began to serve the applicant (process 2)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Attachment(Base):
    """A scanned paper document ("process 5")."""

    __tablename__ = "attachments"

    attachment_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    operator: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Receipt(Base):
    """A receipt (расписка) of acceptance, or a receipt of refusal to accept an incomplete package."""

    __tablename__ = "receipts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    #: "acceptance" or "refusal" (расписка об отказе в приеме документов)
    kind: Mapped[str] = mapped_column(String(16))
    request_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    nonce: Mapped[str | None] = mapped_column(String(64), unique=True)
    lookup_id: Mapped[str | None] = mapped_column(String(36))
    service_code: Mapped[str] = mapped_column(String(8))
    region: Mapped[str] = mapped_column(String(32))
    subtype: Mapped[str | None] = mapped_column(String(32))
    #: the whole receipt as issued (every field of the seeds)
    body: Mapped[dict] = mapped_column(JSON)
    applicant_iin_bin: Mapped[str] = mapped_column(String(12), index=True)
    operator: Mapped[str] = mapped_column(String(64))
    accepted_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    #: SUBMITTED → REGISTERED → IN_PROCESSING → COMPLETED / REFUSED → HANDED_OUT; NOT_ACCEPTED (refusal receipt)
    status: Mapped[str] = mapped_column(String(16))
    application_number: Mapped[str | None] = mapped_column(String(32))
    document: Mapped[dict | None] = mapped_column(JSON)
    signature: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict | None] = mapped_column(JSON)
    result_rejected: Mapped[str | None] = mapped_column(String(64))
    refusal_code: Mapped[str | None] = mapped_column(String(64))
    handed_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    handout: Mapped[dict | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ReceiptEvent(Base):
    __tablename__ = "receipt_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    receipt_id: Mapped[int] = mapped_column(Integer, index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16))
    step: Mapped[str | None] = mapped_column(String(128))
    actor: Mapped[str | None] = mapped_column(String(255))
    note: Mapped[str | None] = mapped_column(Text)


class OutboxMessage(OutboxMixin, Base):
    pass


class InboxMessage(InboxMixin, Base):
    pass
