"""The gateway's SYNC channel from both ends (docs/gateway-protocol.md, "Sync channel").

* :class:`SyncClient` — a caller: signs a ШЭП envelope with its system certificate, posts it to
  ``POST /shep/v1/sync`` and waits for the answer; checks the gateway's countersignature and the
  recipient's signature over what comes back, and returns ``responseData.data``.
* :class:`SyncResponder` — a recipient: consumes its topic ``shep.deliver.<system>``, checks the
  gateway's countersignature and the sender's signature, runs the handler of the serviceId and
  replies with ``POST /shep/v1/sync/{messageId}/reply``, signed over
  JCS({messageId, responseData, errorInfo}).

The failure model of ``shared/errors.py`` holds end to end. A caller gets an :class:`ApiError`:

* **retryable** (an outage: the gateway unreachable, 5xx, 429, ``SYNC_TIMEOUT``, or the recipient
  answering with a retryable code such as ``UNAVAILABLE``) — the caller tries again later (a consumer
  leaves its message to redelivery; an HTTP handler answers 503 with Retry-After);
* **permanent** — the recipient's own verdict (its ErrorInfo's ``errorCode`` when the catalogue
  knows it, e.g. ``PERSON_NOT_FOUND``, ``PAYMENT_NOT_FOUND``), or the gateway's refusal
  (``ACCESS_DENIED``, ...).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable

import httpx
import structlog
from aiokafka import AIOKafkaConsumer

from opentelemetry.trace import SpanKind

from shared import envelope, jcs, telemetry
from shared.errors import CATALOGUE, ApiError
from shared.messaging.retry import Backoff
from shared.signing import Signer, TrustStore
from shared.topics import MessageType, SystemId, deliver_topic

log = structlog.get_logger("sync")


def reply_signed_bytes(message_id: str, response_data: dict | None, error_info: dict | None) -> bytes:
    """What a recipient signs in its reply (the gateway checks the same bytes)."""
    return envelope.canonical({"messageId": message_id, "responseData": response_data, "errorInfo": error_info})


def response_signed_bytes(answer: dict) -> bytes:
    """What the gateway countersigns in the answer to the caller."""
    return envelope.canonical({k: answer.get(k) for k in ("responseInfo", "responseData", "signature")})


# --- the caller -----------------------------------------------------------------------------------


@dataclass
class SyncAnswer:
    message_id: str
    #: ``responseData.data`` of the recipient's reply
    data: Any
    #: the system that signed the reply (its certificate's CN)
    recipient_id: str | None = None
    raw: dict = field(default_factory=dict)


class SyncClient:
    """One system's calls over the sync channel. ``trust`` None skips checking the answer's
    signatures (tests); a service passes its TrustStore."""

    def __init__(self, gateway_url: str, system_id: str, password: str, signer: Signer,
                 trust: TrustStore | None = None, *, timeout_seconds: float = 10.0):
        self.url = gateway_url.rstrip("/") + "/shep/v1/sync"
        self.system_id = system_id
        self.password = password
        self.signer = signer
        self.trust = trust
        self.timeout_seconds = timeout_seconds
        self.http = telemetry.http_client(timeout=timeout_seconds + 5)

    def envelope(self, service_id: str, data: dict, *, correlation_id: str | None = None,
                 message_id: str | None = None, timeout_seconds: float | None = None) -> dict:
        props = {"timeoutSeconds": f"{timeout_seconds or self.timeout_seconds:g}"}
        traceparent = telemetry.current_traceparent()
        if traceparent:  # the call continues the caller's trace, to the recipient and back (shared/telemetry.py)
            props[telemetry.TRACEPARENT] = traceparent
        env = envelope.build(service_id=service_id, message_type=MessageType.REQUEST, data=data,
                             sender_id=self.system_id, correlation_id=correlation_id, message_id=message_id,
                             properties=props)
        envelope.sign(env, self.signer)
        env["messageInfo"]["sender"]["password"] = self.password
        return env

    async def call(self, service_id: str, data: dict, *, correlation_id: str | None = None,
                   timeout_seconds: float | None = None) -> SyncAnswer:
        env = self.envelope(service_id, data, correlation_id=correlation_id, timeout_seconds=timeout_seconds)
        message_id = env["messageInfo"]["messageId"]
        try:
            r = await self.http.post(self.url, json=env)
        except httpx.HTTPError as exc:
            raise ApiError("UNAVAILABLE", detail=f"gateway unreachable for {service_id}: {exc.__class__.__name__}")
        if r.status_code == 200:
            answer = r.json()
            recipient = await self._check(answer, message_id)
            return SyncAnswer(message_id, (answer.get("responseData") or {}).get("data"), recipient, answer)
        raise _refusal(r, service_id)

    async def _check(self, answer: dict, message_id: str) -> str | None:
        """The gateway's countersignature and the recipient's signature over the answer; a retryable
        SignatureError (the НУЦ cannot be asked) propagates as the outage it is."""
        if self.trust is None:
            return None
        try:
            gw = await self.trust.verify(answer["gatewaySignature"], response_signed_bytes(answer))
            if gw.signer.common_name != SystemId.GATEWAY:
                raise ApiError("ENVELOPE_INVALID", detail=f"answer countersigned by {gw.signer.common_name}")
            rec = await self.trust.verify(answer["signature"],
                                          reply_signed_bytes(message_id, answer.get("responseData"), None))
        except ApiError as exc:
            if exc.retryable:
                raise
            raise ApiError("ENVELOPE_INVALID", detail=f"the answer's signatures do not verify: {exc.code}")
        except (KeyError, TypeError):
            raise ApiError("ENVELOPE_INVALID", detail="the answer is not signed")
        return rec.signer.common_name

    async def aclose(self) -> None:
        await self.http.aclose()


def _refusal(r: httpx.Response, service_id: str) -> ApiError:
    """The gateway's error answer as an ApiError: the recipient's own code (from ``subError``) when
    the catalogue knows it, else the gateway's; anything unknown at 5xx/429 is an outage."""
    try:
        err = r.json()["error"]
        code = err["code"]
    except Exception:
        err, code = {}, None
    retry_after = _retry_after(r)
    if code == "RECIPIENT_ERROR":
        sub = err.get("subError") or {}
        sub_code = sub.get("errorCode")
        if sub_code in CATALOGUE:
            return ApiError(sub_code, detail=sub.get("errorMessage"))
        return ApiError("RECIPIENT_ERROR", detail=f"{service_id}: {sub_code}", extra={"subError": sub})
    if code in CATALOGUE and (CATALOGUE[code].retryable or r.status_code < 500):
        return ApiError(code, detail=f"gateway answered {r.status_code} for {service_id}", retry_after=retry_after)
    return ApiError("UNAVAILABLE", detail=f"gateway answered {r.status_code} for {service_id}", retry_after=retry_after)


def _retry_after(r: httpx.Response) -> int | None:
    try:
        return max(1, int(float(r.headers["retry-after"])))
    except (KeyError, ValueError):
        return None


# --- the recipient --------------------------------------------------------------------------------


@dataclass
class SyncRequest:
    """One sync call as a handler sees it (signatures already checked)."""

    message_id: str
    correlation_id: str | None
    service_id: str
    sender_id: str
    data: Any
    envelope: dict


#: a handler returns ``responseData.data``, or raises an ApiError (its code goes back as ErrorInfo)
SyncHandler = Callable[[SyncRequest], Awaitable[dict]]


def error_info(exc: ApiError) -> dict:
    """An ApiError as the ШЭП ErrorInfo of a reply: the catalogue code, the Russian message (the
    caller has the catalogue for Kazakh), and the step and detail in errorData."""
    return {"errorCode": exc.code, "errorMessage": exc.detail or exc.spec.message_ru,
            "errorData": {"message_ru": exc.spec.message_ru, "message_kk": exc.spec.message_kk, "step": exc.step,
                          "retryable": exc.retryable},
            "errorDate": envelope.now_iso()}


class SyncResponder:
    """Answers the sync calls delivered to ``system_id``'s topic, one handler per serviceId.

    A record older than ``max_age_seconds`` (a call the caller gave up on long ago: the responder
    was down) is not answered — the gateway has stopped it. Records of one poll are answered
    concurrently; the offsets are committed after the poll. A redelivered call that was already
    answered gets MESSAGE_NOT_FOUND from the gateway, which is ignored: a handler that writes
    (a payment) must be idempotent on ``message_id``."""

    def __init__(self, *, system_id: str, bootstrap: str, gateway_url: str, password: str, signer: Signer,
                 trust: TrustStore, handlers: dict[str, SyncHandler], max_age_seconds: float = 60.0,
                 backoff: Backoff = Backoff(1.0, 15.0)):
        self.system_id = system_id
        self.bootstrap = bootstrap
        self.base = gateway_url.rstrip("/") + "/shep/v1/sync"
        self.password = password
        self.signer = signer
        self.trust = trust
        self.handlers = handlers
        self.max_age = timedelta(seconds=max_age_seconds)
        self.backoff = backoff
        self.connected = False
        self.http = telemetry.http_client(timeout=10)

    async def run(self) -> None:
        failures = 0
        while True:
            consumer = AIOKafkaConsumer(deliver_topic(self.system_id), bootstrap_servers=self.bootstrap,
                                        group_id=self.system_id, enable_auto_commit=False,
                                        auto_offset_reset="earliest", metadata_max_age_ms=5000)
            try:
                await consumer.start()
                self.connected = True
                while True:
                    batch = await consumer.getmany(timeout_ms=1000, max_records=200)
                    if batch:
                        await asyncio.gather(*(self.handle(r.value) for records in batch.values() for r in records))
                        await consumer.commit()
                        failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                log.warning("sync responder reconnecting", system=self.system_id, error=str(exc))
                await asyncio.sleep(self.backoff.delay(failures))
            finally:
                self.connected = False
                try:
                    await consumer.stop()
                except Exception:
                    pass

    async def handle(self, raw: bytes) -> str:
        """Answer one delivered record: ANSWERED, REFUSED (an ErrorInfo sent), STALE, UNREADABLE, or
        UNSENT (the reply could not be delivered to the gateway)."""
        try:
            env = jcs.loads(raw)
            info = env["deliveryInfo"]
            req = SyncRequest(info["messageId"], info.get("correlationId"), env["messageInfo"]["serviceId"],
                              env["messageInfo"]["sender"]["senderId"], (env.get("messageData") or {}).get("data"), env)
            received = datetime.fromisoformat(info["receivedAt"])
        except (ValueError, KeyError, TypeError):
            log.error("undecodable sync record dropped", system=self.system_id)
            return "UNREADABLE"
        if received.tzinfo is None:
            received = received.replace(tzinfo=timezone.utc)
        if datetime.now(timezone.utc) - received > self.max_age:
            log.info("stale sync call not answered", message_id=req.message_id, service_id=req.service_id)
            return "STALE"
        with telemetry.span(f"sync answer {req.service_id}", kind=SpanKind.CONSUMER,
                            parent=envelope.properties(env).get(telemetry.TRACEPARENT),
                            **{"messaging.message.id": req.message_id}):
            outcome = await self._answer(req)
            log.info("sync call answered", message_id=req.message_id, service_id=req.service_id,
                     sender_id=req.sender_id, outcome=outcome)
            return outcome

    async def _answer(self, req: SyncRequest) -> str:
        try:
            await self._check(req)
            handler = self.handlers.get(req.service_id)
            if handler is None:
                raise ApiError("SERVICE_NOT_FOUND", detail=f"{self.system_id} does not serve {req.service_id}")
            data, error = {"data": await handler(req)}, None
        except ApiError as exc:
            data, error = None, error_info(exc)
        except Exception as exc:  # an outage here (the database): retryable for the caller
            log.exception("sync handler failed", message_id=req.message_id, service_id=req.service_id)
            data, error = None, error_info(ApiError("UNAVAILABLE", detail=f"{req.service_id}: {exc.__class__.__name__}"))
        sent = await self.reply(req.message_id, data, error)
        return "UNSENT" if not sent else ("REFUSED" if error else "ANSWERED")

    async def _check(self, req: SyncRequest) -> None:
        """The gateway's countersignature and the sender's signature, as for any delivered message."""
        try:
            gw = (await envelope.verify_gateway(req.envelope, self.trust)).signer
            sender = (await envelope.verify_sender(req.envelope, self.trust)).signer
        except ApiError as exc:
            if exc.retryable:
                raise
            raise ApiError("SENDER_SIGNATURE_INVALID", detail=exc.code)
        except (KeyError, TypeError):
            raise ApiError("ENVELOPE_INVALID", detail="signature missing")
        if gw.common_name != SystemId.GATEWAY or sender.common_name != req.sender_id:
            raise ApiError("SENDER_SIGNATURE_INVALID", detail=f"signed by {sender.common_name}, not {req.sender_id}")

    def reply_body(self, message_id: str, data: dict | None, error: dict | None) -> dict:
        return {"sender": {"senderId": self.system_id, "password": self.password},
                "responseData": data, "errorInfo": error,
                "signature": self.signer.sign(reply_signed_bytes(message_id, data, error))}

    async def reply(self, message_id: str, data: dict | None, error: dict | None) -> bool:
        body = self.reply_body(message_id, data, error)
        for attempt in range(1, 4):
            try:
                r = await self.http.post(f"{self.base}/{message_id}/reply", json=body)
            except httpx.HTTPError as exc:
                log.warning("sync reply not delivered", message_id=message_id, error=exc.__class__.__name__)
            else:
                if r.status_code < 300:
                    return True
                if r.status_code < 500 and r.status_code != 429:  # MESSAGE_NOT_FOUND: the call is over
                    log.info("sync reply refused", message_id=message_id, status=r.status_code, body=r.text[:300])
                    return False
            await asyncio.sleep(0.2 * attempt)
        return False

    async def aclose(self) -> None:
        await self.http.aclose()
