"""The gateway's own database: its registries (systems, services, routes, ACL) and messages."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import utcnow
from shared.db.types import UtcDateTime


class Base(DeclarativeBase):
    pass


class System(Base):
    """An information system allowed to talk to the gateway (SenderInfo)."""

    __tablename__ = "systems"

    system_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255))
    #: SHA-256 of the DER of the system certificate issued by the НУЦ
    cert_sha256: Mapped[str] = mapped_column(String(64))
    cert_pem: Mapped[str] = mapped_column(Text)


class Service(Base):
    """serviceId → the recipient system (or, when routed, the routes by routeId)."""

    __tablename__ = "services"

    service_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    recipient_id: Mapped[str | None] = mapped_column(ForeignKey("systems.system_id"))
    channel: Mapped[str] = mapped_column(String(8), default="async")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class Route(Base):
    """РШЭП: for a routed service, routeId (a region) → the provider workstation there."""

    __tablename__ = "routes"

    service_id: Mapped[str] = mapped_column(ForeignKey("services.service_id"), primary_key=True)
    route_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    recipient_id: Mapped[str] = mapped_column(ForeignKey("systems.system_id"))


class Acl(Base):
    """Deny by default: a sender may call a service only when a row says so."""

    __tablename__ = "acl"

    sender_id: Mapped[str] = mapped_column(ForeignKey("systems.system_id"), primary_key=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.service_id"), primary_key=True)


class Message(Base):
    """An accepted message: the countersigned envelope and its delivery state."""

    __tablename__ = "messages"

    message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    correlation_id: Mapped[str] = mapped_column(String(64), index=True)
    service_id: Mapped[str] = mapped_column(String(64))
    message_type: Mapped[str] = mapped_column(String(16))
    sender_id: Mapped[str] = mapped_column(String(64))
    recipient_id: Mapped[str] = mapped_column(String(64), index=True)
    envelope: Mapped[dict] = mapped_column(JSON)
    size: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), index=True)
    status_message: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    #: when the delivery relay (re)produces it next, while ON_DELIVERY (backoff after each attempt)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    #: not confirmed by then → DELIVERY_STOPPED and dead-lettered (``gateway_delivery_ttl_seconds``)
    deliver_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    error: Mapped[dict | None] = mapped_column(JSON)
    #: a sync call's reply as the recipient sent it: any replica of the gateway can hand it to the caller
    reply: Mapped[dict | None] = mapped_column(JSON)
    #: stopped or refused, and not yet produced to the dead-letter topic
    dead_letter_pending: Mapped[bool] = mapped_column(Boolean, default=False, index=True)


class LogRecord(Base):
    """The message log (REFERENCE.md §2): one record per accepted message, hash-chained.

    ``hash = SHA-256(prev_hash bytes || JCS(content))`` where the content is the columns above
    ``prev_hash`` plus ``seq`` (services/gateway/message_log.py). ``received_at`` is kept as the
    exact text of ``deliveryInfo.receivedAt`` that was hashed."""

    __tablename__ = "message_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    correlation_id: Mapped[str] = mapped_column(String(64))
    sender_id: Mapped[str] = mapped_column(String(64))
    recipient_id: Mapped[str] = mapped_column(String(64))
    service_id: Mapped[str] = mapped_column(String(64))
    message_type: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[str] = mapped_column(String(40))
    envelope_sha256: Mapped[str] = mapped_column(String(64))
    envelope: Mapped[dict] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class LogHead(Base):
    """A single row (id 1): the last record's seq and hash. Appends lock it, so they are serial."""

    __tablename__ = "log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class LogSeal(Base):
    """A batch of consecutive records sealed: Merkle root signed by the gateway, time-stamped by the НУЦ."""

    __tablename__ = "log_seal"

    seal_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    first_seq: Mapped[int] = mapped_column(Integer, unique=True)
    last_seq: Mapped[int] = mapped_column(Integer, unique=True)
    #: the chain head (hash of record last_seq) at sealing
    last_hash: Mapped[str] = mapped_column(String(64))
    #: hex Merkle root (RFC 9162) over the hashes of records first_seq..last_seq
    root: Mapped[str] = mapped_column(String(64))
    #: base64 DER CMS by the gateway over JCS of the seal statement
    signature: Mapped[str] = mapped_column(Text)
    #: base64 DER RFC 3161 TimeStampToken whose message imprint is SHA-256 / the root
    timestamp_token: Mapped[str] = mapped_column(Text)
    timestamp_time: Mapped[datetime] = mapped_column(UtcDateTime())
    sealed_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
