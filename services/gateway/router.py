"""ШЭП channel operations in JSON — /shep/v1 (docs/gateway-protocol.md)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from shared import envelope

from . import service
from .schemas import DeliveryNotification, MessageStatusResponse, SendMessageRequest, SendMessageResponse

router = APIRouter(prefix="/shep/v1", tags=["async channel"])
basic = HTTPBasic(description="senderId and password of the calling system")


@router.post("/async/messages", response_model=SendMessageResponse, summary="sendMessage")
async def send_message(req: SendMessageRequest, request: Request) -> SendMessageResponse:
    """Accept a signed envelope for asynchronous delivery to the service's recipient.

    Refusals: SENDER_UNKNOWN, SENDER_AUTH_FAILED, SENDER_SIGNATURE_INVALID, SERVICE_NOT_FOUND,
    WRONG_CHANNEL, ACCESS_DENIED, SERVICE_DISABLED, ROUTE_NOT_FOUND. The same messageId sent
    again by the same sender is accepted once."""
    gw = request.app.state.gw
    async with gw.db.session() as s:
        m = await service.accept(s, req, channel="async", trust=gw.trust, signer=gw.signer)
    gw.relay.wakeup.set()
    return SendMessageResponse(messageId=m.message_id, correlationId=m.correlation_id, responseDate=envelope.now_iso())


@router.post("/async/messages/{message_id}/delivery", summary="sendDeliveryNotification")
async def delivery_notification(message_id: str, note: DeliveryNotification, request: Request) -> dict:
    """The recipient confirms (DELIVERED) or refuses (NOT_DELIVERED, with ErrorInfo) a message."""
    gw = request.app.state.gw
    async with gw.db.session() as s:
        await service.notify_delivery(s, message_id, note)
    return {"notificationId": envelope.new_id()}


@router.get("/async/messages/{message_id}/status", response_model=MessageStatusResponse, summary="getMessageStatus")
async def message_status(
    message_id: str, request: Request, creds: HTTPBasicCredentials = Depends(basic)
) -> dict:
    gw = request.app.state.gw
    async with gw.db.session() as s:
        return await service.message_status(s, message_id, creds.username, creds.password)
