"""Outbox and inbox tables; each service declares them on its own ``Base`` with these mixins."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import utcnow
from shared.db.types import UtcDateTime


class OutboxMixin:
    """A message to send through the gateway, written in the same transaction as its cause."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    correlation_id: Mapped[str | None] = mapped_column(String(64), index=True)
    service_id: Mapped[str] = mapped_column(String(64))
    envelope: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    #: PENDING → SENT (the gateway accepted it) or FAILED (the gateway refused it for good)
    state: Mapped[str] = mapped_column(String(16), default="PENDING", index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class InboxMixin:
    """A message already applied: its id is stored in the same transaction as its effect."""

    __tablename__ = "inbox"

    message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    correlation_id: Mapped[str | None] = mapped_column(String(64), index=True)
    service_id: Mapped[str] = mapped_column(String(64))
    sender_id: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    #: APPLIED, or REJECTED with the reason (a message that can never be applied)
    outcome: Mapped[str] = mapped_column(String(16), default="APPLIED")
    reason: Mapped[str | None] = mapped_column(Text)
