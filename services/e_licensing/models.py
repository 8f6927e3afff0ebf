"""ИС ГБД «Е-лицензирование»: registered applications and the registry of permits issued."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import utcnow
from shared.db.types import UtcDateTime
from shared.messaging.models import InboxMixin, OutboxMixin


class Base(DeclarativeBase):
    pass


class Application(Base):
    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    request_id: Mapped[str] = mapped_column(String(36), unique=True)  # = correlationId
    service_code: Mapped[str] = mapped_column(String(8))
    region: Mapped[str] = mapped_column(String(32))
    subtype: Mapped[str] = mapped_column(String(32))
    applicant_iin_bin: Mapped[str] = mapped_column(String(12), index=True)
    document: Mapped[dict] = mapped_column(JSON)
    signature: Mapped[str] = mapped_column(Text)
    signer: Mapped[dict] = mapped_column(JSON)
    #: the payment fact as ПШЭП answered it ("condition 2")
    payment: Mapped[dict | None] = mapped_column(JSON)
    #: the ПШЭП payment this application used (one payment pays for one application)
    payment_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    #: the catalogue code of a refusal decided by ИС ГБД ЕЛ itself (ECP_*, PAYMENT_NOT_FOUND, LICENCE_NOT_FOUND)
    refusal_code: Mapped[str | None] = mapped_column(String(64))
    #: "portal", or "con": accepted at a ЦОН desk, signed by its operator; statuses and the result go back there
    channel: Mapped[str] = mapped_column(String(16), default="portal", server_default="portal")
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Permit(Base):
    """A licence or certificate in the registry, with the signed document that is its proof.

    ``document`` / ``signature`` are the current ones (after the last re-issue or duplicate);
    :class:`PermitEvent` keeps every signed version: issued, reissued, duplicated.
    """

    __tablename__ = "permits"

    number: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    holder_iin_bin: Mapped[str] = mapped_column(String(12), index=True)
    provider_bin: Mapped[str] = mapped_column(String(12))
    document: Mapped[dict] = mapped_column(JSON)
    signature: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    service_code: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE", server_default="ACTIVE")
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class PermitEvent(Base):
    """One entry of a permit's history: issued, reissued or duplicated, with the signed document."""

    __tablename__ = "permit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(ForeignKey("permits.number"), index=True)
    event: Mapped[str] = mapped_column(String(16))  # issued / reissued / duplicated
    subtype: Mapped[str | None] = mapped_column(String(32))
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    application_number: Mapped[str | None] = mapped_column(String(32))
    document: Mapped[dict] = mapped_column(JSON)
    signature: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class OutboxMessage(OutboxMixin, Base):
    pass


class InboxMessage(InboxMixin, Base):
    pass
