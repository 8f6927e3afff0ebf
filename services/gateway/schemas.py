"""JSON forms of the ШЭП channel types (REFERENCE.md §1)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class SenderInfo(BaseModel):
    senderId: str
    password: str | None = None


class Property(BaseModel):
    key: str
    value: str


class MessageInfo(BaseModel):
    model_config = ConfigDict(extra="allow")

    messageId: str | None = None
    correlationId: str | None = None
    serviceId: str
    messageType: Literal["REQUEST", "NOTIFICATION", "UPDATE", "RESPONSE"]
    routeId: str | None = None
    messageDate: str | None = None
    sender: SenderInfo
    properties: list[Property] = Field(default_factory=list)
    sessionId: str | None = None


class MessageData(BaseModel):
    model_config = ConfigDict(extra="allow")

    data: Any


class SendMessageRequest(BaseModel):
    """sendMessage: the envelope signed by the sender's system certificate."""

    messageInfo: MessageInfo
    messageData: MessageData
    signature: str = Field(description="base64 DER CMS, detached, over JCS({messageInfo minus sender.password, messageData})")


class SendMessageResponse(BaseModel):
    messageId: str
    correlationId: str
    responseDate: str


class SendMessagesRequest(BaseModel):
    """sendMessage for many envelopes: each signed by its sender, as in sendMessage."""

    messages: list[SendMessageRequest] = Field(min_length=1, max_length=500)


class BatchResult(BaseModel):
    messageId: str | None = None
    correlationId: str | None = None
    #: the error body's ``error`` object when this envelope was refused
    error: dict | None = None
    retryable: bool | None = None


class SendMessagesResponse(BaseModel):
    results: list[BatchResult]
    responseDate: str


class ErrorInfo(BaseModel):
    errorCode: str
    errorMessage: str | None = None
    errorData: Any = None
    errorDate: str | None = None
    subError: "ErrorInfo | None" = None
    sessionId: str | None = None


class DeliveryStatus(BaseModel):
    receiveStatus: Literal["DELIVERED", "NOT_DELIVERED"]
    statusDate: str | None = None
    resendMessage: bool = False
    error: ErrorInfo | None = None


class DeliveryNotification(BaseModel):
    """sendDeliveryNotification: the recipient confirms (or refuses) a delivered message."""

    messageId: str | None = None
    serviceId: str
    sender: SenderInfo
    deliveryStatus: DeliveryStatus


class DeliveryNote(BaseModel):
    messageId: str = Field(min_length=1, max_length=64)
    serviceId: str = Field(max_length=64)
    deliveryStatus: DeliveryStatus


class DeliveryNotifications(BaseModel):
    """sendDeliveryNotification for many messages at once (an extension of the channel: a recipient
    confirms what one poll of its topic brought in one call)."""

    sender: SenderInfo
    notifications: list[DeliveryNote] = Field(min_length=1, max_length=1000)


class MessageStatusInfo(BaseModel):
    statusCode: str
    statusMessage: str | None = None
    statusDate: str | None = None


class MessageStatusResponse(BaseModel):
    messageId: str
    correlationId: str
    messageState: Literal["ON_DELIVERY", "DELIVERED", "NOT_DELIVERED", "DELIVERY_STOPPED"]
    status: MessageStatusInfo
    attempts: int
    error: ErrorInfo | None = None


class SyncReply(BaseModel):
    """The recipient's answer to a sync call, signed by its system certificate over
    JCS({messageId, responseData, errorInfo})."""

    sender: SenderInfo
    responseData: MessageData | None = None
    errorInfo: ErrorInfo | None = None
    signature: str


class SyncResponse(BaseModel):
    responseInfo: dict
    responseData: MessageData | None = None
    signature: str = Field(description="the recipient's CMS over JCS({messageId, responseData, errorInfo})")
    gatewaySignature: str = Field(description="the gateway's CMS over JCS({responseInfo, responseData, signature})")
