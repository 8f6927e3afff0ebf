"""ШЭП channel operations in JSON — /shep/v1 (docs/gateway-protocol.md)."""
from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from shared import envelope
from shared.errors import ApiError

from . import service
from .schemas import (
    DeliveryNotification,
    MessageStatusResponse,
    SendMessageRequest,
    SendMessageResponse,
    SyncReply,
    SyncResponse,
)

router = APIRouter(prefix="/shep/v1")
basic = HTTPBasic(description="senderId and password of the calling system")


async def _accept(request: Request, req: SendMessageRequest, channel: str):
    """Accept a message on a channel, counted per sender and service (Prometheus)."""
    gw = request.app.state.gw
    sender, service_id = req.messageInfo.sender.senderId, req.messageInfo.serviceId
    if gw.maintenance:
        gw.metrics.messages.labels(sender, service_id, channel, "UNAVAILABLE").inc()
        raise ApiError("UNAVAILABLE", detail="the gateway is in maintenance mode")
    start = time.perf_counter()
    signature = await asyncio.to_thread(service.check_sender_signature, req, gw.trust)
    try:
        async with gw.db.session() as s:
            m = await service.accept(s, req, channel=channel, signature=signature, signer=gw.signer)
    except ApiError as exc:
        gw.metrics.messages.labels(sender, service_id, channel, exc.code).inc()
        raise
    gw.metrics.messages.labels(sender, service_id, channel, "ACCEPTED").inc()
    gw.metrics.accept_seconds.labels(sender, service_id).observe(time.perf_counter() - start)
    gw.metrics.bytes.labels(sender, service_id).inc(m.size)
    return m


@router.post("/async/messages", response_model=SendMessageResponse, summary="sendMessage", tags=["async channel"])
async def send_message(req: SendMessageRequest, request: Request) -> SendMessageResponse:
    """Accept a signed envelope for asynchronous delivery to the service's recipient.

    Refusals: SENDER_UNKNOWN, SENDER_AUTH_FAILED, SENDER_SIGNATURE_INVALID, SERVICE_NOT_FOUND,
    WRONG_CHANNEL, ACCESS_DENIED, SERVICE_DISABLED, ROUTE_NOT_FOUND, UNAVAILABLE (maintenance).
    The same messageId sent again by the same sender is accepted once."""
    m = await _accept(request, req, "async")
    request.app.state.gw.relay.wakeup.set()
    return SendMessageResponse(messageId=m.message_id, correlationId=m.correlation_id, responseDate=envelope.now_iso())


@router.get("/async/messages", summary="getMessages", tags=["async channel"])
async def get_messages(request: Request, serviceId: str | None = None, amount: int = Query(10, ge=1, le=100),
                       creds: HTTPBasicCredentials = Depends(basic)) -> dict:
    """Pull: the caller's messages not yet confirmed (for systems that do not consume Kafka).
    Confirm each with sendDeliveryNotification."""
    gw = request.app.state.gw
    async with gw.db.session() as s:
        return {"messages": await service.pull(s, creds.username, creds.password, serviceId, amount)}


@router.post("/async/messages/{message_id}/delivery", summary="sendDeliveryNotification", tags=["async channel"])
async def delivery_notification(message_id: str, note: DeliveryNotification, request: Request) -> dict:
    """The recipient confirms (DELIVERED) or refuses (NOT_DELIVERED, with ErrorInfo) a message;
    a refused message goes to the dead-letter topic with the reason."""
    gw = request.app.state.gw
    async with gw.db.session() as s:
        await service.notify_delivery(s, message_id, note)
    gw.relay.wakeup.set()
    return {"notificationId": envelope.new_id()}


@router.get("/async/messages/{message_id}/status", response_model=MessageStatusResponse,
            summary="getMessageStatus", tags=["async channel"])
async def message_status(
    message_id: str, request: Request, creds: HTTPBasicCredentials = Depends(basic)
) -> dict:
    gw = request.app.state.gw
    async with gw.db.session() as s:
        return await service.message_status(s, message_id, creds.username, creds.password)


@router.post("/sync", response_model=SyncResponse, summary="sendMessage (sync channel)", tags=["sync channel"])
async def sync_call(req: SendMessageRequest, request: Request) -> dict:
    """Request–reply: the request is delivered to the recipient's topic like any message and the
    call waits for the recipient's reply (POST /sync/{messageId}/reply) up to the gateway's limit
    (or the property ``timeoutSeconds``, if lower). No reply in time → 504 SYNC_TIMEOUT. A reply
    carrying the recipient's ErrorInfo → 502 RECIPIENT_ERROR with it untouched in ``subError``."""
    gw = request.app.state.gw
    limit = gw.settings.gateway_sync_timeout_seconds
    asked = {p.key: p.value for p in req.messageInfo.properties}.get("timeoutSeconds")
    if asked:
        limit = min(limit, float(asked))
    m = await _accept(request, req, "sync")
    waiter = gw.sync_waiters.setdefault(m.message_id, asyncio.get_running_loop().create_future())
    gw.relay.wakeup.set()
    try:
        reply: SyncReply = await asyncio.wait_for(asyncio.shield(waiter), limit)
    except asyncio.TimeoutError:
        async with gw.db.session() as s:
            await service.stop_sync(s, m.message_id)
        raise ApiError("SYNC_TIMEOUT", detail=f"no reply within {limit:g} s", extra={"messageId": m.message_id})
    finally:
        gw.sync_waiters.pop(m.message_id, None)
    if reply.errorInfo is not None:
        raise ApiError("RECIPIENT_ERROR", extra={"messageId": m.message_id,
                                                 "subError": reply.errorInfo.model_dump(mode="json", exclude_unset=True)})
    out = {
        "responseInfo": {"messageId": m.message_id, "correlationId": m.correlation_id,
                         "responseDate": envelope.now_iso(), "status": {"code": "OK", "message": None}},
        "responseData": reply.responseData.model_dump(mode="json", exclude_unset=True) if reply.responseData else None,
        "signature": reply.signature,
    }
    out["gatewaySignature"] = gw.signer.sign(envelope.canonical(out))
    return out


@router.post("/sync/{message_id}/reply", summary="reply to a sync call", tags=["sync channel"])
async def sync_reply(message_id: str, reply: SyncReply, request: Request) -> dict:
    """The recipient's answer to a sync request it received on its topic."""
    gw = request.app.state.gw
    async with gw.db.session() as s:
        await service.sync_reply(s, message_id, reply, trust=gw.trust)
    waiter = gw.sync_waiters.get(message_id)
    if waiter is not None and not waiter.done():
        waiter.set_result(reply)
    return {"messageId": message_id, "accepted": True}
