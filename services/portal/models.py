"""The portal's own database: users, payments, attachments, requests and their timeline."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.db import utcnow
from shared.db.types import UtcDateTime
from shared.messaging.models import InboxMixin, OutboxMixin


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    iin_bin: Mapped[str] = mapped_column(String(12), primary_key=True)
    kind: Mapped[str] = mapped_column(String(3))  # IIN or BIN
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Attachment(Base):
    __tablename__ = "attachments"

    attachment_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner: Mapped[str] = mapped_column(ForeignKey("users.iin_bin"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Request(Base):
    """An applicant's signed request and where it stands."""

    __tablename__ = "requests"

    request_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    iin_bin: Mapped[str] = mapped_column(ForeignKey("users.iin_bin"), index=True)
    service_code: Mapped[str] = mapped_column(String(8))
    region: Mapped[str] = mapped_column(String(32))
    subtype: Mapped[str] = mapped_column(String(32))
    document: Mapped[dict] = mapped_column(JSON)
    signature: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    application_number: Mapped[str | None] = mapped_column(String(32))
    expected_result_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    #: the signed result {kind, document, signature} once it arrived and its signature held
    result: Mapped[dict | None] = mapped_column(JSON)
    #: why an arrived result is not shown (its signature did not hold), as an error code
    result_rejected: Mapped[str | None] = mapped_column(String(64))

    events: Mapped[list["RequestEvent"]] = relationship(
        order_by=lambda: (RequestEvent.at, RequestEvent.id), lazy="selectin"
    )


class RequestEvent(Base):
    """The timeline of a request: each status and provider step with the time it happened
    (told by the system where it happened) and its actor."""

    __tablename__ = "request_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.request_id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(16))
    step: Mapped[str | None] = mapped_column(String(128))
    #: the provider's step in Kazakh, when the provider told it
    step_kk: Mapped[str | None] = mapped_column(String(255))
    actor: Mapped[str | None] = mapped_column(String(255))
    note: Mapped[str | None] = mapped_column(Text)
    #: the note in Kazakh, when the system that told it gave one
    note_kk: Mapped[str | None] = mapped_column(Text)


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    iin_bin: Mapped[str] = mapped_column(ForeignKey("users.iin_bin"), index=True)
    request_id: Mapped[str | None] = mapped_column(String(36))
    text_ru: Mapped[str] = mapped_column(Text)
    text_kk: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    #: a signed document the notification carries ({kind, document, signature}: S6's testing notice)
    document: Mapped[dict | None] = mapped_column(JSON)


class OutboxMessage(OutboxMixin, Base):
    pass


class InboxMessage(InboxMixin, Base):
    pass


class AuthChallenge(Base):
    """A one-time challenge for login by ЭЦП (signed with an AUTH certificate)."""

    __tablename__ = "auth_challenges"

    challenge_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
