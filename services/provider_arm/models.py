"""The provider's workstation: operators, cases (one per application) and their tasks."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import utcnow
from shared.db.types import UtcDateTime
from shared.messaging.models import InboxMixin, OutboxMixin


class Base(DeclarativeBase):
    pass


class Operator(Base):
    """An employee of a provider organisation, with the roles of the process definitions."""

    __tablename__ = "operators"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(255))
    iin: Mapped[str] = mapped_column(String(12))
    provider_bin: Mapped[str] = mapped_column(String(12), index=True)
    roles: Mapped[list] = mapped_column(JSON)


class Case(Base):
    """One application being worked through its process definition."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(36), unique=True)  # = correlationId
    application_number: Mapped[str] = mapped_column(String(32))
    process_id: Mapped[str] = mapped_column(String(64))
    provider_bin: Mapped[str] = mapped_column(String(12), index=True)
    applicant_iin_bin: Mapped[str] = mapped_column(String(12))
    #: the applicant's name (or the organisation's), for the result's holder
    applicant_name: Mapped[str | None] = mapped_column(String(255))
    #: the W3C traceparent of the application's trace: each later step reports into it
    trace_parent: Mapped[str | None] = mapped_column(String(64))
    #: where the request was accepted ("portal" or "con"): picks the step limits of ``limits_by_channel``
    channel: Mapped[str] = mapped_column(String(16), default="portal", server_default="portal")
    document: Mapped[dict] = mapped_column(JSON)
    signature: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list] = mapped_column(JSON)
    #: OPEN → COMPLETED / REFUSED once the result is handed over
    status: Mapped[str] = mapped_column(String(16), default="OPEN")
    #: None, or "refusal" once a step decided so
    outcome: Mapped[str | None] = mapped_column(String(16))
    assignee: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    deadline_at: Mapped[datetime] = mapped_column(UtcDateTime())
    draft_result: Mapped[dict | None] = mapped_column(JSON)
    result: Mapped[dict | None] = mapped_column(JSON)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Task(Base):
    """One step of a case for one role (or one named operator, when the step is assigned)."""

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    step_key: Mapped[str] = mapped_column(String(64))
    step_no: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(32), index=True)
    assignee: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(8), default="OPEN", index=True)  # OPEN / DONE
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    completed_by: Mapped[str | None] = mapped_column(String(64))
    decision: Mapped[str | None] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict | None] = mapped_column(JSON)
    #: set by the overdue check when the task was still open at its due time
    overdue_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Alert(Base):
    """An alert for the provider's head (or deputy): a task ran past its due time (escalation)."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # overdue
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    provider_bin: Mapped[str] = mapped_column(String(12), index=True)
    #: the role the alert is for (the head; a deputy sees it too)
    role: Mapped[str] = mapped_column(String(32))
    text_ru: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))


class OutboxMessage(OutboxMixin, Base):
    pass


class InboxMessage(InboxMixin, Base):
    pass
