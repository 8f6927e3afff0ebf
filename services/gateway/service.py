"""What the gateway does with each call: authenticate, check, record, hand to delivery."""
from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared import envelope
from shared.auth import VerifiedPasswords
from shared.db import utcnow
from shared.errors import ApiError
from shared.pki.cms import SignatureError, VerifyReport
from shared.signing import Signer, TrustStore
from shared.topics import MessageState, SystemId

from . import message_log
from .models import Acl, Message, Route, Service, System
from .registry import cert_sha256
from .schemas import DeliveryNotification, SendMessageRequest, SyncReply


_passwords = VerifiedPasswords()


async def authenticate(session: AsyncSession, sender_id: str, password: str | None) -> System:
    system = await session.get(System, sender_id)
    if system is None:
        raise ApiError("SENDER_UNKNOWN", detail=sender_id)
    if not password or not _passwords.check(system.password_hash, password, who=sender_id):
        raise ApiError("SENDER_AUTH_FAILED", detail=sender_id)
    return system


def check_sender_signature(req: SendMessageRequest, trust: TrustStore) -> VerifyReport | SignatureError:
    """The sender's CMS over the envelope (CPU work and, for a certificate not seen lately, an OCSP
    round trip): run it before the transaction, off the event loop; ``accept`` reports the outcome
    in its turn, after the sender is authenticated."""
    try:
        return envelope.verify_sender(req.model_dump(mode="json"), trust)
    except SignatureError as exc:
        return exc


async def accept(
    session: AsyncSession, req: SendMessageRequest, *, channel: str, signature: VerifyReport | SignatureError,
    signer: Signer,
) -> Message:
    """sendMessage. Checks in X-Road's order after the sender is known and its signature good
    (``signature``: what ``check_sender_signature`` found): unknown service → wrong channel →
    access denied → service disabled → no route."""
    info = req.messageInfo
    system = await authenticate(session, info.sender.senderId, info.sender.password)
    env = req.model_dump(mode="json")
    if isinstance(signature, SignatureError):
        raise ApiError("SENDER_SIGNATURE_INVALID", detail=signature.code)
    report = signature
    if cert_sha256(report.signer_cert) != system.cert_sha256:
        raise ApiError("SENDER_SIGNATURE_INVALID", detail="not the system certificate registered for the sender")

    service = await session.get(Service, info.serviceId)
    if service is None:
        raise ApiError("SERVICE_NOT_FOUND", detail=info.serviceId)
    if service.channel != channel:
        raise ApiError("WRONG_CHANNEL", detail=f"{info.serviceId} is {service.channel}")
    if await session.get(Acl, (system.system_id, service.service_id)) is None:
        raise ApiError("ACCESS_DENIED", detail=f"{system.system_id} → {service.service_id}")
    if not service.enabled:
        raise ApiError("SERVICE_DISABLED", detail=service.service_id)
    recipient = service.recipient_id
    if recipient is None:
        route = await session.get(Route, (service.service_id, info.routeId or ""))
        if route is None:
            raise ApiError("ROUTE_NOT_FOUND", detail=f"{service.service_id} / {info.routeId}")
        recipient = route.recipient_id

    message_id = info.messageId or envelope.new_id()
    existing = await session.get(Message, message_id)
    if existing is not None:
        if existing.sender_id != system.system_id:
            raise ApiError("ENVELOPE_INVALID", detail="messageId already used by another sender")
        return existing  # the same message sent again: accepted once
    delivery_info = {
        "messageId": message_id,
        "correlationId": info.correlationId or message_id,
        "gatewayId": SystemId.GATEWAY,
        "recipientId": recipient,
        "receivedAt": envelope.now_iso(),
    }
    delivered = envelope.countersign(env, delivery_info, signer)
    message = Message(
        message_id=message_id,
        correlation_id=delivery_info["correlationId"],
        service_id=service.service_id,
        message_type=info.messageType,
        sender_id=system.system_id,
        recipient_id=recipient,
        envelope=delivered,
        size=len(json.dumps(delivered)),
        state=MessageState.ON_DELIVERY,
        received_at=utcnow(),
        attempts=0,
    )
    session.add(message)
    await message_log.append(session, message)  # the message log, in the same transaction
    return message


async def notify_delivery(session: AsyncSession, message_id: str, note: DeliveryNotification) -> Message:
    """sendDeliveryNotification: only the recipient may confirm its message."""
    system = await authenticate(session, note.sender.senderId, note.sender.password)
    message = await session.get(Message, message_id)
    if message is None or message.recipient_id != system.system_id:
        raise ApiError("MESSAGE_NOT_FOUND", detail=message_id)
    status = note.deliveryStatus
    if message.state in (MessageState.ON_DELIVERY, MessageState.DELIVERY_STOPPED):
        message.state = status.receiveStatus
        message.delivered_at = utcnow()
        message.error = status.error.model_dump(mode="json") if status.error else None
        message.status_message = "confirmed by the recipient"
        if status.receiveStatus == MessageState.NOT_DELIVERED:
            message.status_message = "refused by the recipient"
            message.dead_letter_pending = True
    return message


async def message_status(session: AsyncSession, message_id: str, system_id: str, password: str) -> dict:
    """getMessageStatus, for the sender or the recipient of the message."""
    system = await authenticate(session, system_id, password)
    m = await session.get(Message, message_id)
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


async def pull(session: AsyncSession, system_id: str, password: str, service_id: str | None, amount: int) -> list[dict]:
    """getMessages: the caller's messages still ON_DELIVERY (for systems that do not consume
    Kafka); each is confirmed with sendDeliveryNotification as usual."""
    system = await authenticate(session, system_id, password)
    q = select(Message).where(Message.recipient_id == system.system_id, Message.state == MessageState.ON_DELIVERY)
    if service_id:
        q = q.where(Message.service_id == service_id)
    rows = await session.scalars(q.order_by(Message.received_at).limit(max(1, min(amount, 100))))
    return [m.envelope for m in rows]


def sync_reply_bytes(message_id: str, reply: SyncReply) -> bytes:
    """What the recipient signs: JCS({messageId, responseData, errorInfo}) as it sent them."""
    def sent(part):
        return part.model_dump(mode="json", exclude_unset=True) if part is not None else None

    return envelope.canonical({"messageId": message_id, "responseData": sent(reply.responseData),
                               "errorInfo": sent(reply.errorInfo)})


async def sync_reply(session: AsyncSession, message_id: str, reply: SyncReply, *, trust: TrustStore) -> Message:
    """The recipient answers a sync call: authenticated, signed with its registered certificate."""
    system = await authenticate(session, reply.sender.senderId, reply.sender.password)
    m = await session.get(Message, message_id)
    if m is None or m.recipient_id != system.system_id or m.state != MessageState.ON_DELIVERY:
        raise ApiError("MESSAGE_NOT_FOUND", detail=message_id)
    try:
        report = trust.verify(reply.signature, sync_reply_bytes(message_id, reply))
    except SignatureError as exc:
        raise ApiError("SENDER_SIGNATURE_INVALID", detail=exc.code)
    if cert_sha256(report.signer_cert) != system.cert_sha256:
        raise ApiError("SENDER_SIGNATURE_INVALID", detail="not the system certificate registered for the sender")
    m.state = MessageState.DELIVERED
    m.delivered_at = utcnow()
    m.status_message = "answered (sync)"
    m.error = reply.errorInfo.model_dump(mode="json", exclude_unset=True) if reply.errorInfo else None
    return m


async def stop_sync(session: AsyncSession, message_id: str) -> None:
    m = await session.get(Message, message_id)
    if m is not None and m.state == MessageState.ON_DELIVERY:
        m.state = MessageState.DELIVERY_STOPPED
        m.status_message = "sync call timed out: no reply within the limit"
