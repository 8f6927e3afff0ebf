"""ШЭП channel operations in JSON — /shep/v1 (docs/gateway-protocol.md)."""
from __future__ import annotations

import asyncio
import math
import time
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from shared import envelope
from shared.app import JCSRoute, client_address, error_responses
from shared.errors import ApiError

from . import repository, service
from .models import Message
from .schemas import (
    BatchResult,
    DeliveryNotification,
    DeliveryNotifications,
    MessageStatusResponse,
    SendMessageRequest,
    SendMessageResponse,
    SendMessagesRequest,
    SendMessagesResponse,
    SyncReply,
    SyncResponse,
)

router = APIRouter(route_class=JCSRoute, prefix="/shep/v1")
basic = HTTPBasic(description="senderId and password of the calling system")

#: what authenticating the calling system may answer (SenderInfo or HTTP Basic)
AUTH = ("SENDER_UNKNOWN", "SENDER_AUTH_FAILED", "AUTH_LOCKED")
#: what offering a message may answer, in the order it is checked (``_checked``, ``_record``)
SEND = ("UNAVAILABLE", *AUTH, "RATE_LIMITED", "SENDER_SIGNATURE_INVALID", "ECP_REVOCATION_UNKNOWN",
        "SERVICE_NOT_FOUND", "WRONG_CHANNEL", "ACCESS_DENIED", "SERVICE_DISABLED", "ROUTE_NOT_FOUND",
        "ENVELOPE_INVALID", "VALIDATION_ERROR")


async def authenticate(request: Request, sender_id: str, password: str | None):
    gw = request.app.state.gw
    return await service.authenticate(gw.directory, sender_id, password, guard=gw.sender_guard,
                                      address=client_address(request))


async def _checked(request: Request, raw: dict, channel: str) -> service.Offer:
    """Everything before the transaction, in order: maintenance, the sender authenticated, its rate,
    its signature over the envelope exactly as received (the parsed body, password left out — not a
    re-serialisation of the model), the service and its recipient."""
    gw = request.app.state.gw
    if gw.maintenance:
        raise ApiError("UNAVAILABLE", detail="the gateway is in maintenance mode")
    info = raw["messageInfo"]
    system = await authenticate(request, info["sender"]["senderId"], info["sender"].get("password"))
    await gw.sender_rate.hit(system.system_id)
    await service.check_signature(raw["signature"], envelope.sender_signed_bytes(raw), system, gw.trust)
    target, recipient = service.route(await gw.directory.current(), raw, system, channel)
    return service.Offer(raw, system, target, recipient)


async def _record(request: Request, offers: list[service.Offer]) -> list[service.Accepted]:
    """The checked envelopes, recorded (with their log records) in one short transaction, then handed
    to the producer."""
    gw = request.app.state.gw
    async with gw.db.session() as s:
        out = await service.accept(s, offers, signer=gw.signer,
                                   deliver_for=timedelta(seconds=gw.settings.gateway_delivery_ttl_seconds),
                                   first_redelivery=timedelta(seconds=gw.settings.redelivery_seconds))
    for a in out:
        if a.new:
            gw.relay.hand_over(a.message)  # produced now; the relay's poll is the safety net
    return out


def _count(gw, raw: dict, channel: str, outcome: str, start: float, size: int = 0) -> None:
    """Messages offered, per sender, service, channel and outcome (Prometheus)."""
    info = raw.get("messageInfo") or {}
    sender, service_id = str((info.get("sender") or {}).get("senderId"))[:64], str(info.get("serviceId"))[:64]
    gw.metrics.messages.labels(sender, service_id, channel, outcome).inc()
    if outcome == "ACCEPTED":
        gw.metrics.accept_seconds.labels(sender, service_id).observe(time.perf_counter() - start)
        gw.metrics.bytes.labels(sender, service_id).inc(size)


async def _accept(request: Request, req: SendMessageRequest, channel: str):
    """Accept one message on a channel."""
    gw = request.app.state.gw
    raw, start = await request.json(), time.perf_counter()
    try:
        [accepted] = await _record(request, [await _checked(request, raw, channel)])
        if accepted.error is not None:
            raise accepted.error
    except ApiError as exc:
        _count(gw, raw, channel, exc.code, start)
        raise
    m = accepted.message
    _count(gw, raw, channel, "ACCEPTED", start, m.size)
    return m


@router.post("/async/messages", response_model=SendMessageResponse, summary="sendMessage", tags=["async channel"],
             responses=error_responses(*SEND))
async def send_message(req: SendMessageRequest, request: Request) -> SendMessageResponse:
    """Accept a signed envelope for asynchronous delivery to the service's recipient.

    Refusals: SENDER_UNKNOWN, SENDER_AUTH_FAILED, SENDER_SIGNATURE_INVALID, SERVICE_NOT_FOUND,
    WRONG_CHANNEL, ACCESS_DENIED, SERVICE_DISABLED, ROUTE_NOT_FOUND; retryable (503 with
    Retry-After): UNAVAILABLE (maintenance), ECP_REVOCATION_UNKNOWN (the НУЦ cannot be asked about
    the sender's certificate). The same messageId sent again by the same sender is accepted once."""
    m = await _accept(request, req, "async")
    return SendMessageResponse(messageId=m.message_id, correlationId=m.correlation_id, responseDate=envelope.now_iso())


@router.post("/async/messages/batch", response_model=SendMessagesResponse, summary="sendMessage, for many messages",
             tags=["async channel"], max_body_size=16 * 1024 * 1024,
             responses=error_responses("REQUEST_TOO_LARGE", "VALIDATION_ERROR"))
async def send_messages(batch: SendMessagesRequest, request: Request) -> SendMessagesResponse:
    """The same as sendMessage for up to 500 envelopes in one call (an extension of the channel: a
    sender's outbox relays what is pending at once). Each envelope is checked on its own — the
    refusal of one refuses only that one, with its code and whether it is retryable — and those that
    pass are recorded in one transaction, in the order given. A retryable refusal (an outage) stops
    the batch there: the envelopes after it are not attempted (the same error, retryable), so that a
    sender who tries again later keeps its order. The answer lists, in the same order, the messageId
    and correlationId accepted, or the error."""
    gw = request.app.state.gw
    raws, start = (await request.json())["messages"], time.perf_counter()
    results: list = [None] * len(raws)
    checked, stopped = [], None
    for i, raw in enumerate(raws):
        if stopped is not None:
            results[i] = stopped
            continue
        try:
            checked.append((i, raw, await _checked(request, raw, "async")))
        except ApiError as exc:
            _count(gw, raw, "async", exc.code, start)
            results[i] = BatchResult(error=exc.body()["error"], retryable=exc.retryable)
            if exc.retryable:
                stopped = results[i]
    recorded = await _record(request, [offer for _, _, offer in checked])
    for (i, raw, _), a in zip(checked, recorded):
        if a.error is not None:
            _count(gw, raw, "async", a.error.code, start)
            results[i] = BatchResult(error=a.error.body()["error"], retryable=False)
            continue
        _count(gw, raw, "async", "ACCEPTED", start, a.message.size)
        results[i] = BatchResult(messageId=a.message.message_id, correlationId=a.message.correlation_id)
    return SendMessagesResponse(results=results, responseDate=envelope.now_iso())


@router.get("/async/messages", summary="getMessages", tags=["async channel"],
            responses=error_responses("AUTH_REQUIRED", *AUTH, "VALIDATION_ERROR"))
async def get_messages(request: Request, serviceId: str | None = Query(None, max_length=64),
                       amount: int = Query(10, ge=1, le=100), creds: HTTPBasicCredentials = Depends(basic)) -> dict:
    """Pull: the caller's messages not yet confirmed (for systems that do not consume Kafka).
    Confirm each with sendDeliveryNotification."""
    gw = request.app.state.gw
    system = await authenticate(request, creds.username, creds.password)
    async with gw.db.read() as s:
        return {"messages": await service.pull(s, system, serviceId, amount)}


MessageId = Annotated[str, PathParam(min_length=1, max_length=64)]


@router.post("/async/messages/{message_id}/delivery", summary="sendDeliveryNotification", tags=["async channel"],
             responses=error_responses(*AUTH, "MESSAGE_NOT_FOUND", "VALIDATION_ERROR"))
async def delivery_notification(message_id: MessageId, note: DeliveryNotification, request: Request) -> dict:
    """The recipient confirms (DELIVERED) or refuses (NOT_DELIVERED, with ErrorInfo) a message. A
    refused message goes to the dead-letter topic with the reason — unless ``resendMessage`` is
    true: then the recipient could not apply it now, and the gateway redelivers it later."""
    gw = request.app.state.gw
    system = await authenticate(request, note.sender.senderId, note.sender.password)
    async with gw.db.session() as s:
        await service.notify_delivery(s, system, message_id, note, backoff=gw.relay.backoff)
    gw.relay.wakeup.set()
    return {"notificationId": envelope.new_id()}


@router.post("/async/delivery", summary="sendDeliveryNotification, for many messages at once", tags=["async channel"],
             responses=error_responses(*AUTH, "VALIDATION_ERROR"))
async def delivery_notifications(notes: DeliveryNotifications, request: Request) -> dict:
    """The same as sendDeliveryNotification, for up to 1,000 messages in one call and one transaction
    (what one poll of the recipient's topic brought). Answers, per message, ``confirmed`` or the
    catalogue code of why not (MESSAGE_NOT_FOUND: not this recipient's message)."""
    gw = request.app.state.gw
    system = await authenticate(request, notes.sender.senderId, notes.sender.password)
    confirmed: list[Message] = []
    async with gw.db.session() as s:
        results = await service.notify_many(s, system, notes.notifications, backoff=gw.relay.backoff,
                                            confirmed=confirmed)
    gw.relay.read_up_to(system.system_id, confirmed)
    gw.relay.wakeup.set()
    return {"notificationId": envelope.new_id(), "results": results}


@router.get("/async/messages/{message_id}/status", response_model=MessageStatusResponse,
            summary="getMessageStatus", tags=["async channel"],
            responses=error_responses("AUTH_REQUIRED", *AUTH, "MESSAGE_NOT_FOUND", "VALIDATION_ERROR"))
async def message_status(
    message_id: MessageId, request: Request, creds: HTTPBasicCredentials = Depends(basic)
) -> dict:
    gw = request.app.state.gw
    system = await authenticate(request, creds.username, creds.password)
    async with gw.db.read() as s:
        return await service.message_status(s, system, message_id)


def _sync_limit(req: SendMessageRequest, ceiling: float) -> float:
    """The gateway's limit, or the property ``timeoutSeconds`` when it asks for less."""
    asked = {p.key: p.value for p in req.messageInfo.properties}.get("timeoutSeconds")
    if asked is None:
        return ceiling
    try:
        value = float(asked)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ApiError("ENVELOPE_INVALID", detail="the property timeoutSeconds must be a positive number of seconds")
    return min(ceiling, value)


async def _await_reply(gw, message_id: str, waiter: asyncio.Future, limit: float) -> dict | None:
    """The reply, as soon as this replica receives it (the waiter) or another replica recorded it
    (looked up every ``gateway_sync_poll_seconds``); None when the limit passes first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while (remaining := deadline - loop.time()) > 0:
        try:
            return await asyncio.wait_for(asyncio.shield(waiter), min(remaining, gw.settings.gateway_sync_poll_seconds))
        except asyncio.TimeoutError:
            async with gw.db.read() as s:
                reply = await repository.reply_of(s, message_id)
            if reply is not None:
                return reply
    return None


@router.post("/sync", response_model=SyncResponse, summary="sendMessage (sync channel)", tags=["sync channel"],
             responses=error_responses(*SEND, "SYNC_TIMEOUT", "RECIPIENT_ERROR"))
async def sync_call(req: SendMessageRequest, request: Request) -> dict:
    """Request–reply: the request is delivered to the recipient's topic like any message and the
    call waits for the recipient's reply (POST /sync/{messageId}/reply) up to the gateway's limit
    (or the property ``timeoutSeconds``, if lower). No reply in time → 504 SYNC_TIMEOUT. A reply
    carrying the recipient's ErrorInfo → 502 RECIPIENT_ERROR with it untouched in ``subError``."""
    gw = request.app.state.gw
    limit = _sync_limit(req, gw.settings.gateway_sync_timeout_seconds)
    m = await _accept(request, req, "sync")
    waiter = gw.sync_waiters.setdefault(m.message_id, asyncio.get_running_loop().create_future())
    try:
        reply = await _await_reply(gw, m.message_id, waiter, limit)
    finally:
        gw.sync_waiters.pop(m.message_id, None)
    if reply is None:
        async with gw.db.session() as s:
            await service.stop_sync(s, m.message_id)
        raise ApiError("SYNC_TIMEOUT", detail=f"no reply within {limit:g} s", extra={"messageId": m.message_id})
    if reply.get("errorInfo") is not None:
        raise ApiError("RECIPIENT_ERROR", extra={"messageId": m.message_id, "subError": reply["errorInfo"]})
    out = {
        "responseInfo": {"messageId": m.message_id, "correlationId": m.correlation_id,
                         "responseDate": envelope.now_iso(), "status": {"code": "OK", "message": None}},
        "responseData": reply.get("responseData"),
        "signature": reply["signature"],
    }
    out["gatewaySignature"] = gw.signer.sign(envelope.canonical(out))
    return out


@router.post("/sync/{message_id}/reply", summary="reply to a sync call", tags=["sync channel"],
             responses=error_responses(*AUTH, "SENDER_SIGNATURE_INVALID", "ECP_REVOCATION_UNKNOWN",
                                       "MESSAGE_NOT_FOUND", "VALIDATION_ERROR"))
async def sync_reply(message_id: MessageId, reply: SyncReply, request: Request) -> dict:
    """The recipient's answer to a sync request it received on its topic, signed with its system
    certificate over JCS({messageId, responseData, errorInfo}) exactly as sent."""
    gw = request.app.state.gw
    raw = await request.json()
    system = await authenticate(request, reply.sender.senderId, reply.sender.password)
    await service.check_signature(raw["signature"], service.sync_reply_bytes(message_id, raw), system, gw.trust)
    async with gw.db.session() as s:
        answered = await service.sync_reply(s, system, message_id, raw)
    gw.relay.read_up_to(system.system_id, [answered])
    waiter = gw.sync_waiters.get(message_id)
    if waiter is not None and not waiter.done():
        waiter.set_result(raw)
    return {"messageId": message_id, "accepted": True}
