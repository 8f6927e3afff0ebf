"""What the gateway does with each call: authenticate, check, record, hand to delivery.

The order of every call: authenticate the sender (password; no CMS work for an unknown or
wrong sender), then its signature over the bytes exactly as received (CPU in a thread, OCSP
over async HTTP), then — only then — one short database transaction.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from opentelemetry.trace import SpanKind

from shared import envelope, telemetry
from shared.auth import VerifiedPasswords
from shared.db import utcnow
from shared.errors import ApiError
from shared.messaging.retry import Backoff
from shared.pki.cms import SignatureError, VerifyReport
from shared.signing import Signer, TrustStore
from shared.throttle import LoginGuard, verify_nobody
from shared.topics import MessageState, SystemId

from . import message_log, repository
from .directory import Directory, ServiceEntry, Snapshot, SystemEntry
from .models import Message
from .seed import cert_sha256


_passwords = VerifiedPasswords()
log = structlog.get_logger("gateway")


async def authenticate(directory: Directory, sender_id: str, password: str | None, *,
                       guard: LoginGuard | None = None, address: str = "") -> SystemEntry:
    """SenderInfo: the system must be registered and the password right (argon2 off the event loop,
    outside any transaction) — before any CMS or OCSP work is spent on the call. An unknown sender
    costs the same argon2 check as a wrong password (the codes SENDER_UNKNOWN / SENDER_AUTH_FAILED
    stay as the API documents them). With a ``guard``, repeated failures lock the sender id (and the
    address) out: 429 AUTH_LOCKED."""
    if guard is not None:
        await guard.ensure_allowed(sender_id, address)
    system = (await directory.current()).systems.get(sender_id)
    if system is None or not password:
        await verify_nobody(password or "")  # the same argon2 work as a wrong password: timing tells nothing
        ok = False
    else:
        ok = await _passwords.check(system.password_hash, password, who=sender_id)
    if not ok:
        if guard is not None:
            await guard.failed(sender_id, address)
        raise ApiError("SENDER_UNKNOWN" if system is None else "SENDER_AUTH_FAILED", detail=sender_id[:64])
    return system


async def check_signature(signature: str, data: bytes, system: SystemEntry, trust: TrustStore) -> VerifyReport:
    """A system's CMS over ``data``, made with the certificate registered for it. A bad signature is
    401 SENDER_SIGNATURE_INVALID; an НУЦ that cannot be asked is the retryable 503
    ECP_REVOCATION_UNKNOWN (the sender tries again later)."""
    try:
        report = await trust.verify(signature, data)
    except SignatureError as exc:
        if exc.retryable:
            raise
        raise ApiError("SENDER_SIGNATURE_INVALID", detail=exc.code) from None
    if cert_sha256(report.signer_cert) != system.cert_sha256:
        raise ApiError("SENDER_SIGNATURE_INVALID", detail="not the system certificate registered for the sender")
    return report


def route(registry: Snapshot, env: dict, system: SystemEntry, channel: str) -> tuple[ServiceEntry, str]:
    """The service and its recipient, in X-Road's order of checks: unknown service → wrong channel →
    access denied → service disabled → no route."""
    info = env["messageInfo"]
    service = registry.services.get(info["serviceId"])
    if service is None:
        raise ApiError("SERVICE_NOT_FOUND", detail=info["serviceId"])
    if service.channel != channel:
        raise ApiError("WRONG_CHANNEL", detail=f"{service.service_id} is {service.channel}")
    if (system.system_id, service.service_id) not in registry.acl:
        raise ApiError("ACCESS_DENIED", detail=f"{system.system_id} → {service.service_id}")
    if not service.enabled:
        raise ApiError("SERVICE_DISABLED", detail=service.service_id)
    recipient = service.recipient_id
    if recipient is None:
        recipient = registry.routes.get((service.service_id, info.get("routeId") or ""))
        if recipient is None:
            raise ApiError("ROUTE_NOT_FOUND", detail=f"{service.service_id} / {info.get('routeId')}")
    return service, recipient


@dataclass
class Offer:
    """An envelope that passed every check before the transaction, with its route."""

    env: dict
    system: SystemEntry
    service: ServiceEntry
    recipient: str


@dataclass
class Accepted:
    message: Message | None = None
    #: False when the same messageId was accepted before (it is returned, not recorded again)
    new: bool = False
    error: ApiError | None = None


async def accept(session: AsyncSession, offers: list[Offer], *, signer: Signer, deliver_for: timedelta,
                 first_redelivery: timedelta) -> list[Accepted]:
    """sendMessage, for senders already authenticated whose signatures over their envelopes (exactly
    as received) hold, to the services and recipients :func:`route` found: each message, countersigned,
    and its log record, in the caller's transaction, in the order given. A message is recorded as
    produced once: the router hands it to the producer right after the commit, and the delivery relay
    produces it again only if it is not confirmed by ``first_redelivery`` (a crash in between loses
    nothing). The same messageId sent again by its sender is its first acceptance (``new`` False);
    a messageId another sender used is refused (ENVELOPE_INVALID) for that offer alone."""
    ids = [o.env["messageInfo"].get("messageId") or envelope.new_id() for o in offers]
    known = await repository.messages(session, ids)
    out, fresh = [], []
    for offer, message_id in zip(offers, ids):
        existing = known.get(message_id)
        if existing is not None:
            out.append(Accepted(existing, False) if existing.sender_id == offer.system.system_id else
                       Accepted(error=ApiError("ENVELOPE_INVALID", detail="messageId already used by another sender")))
            continue
        message = _message(offer, message_id, signer, deliver_for, first_redelivery)
        known[message_id] = message
        fresh.append(message)
        out.append(Accepted(message, True))
    session.add_all(fresh)
    await message_log.append(session, fresh)  # the message log, in the same transaction
    return out


def _message(offer: Offer, message_id: str, signer: Signer, deliver_for: timedelta,
             first_redelivery: timedelta) -> Message:
    info = offer.env["messageInfo"]
    now = utcnow()
    delivery_info = {
        "messageId": message_id,
        "correlationId": info.get("correlationId") or message_id,
        "gatewayId": SystemId.GATEWAY,
        "recipientId": offer.recipient,
        "receivedAt": now.isoformat(),
    }
    with telemetry.span(f"shep accept {offer.service.service_id}", kind=SpanKind.PRODUCER,
                        parent=envelope.properties(offer.env).get(telemetry.TRACEPARENT),
                        **{"messaging.message.id": message_id, "shep.recipient": offer.recipient}):
        delivered = envelope.countersign(offer.env, delivery_info, signer)
        log.info("message accepted", message_id=message_id, service_id=offer.service.service_id,
                 sender_id=offer.system.system_id, recipient_id=offer.recipient)
    return Message(
        message_id=message_id,
        correlation_id=delivery_info["correlationId"],
        service_id=offer.service.service_id,
        message_type=info["messageType"],
        sender_id=offer.system.system_id,
        recipient_id=offer.recipient,
        envelope=delivered,
        size=len(json.dumps(delivered)),
        state=MessageState.ON_DELIVERY,
        received_at=now,
        attempts=1,
        last_attempt_at=now,
        next_attempt_at=now + first_redelivery,
        deliver_until=now + deliver_for,
    )


async def notify_delivery(session: AsyncSession, system: SystemEntry, message_id: str, note,
                          *, backoff: Backoff) -> Message:
    """sendDeliveryNotification: only the recipient may confirm its message. DELIVERED ends it;
    NOT_DELIVERED with ``resendMessage`` means the recipient could not apply it *now* (an outage on
    its side): it stays ON_DELIVERY and is redelivered later with backoff; NOT_DELIVERED without
    it is the recipient's final refusal, and the message goes to the dead-letter topic."""
    message = await repository.message(session, message_id)
    if message is None or message.recipient_id != system.system_id:
        raise ApiError("MESSAGE_NOT_FOUND", detail=message_id)
    _apply_note(message, note, backoff)
    return message


async def notify_many(session: AsyncSession, system: SystemEntry, notes: list, *, backoff: Backoff,
                      confirmed: list[Message] | None = None) -> dict[str, str]:
    """Many notifications in one transaction and one query: per messageId, "confirmed" or the code
    of why not; the messages found are appended to ``confirmed`` when given."""
    ids = [n.messageId for n in notes]
    found = await repository.messages(session, ids, recipient_id=system.system_id)
    results = {}
    for note in notes:
        message = found.get(note.messageId)
        if message is None:
            results[note.messageId] = "MESSAGE_NOT_FOUND"
            continue
        _apply_note(message, note, backoff)
        results[note.messageId] = "confirmed"
        if confirmed is not None:
            confirmed.append(message)
    return results


def _apply_note(message: Message, note, backoff: Backoff) -> None:
    status = note.deliveryStatus
    error = status.error.model_dump(mode="json") if status.error else None
    if message.state not in (MessageState.ON_DELIVERY, MessageState.DELIVERY_STOPPED):
        return
    if status.receiveStatus == MessageState.NOT_DELIVERED and status.resendMessage:
        if message.state == MessageState.ON_DELIVERY:
            message.error = error
            message.status_message = "the recipient asks for a redelivery later"
            message.next_attempt_at = utcnow() + timedelta(seconds=backoff.delay(max(1, message.attempts)))
        return
    message.state = status.receiveStatus
    message.delivered_at = utcnow()
    message.error = error
    message.status_message = "confirmed by the recipient"
    if status.receiveStatus == MessageState.NOT_DELIVERED:
        message.status_message = "refused by the recipient"
        message.dead_letter_pending = True


async def message_status(session: AsyncSession, system: SystemEntry, message_id: str) -> dict:
    """getMessageStatus, for the sender or the recipient of the message."""
    m = await repository.message(session, message_id)
    if m is None or system.system_id not in (m.sender_id, m.recipient_id):
        raise ApiError("MESSAGE_NOT_FOUND", detail=message_id)
    when = m.delivered_at or m.last_attempt_at or m.received_at
    return {
        "messageId": m.message_id,
        "correlationId": m.correlation_id,
        "messageState": m.state,
        "status": {"statusCode": m.state, "statusMessage": m.status_message, "statusDate": when.isoformat()},
        "attempts": m.attempts,
        "error": m.error,
    }


async def pull(session: AsyncSession, system: SystemEntry, service_id: str | None, amount: int) -> list[dict]:
    """getMessages: the caller's messages still ON_DELIVERY (for systems that do not consume
    Kafka); each is confirmed with sendDeliveryNotification as usual."""
    return [m.envelope for m in await repository.waiting_for(session, system.system_id, service_id,
                                                             max(1, min(amount, 100)))]


def sync_reply_bytes(message_id: str, reply: dict) -> bytes:
    """What the recipient signs: JCS({messageId, responseData, errorInfo}) exactly as it sent them."""
    return envelope.canonical({"messageId": message_id, "responseData": reply.get("responseData"),
                               "errorInfo": reply.get("errorInfo")})


async def sync_reply(session: AsyncSession, system: SystemEntry, message_id: str, reply: dict) -> Message:
    """The recipient answers a sync call (its signature already checked by the router)."""
    m = await repository.message(session, message_id)
    if m is None or m.recipient_id != system.system_id or m.state != MessageState.ON_DELIVERY:
        raise ApiError("MESSAGE_NOT_FOUND", detail=message_id)
    m.state = MessageState.DELIVERED
    m.delivered_at = utcnow()
    m.status_message = "answered (sync)"
    m.error = reply.get("errorInfo")
    m.reply = reply
    return m


async def stop_sync(session: AsyncSession, message_id: str) -> None:
    m = await repository.message(session, message_id)
    if m is not None and m.state == MessageState.ON_DELIVERY:
        m.state = MessageState.DELIVERY_STOPPED
        m.status_message = "sync call timed out: no reply within the limit"


# --- operations: dead letters, and sending them again ---------------------------------------------

async def dead_letters(session: AsyncSession, limit: int = 100) -> list[dict]:
    """Messages stopped (never confirmed in time) or refused by their recipient, newest first."""
    rows = await repository.dead_letters(session, limit=limit)
    return [{"message_id": m.message_id, "correlation_id": m.correlation_id, "service_id": m.service_id,
             "sender_id": m.sender_id, "recipient_id": m.recipient_id, "state": m.state,
             "received_at": m.received_at.isoformat(), "attempts": m.attempts,
             "reason": m.status_message, "error": m.error} for m in rows]


async def resend(session: AsyncSession, message_ids: list[str] | None, *, deliver_for: timedelta) -> int:
    """Put dead letters (all, or those named) back ON_DELIVERY, due now, with a new deadline."""
    now, count = utcnow(), 0
    for m in await repository.dead_letters(session, message_ids):
        m.state, m.status_message, m.error = MessageState.ON_DELIVERY, "resent by the operator", None
        m.attempts, m.next_attempt_at, m.deliver_until, m.dead_letter_pending = 0, now, now + deliver_for, False
        count += 1
    return count
