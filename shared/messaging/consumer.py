"""Idempotent consumption of what the gateway delivers to a system's Kafka topic.

For each record, in this order:

1. decode it; a message already in the inbox is confirmed again and not applied twice;
2. check the gateway's countersignature and the sender's signature, and the handler's own
   ``check`` (e.g. the applicant's signature) — all **before** any database transaction, so a
   slow НУЦ holds no lock;
3. in one transaction, apply the handler and insert the inbox row;
4. confirm delivery to the gateway (sendDeliveryNotification), and the Kafka offset is committed.

What goes wrong is sorted by the failure model of ``shared/errors.py``:

* **an outage** (the НУЦ cannot be asked, the database is down, a retryable refusal, any
  unexpected error) — nothing is written; the gateway is told ``NOT_DELIVERED`` with
  ``resendMessage: true`` (or nothing, if it cannot be reached) and redelivers the message later
  with backoff. An outage never becomes a refusal or a dead letter;
* **a verdict** (a bad signature, a malformed message, a refusal the handler raises as a
  permanent ``ApiError``) — the message is recorded as REJECTED in the inbox with the reason and
  refused to the gateway (``NOT_DELIVERED``), which moves it to the dead-letter topic.

A crash anywhere before the confirmation means the gateway redelivers, and the inbox makes the
second delivery a no-op that is confirmed again.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import httpx
import structlog
from aiokafka import AIOKafkaConsumer
from opentelemetry.trace import SpanKind
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from shared import envelope, jcs, telemetry
from shared.db import Database, utcnow
from shared.errors import ApiError
from shared.messaging.retry import Backoff
from shared.signing import TrustStore
from shared.topics import SystemId, deliver_topic

log = structlog.get_logger("consumer")


#: how many messages of one poll are checked at the same time
CHECKS_AT_ONCE = 16


@dataclass
class Delivered:
    """One message the gateway delivered, as a handler sees it."""

    envelope: dict
    message_id: str
    correlation_id: str
    service_id: str
    message_type: str
    sender_id: str
    #: ``messageData.data``, validated by the handler's ``schema`` when it has one
    data: Any = None
    #: what the handler's ``check`` returned
    checked: Any = None


@dataclass(frozen=True)
class Handler:
    """What a system does with the messages of one serviceId.

    ``schema`` — the model ``messageData.data`` must satisfy (else a permanent ENVELOPE_INVALID);
    ``check(msg)`` — work before the transaction (signatures over HTTP and CPU); raise an
    ``ApiError`` to refuse (a retryable one to have the message redelivered later); its result
    is ``msg.checked``; ``apply(session, msg)`` — the effect, in the transaction with the inbox row.
    """

    apply: Callable[[AsyncSession, Delivered], Awaitable[None]]
    schema: type[BaseModel] | None = None
    check: Callable[[Delivered], Awaitable[Any]] | None = None


class _Deferred(Exception):
    """The message cannot be applied now (an outage): leave it to the gateway's redelivery."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class GatewayClient:
    """The calls a recipient makes back to the gateway."""

    def __init__(self, gateway_url: str, system_id: str, password: str):
        self.base = gateway_url.rstrip("/") + "/shep/v1"
        self.system_id = system_id
        self.password = password
        self.http = telemetry.http_client(timeout=10)

    async def confirm_many(self, notes: list[dict]) -> bool:
        """Many delivery notifications in one call (``POST /shep/v1/async/delivery``): each
        :func:`note`. A failure leaves them unconfirmed: the gateway redelivers, the inbox dedups."""
        if not notes:
            return True
        body = {"sender": {"senderId": self.system_id, "password": self.password}, "notifications": notes}
        try:
            r = await self.http.post(f"{self.base}/async/delivery", json=body)
            return r.status_code < 300
        except httpx.HTTPError:
            return False

    async def close(self) -> None:
        await self.http.aclose()


def _lag(consumer: AIOKafkaConsumer, read: dict) -> int:
    """What is left on the partitions this consumer holds, after every poll (an idle one too): from the
    high-water marks its fetches brought back, so nothing here waits on the broker."""
    held = consumer.assignment()
    for tp in [tp for tp in read if tp not in held]:  # taken over by another consumer of the group
        del read[tp]
    return sum(max(0, (consumer.highwater(tp) or 0) - offset) for tp, offset in read.items())


def _traceparent(msg: "Delivered") -> str | None:
    """The trace the message carries (its envelope's properties, signed with it)."""
    return envelope.properties(msg.envelope).get(telemetry.TRACEPARENT)


def _error_info(code: str, message: str) -> dict:
    return {"errorCode": code, "errorMessage": message[:2000], "errorDate": envelope.now_iso()}


def note(message_id: str, service_id: str, *, error: dict | None = None, resend: bool = False) -> dict:
    """A delivery notification: DELIVERED; or NOT_DELIVERED with the ErrorInfo — ``resend=True`` asks
    for a redelivery later (an outage here), otherwise the refusal is final (a dead letter)."""
    return {"messageId": message_id, "serviceId": service_id,
            "deliveryStatus": {"receiveStatus": "NOT_DELIVERED" if error else "DELIVERED",
                               "statusDate": envelope.now_iso(), "resendMessage": resend, "error": error}}


class GatewayConsumer:
    def __init__(
        self,
        *,
        system_id: str,
        bootstrap: str,
        db: Database,
        inbox_model,
        trust: TrustStore,
        handlers: dict[str, Handler],
        gateway: GatewayClient,
        backoff: Backoff = Backoff(1.0, 15.0),
    ):
        self.system_id = system_id
        self.bootstrap = bootstrap
        self.db = db
        self.inbox_model = inbox_model
        self.trust = trust
        self.handlers = handlers
        self.gateway = gateway
        self.backoff = backoff
        self.connected = False
        #: delivery notifications of the records processed since the last flush, and their messages' traces
        self._notes: list[dict] = []
        self._traces: list[str | None] = []

    async def run(self) -> None:
        """Consume forever; reconnect (with backoff) after the broker goes away (it may restart empty)."""
        failures = 0
        while True:
            consumer = AIOKafkaConsumer(
                deliver_topic(self.system_id),
                bootstrap_servers=self.bootstrap,
                group_id=self.system_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                metadata_max_age_ms=5000,
            )
            #: per partition, the offset after the last record read
            read: dict = {}
            try:
                await consumer.start()
                self.connected = True
                while True:
                    batch = await consumer.getmany(timeout_ms=1000, max_records=200)
                    if batch:
                        await self.handle([r.value for records in batch.values() for r in records])
                        await self.flush()
                        await consumer.commit()
                        failures = 0
                        read.update({tp: records[-1].offset + 1 for tp, records in batch.items()})
                    telemetry.CONSUMER_LAG.labels(self.system_id).set(_lag(consumer, read))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                log.warning("consumer reconnecting", system=self.system_id, error=str(exc))
                await asyncio.sleep(self.backoff.delay(failures))
            finally:
                self.connected = False
                try:
                    await consumer.stop()
                except Exception:
                    pass

    async def process(self, raw: bytes) -> str | None:
        """Handle one record and confirm it; returns the outcome (see :meth:`handle`)."""
        [outcome] = await self.handle([raw])
        await self.flush()
        return outcome

    async def flush(self) -> None:
        """Send the delivery notifications of what was handled since the last flush, in one call."""
        notes, self._notes, traces, self._traces = self._notes, [], self._traces, []
        if not notes:
            return
        with telemetry.batch_span("confirm delivery", traces, messages=len(notes)):
            await self.gateway.confirm_many(notes)

    async def handle(self, raws: list[bytes]) -> list[str | None]:
        """Handle the records of one poll, in order; their delivery notifications wait for
        :meth:`flush`. Each outcome is APPLIED, REJECTED, DUPLICATE, DEFERRED, or None for a record
        that is not an envelope at all. The checks run first, outside any transaction; then every
        message that passed is applied — each in a savepoint of its own — with its inbox row, in one
        transaction for the whole poll."""
        msgs = [self._decode(raw) for raw in raws]
        outcomes: list[str | None] = [None] * len(msgs)
        try:
            async with self.db.read() as s:
                ids = [m.message_id for m in msgs if m is not None]
                seen = {r.message_id: r for r in await s.scalars(
                    select(self.inbox_model).where(self.inbox_model.message_id.in_(ids)))}
        except Exception:
            log.exception("inbox not readable; the poll is left to redelivery")
            return ["DEFERRED" if m is not None else None for m in msgs]
        pending: list[tuple[int, Delivered, str | None]] = []
        taken: set[str] = set()
        to_check: list[tuple[int, Delivered]] = []
        limit = asyncio.Semaphore(CHECKS_AT_ONCE)
        for i, msg in enumerate(msgs):
            if msg is None:
                continue
            if msg.message_id in seen or msg.message_id in taken:
                row = seen.get(msg.message_id)
                log.info("duplicate delivery ignored", message_id=msg.message_id)
                if row is not None:
                    self._confirm(msg, rejection=row.reason if row.outcome == "REJECTED" else None)
                outcomes[i] = "DUPLICATE"
                continue
            taken.add(msg.message_id)
            to_check.append((i, msg))
        # the checks (signatures, OCSP, a registry asked over the sync channel) of one poll run side by
        # side: a slow answer holds the poll for its own time, not for the sum of them all
        checked = await asyncio.gather(*(self._checked(msg, limit) for _, msg in to_check))
        for (i, msg), (rejection, deferred) in zip(to_check, checked):
            if deferred is not None:
                outcomes[i] = self._defer(msg, deferred)
            else:
                pending.append((i, msg, rejection))
        try:
            recorded = await self._record(pending)
        except Exception:
            # the database or something unforeseen: not confirmed, the gateway redelivers them later
            log.exception("poll not applied; left to redelivery", messages=len(pending))
            for i, _, _ in pending:
                outcomes[i] = "DEFERRED"
            return outcomes
        for (i, msg, _), (outcome, reason) in zip(pending, recorded):
            outcomes[i] = outcome
            if outcome == "DEFERRED":
                self._defer(msg, reason)
            else:
                self._confirm(msg, rejection=reason)
        for msg, outcome in zip(msgs, outcomes):
            telemetry.CONSUMED.labels(self.system_id, msg.service_id if msg else "", outcome or "UNDECODABLE").inc()
        return outcomes

    def _decode(self, raw: bytes) -> Delivered | None:
        try:
            env = jcs.loads(raw)
            info = env["deliveryInfo"]
            return Delivered(env, info["messageId"], info["correlationId"], env["messageInfo"]["serviceId"],
                             env["messageInfo"]["messageType"], env["messageInfo"]["sender"]["senderId"])
        except (ValueError, KeyError, TypeError):
            log.error("undecodable record dropped", system=self.system_id)
            return None

    def _defer(self, msg: Delivered, reason: str) -> str:
        log.warning("message deferred: the gateway redelivers it later", message_id=msg.message_id,
                    reason=reason[:300])
        self._traces.append(_traceparent(msg))
        self._notes.append(note(msg.message_id, msg.service_id, resend=True,
                                error=_error_info(reason.split(":")[0], reason)))
        return "DEFERRED"

    async def _checked(self, msg: Delivered, limit: asyncio.Semaphore) -> tuple[str | None, str | None]:
        """(the reason of a permanent rejection or None, the reason of a deferral or None), in the
        message's trace (its OCSP and sync calls carry it on)."""
        async with limit:
            with telemetry.span(f"check {msg.service_id}", kind=SpanKind.CONSUMER, parent=_traceparent(msg),
                                **{"messaging.message.id": msg.message_id}):
                try:
                    return await self._checks(msg), None
                except _Deferred as exc:
                    return None, exc.reason

    async def _checks(self, msg: Delivered) -> str | None:
        """Everything before the transaction; returns the reason of a permanent rejection, or None."""
        try:
            gw = (await envelope.verify_gateway(msg.envelope, self.trust)).signer
            if gw.common_name != SystemId.GATEWAY:
                return f"ENVELOPE_INVALID: countersigned by {gw.common_name}, not the gateway"
            sender = (await envelope.verify_sender(msg.envelope, self.trust)).signer
            if sender.common_name != msg.sender_id:
                return f"ENVELOPE_INVALID: signed by {sender.common_name}, not {msg.sender_id}"
        except ApiError as exc:  # SignatureError
            if exc.retryable:
                raise _Deferred(f"{exc.code}: {exc.detail or ''}")
            return f"SENDER_SIGNATURE_INVALID: {exc.code} {exc.detail or ''}"
        except (KeyError, TypeError):
            return "ENVELOPE_INVALID: signature missing"
        handler = self.handlers.get(msg.service_id)
        if handler is None:
            return f"SERVICE_NOT_FOUND: {self.system_id} does not serve {msg.service_id}"
        data = (msg.envelope.get("messageData") or {}).get("data")
        if handler.schema is not None:
            try:
                data = handler.schema.model_validate(data)
            except ValidationError as exc:
                first = exc.errors()[0]
                return f"ENVELOPE_INVALID: messageData.data {'/'.join(map(str, first['loc']))}: {first['msg']}"
        msg.data = data
        if handler.check is not None:
            try:
                msg.checked = await handler.check(msg)
            except ApiError as exc:
                if exc.retryable:
                    raise _Deferred(f"{exc.code}: {exc.detail or ''}")
                return f"{exc.code}: {exc.detail or ''}"
        return None

    async def _record(self, pending: list[tuple[int, Delivered, str | None]]) -> list[tuple[str, str | None]]:
        """The effects and the inbox rows, in one transaction; per message (outcome, reason). A
        handler's permanent refusal is recorded (REJECTED); a retryable one, or an unexpected error
        of that message alone, rolls its savepoint back and leaves it to redelivery (DEFERRED)."""
        out: list[tuple[str, str | None]] = []
        if not pending:
            return out
        async with self.db.session() as s:
            ids = [msg.message_id for _, msg, _ in pending]
            known = set(await s.scalars(select(self.inbox_model.message_id)
                                        .where(self.inbox_model.message_id.in_(ids))))
            for _, msg, rejection in pending:
                if msg.message_id in known:  # applied meanwhile (another consumer of the group)
                    out.append(("DUPLICATE", None))
                    continue
                if rejection is None:
                    try:
                        async with s.begin_nested():
                            with telemetry.span(f"apply {msg.service_id}", kind=SpanKind.CONSUMER,
                                                parent=_traceparent(msg),
                                                **{"messaging.message.id": msg.message_id,
                                                   "shep.correlation_id": msg.correlation_id}):
                                await self.handlers[msg.service_id].apply(s, msg)
                                log.info("message applied", message_id=msg.message_id, service_id=msg.service_id,
                                         correlation_id=msg.correlation_id, sender_id=msg.sender_id)
                    except ApiError as exc:
                        if exc.retryable:
                            out.append(("DEFERRED", f"{exc.code}: {exc.detail or ''}"))
                            continue
                        rejection = f"{exc.code}: {exc.detail or ''}"
                    except SQLAlchemyError:
                        raise  # the database itself: the whole poll waits for redelivery
                    except Exception as exc:
                        log.exception("message not applied; left to redelivery", message_id=msg.message_id)
                        out.append(("DEFERRED", f"INTERNAL_ERROR: {exc.__class__.__name__}"))
                        continue
                outcome = "REJECTED" if rejection else "APPLIED"
                s.add(self.inbox_model(message_id=msg.message_id, correlation_id=msg.correlation_id,
                                       service_id=msg.service_id, sender_id=msg.sender_id, received_at=utcnow(),
                                       outcome=outcome, reason=rejection))
                out.append((outcome, rejection))
        return out

    def _confirm(self, msg: Delivered, *, rejection: str | None) -> None:
        if rejection:
            log.warning("message rejected", message_id=msg.message_id, reason=rejection)
        error = _error_info(rejection.split(":")[0], rejection) if rejection else None
        self._traces.append(_traceparent(msg))
        self._notes.append(note(msg.message_id, msg.service_id, error=error))
