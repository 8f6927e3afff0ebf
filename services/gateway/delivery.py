"""Delivery to the recipients' Kafka topics, and redelivery of what they have not confirmed.

The messages table is the gateway's outbox: a message stays ON_DELIVERY until its
recipient confirms it; the relay produces it (keyed by correlationId, so one request's
messages keep their order) and produces it again, with backoff (``redelivery_seconds``
doubling up to a cap, with jitter), until then — the embedded broker keeps messages in
memory only and may restart empty, and a recipient may be down or waiting for the НУЦ.

A recipient visibly working through a backlog is not sent again what it has not reached yet: when
it confirmed, within the last ``hold_seconds``, messages accepted up to some moment, a message
accepted after that moment is still waiting in its topic, and producing it again would only add to
the queue (and to the work of the gateway and of the recipient, which would confirm a duplicate).
Such a redelivery is put off, not counted as an attempt; once the recipient has confirmed nothing
for ``hold_seconds`` (it died, or the broker restarted empty), every due message is produced again.

A message not confirmed by its ``deliver_until`` (``gateway_delivery_ttl_seconds`` after it
was accepted) is DELIVERY_STOPPED and goes to the dead-letter topic with the reason; so does a
message its recipient refused for good (NOT_DELIVERED). Neither blocks the messages behind it,
and ``egov dead-letters resend`` (or the admin API) puts them back in line.
"""
from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import UnknownError

from shared import envelope, telemetry
from shared.db import Database, utcnow
from shared.messaging.broker import ensure_topics
from shared.messaging.retry import Backoff
from shared.topics import DEAD_LETTER_TOPIC, Header, MessageState, deliver_topic

from . import repository
from .models import Message

log = structlog.get_logger("delivery")
STORAGE_CONFLICT_RETRIES = 500


class DeliveryRelay:
    def __init__(self, db: Database, bootstrap: str, *, backoff: Backoff, poll_seconds: float = 0.5,
                 hold_seconds: float | None = None):
        self.db = db
        self.bootstrap = bootstrap
        #: the delay before the n-th redelivery of an unconfirmed message
        self.backoff = backoff
        self.poll_seconds = poll_seconds
        self.wakeup = asyncio.Event()
        self.producer: AIOKafkaProducer | None = None
        #: messages accepted a moment ago, to be produced at once (the fast path)
        self._fresh: asyncio.Queue[Message] = asyncio.Queue()
        #: how long a recipient's confirmations count as "it is working through its topic"
        self.hold_seconds = backoff.base if hold_seconds is None else hold_seconds
        #: per recipient: the newest acceptance time among the messages it confirmed, and when that moved
        self._read_up_to: dict[str, tuple[datetime, float]] = {}

    @property
    def connected(self) -> bool:
        return self.producer is not None

    def read_up_to(self, recipient: str, confirmed: list[Message]) -> None:
        """The recipient confirmed these messages: how far it has read its topic."""
        if not confirmed:
            return
        newest = max(m.received_at for m in confirmed)
        seen = self._read_up_to.get(recipient)
        if seen is None or newest > seen[0]:
            self._read_up_to[recipient] = (newest, time.monotonic())

    def _not_reached_yet(self, m: Message) -> bool:
        """The recipient is reading its topic (it confirmed within ``hold_seconds``) and has not come
        to ``m``: every message it confirmed was accepted before ``m``."""
        seen = self._read_up_to.get(m.recipient_id)
        return seen is not None and m.received_at > seen[0] and time.monotonic() - seen[1] < self.hold_seconds

    def hand_over(self, m: Message) -> None:
        """A message just accepted (and committed, counted as its first attempt): produce it now.
        If that fails, or this process dies first, the poll produces it again when it falls due."""
        self._fresh.put_nowait(m)

    async def produce_fresh(self) -> None:
        """The fast path: produce what was just accepted, many records at a time, without a query."""
        while True:
            batch = [await self._fresh.get()]
            while not self._fresh.empty() and len(batch) < 500:
                batch.append(self._fresh.get_nowait())
            producer = self.producer
            if producer is None:
                continue  # not connected: the poll delivers them when they fall due
            sent = [await producer.send(deliver_topic(m.recipient_id), _value(m), key=m.correlation_id.encode(),
                                        headers=_headers(m, 1)) for m in batch]
            results = await asyncio.gather(*sent, return_exceptions=True)
            failed = sum(isinstance(r, Exception) for r in results)
            if failed:
                log.warning("fast delivery failed; the poll redelivers", failed=failed, of=len(batch))

    async def run(self) -> None:
        fast = asyncio.create_task(self.produce_fresh())
        try:
            await self._poll()
        finally:
            fast.cancel()
            await asyncio.gather(fast, return_exceptions=True)

    async def _poll(self) -> None:
        failures = 0
        while True:
            try:
                if self.producer is None:
                    await ensure_topics(self.bootstrap, await self._recipients())
                    producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", request_timeout_ms=10000)
                    await producer.start()
                    self.producer = producer
                await self.deliver_due()
                await self.dead_letters()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                log.warning("delivery pass failed; reconnecting", error=f"{exc.__class__.__name__}: {exc}")
                await self._drop_producer()
                await asyncio.sleep(Backoff(0.5, 10.0).delay(failures))
                continue
            failures = 0
            try:
                await asyncio.wait_for(self.wakeup.wait(), self.poll_seconds)
            except asyncio.TimeoutError:
                pass
            self.wakeup.clear()

    async def _recipients(self) -> list[str]:
        async with self.db.session() as s:
            return [x.system_id for x in await repository.systems(s)]

    async def deliver_due(self) -> None:
        """Produce again what is due and not confirmed (oldest first, 200 at a time), put off what
        the recipient has not reached yet, stop what is past its ``deliver_until``; the bookkeeping
        of each 200 in one transaction."""
        while True:
            now = utcnow()
            async with self.db.read() as s:
                rows = await repository.due(s, now)
            if not rows:
                return
            produced, held, stopped = [], [], []
            for m in rows:
                if m.deliver_until is not None and m.deliver_until < now:
                    stopped.append(m)
                elif self._not_reached_yet(m):
                    held.append(m)
                else:
                    await self._send(deliver_topic(m.recipient_id), _value(m), key=m.correlation_id.encode(),
                                     headers=_headers(m, m.attempts + 1))
                    produced.append(m)
            await self._record_pass(produced, held, stopped)

    async def _record_pass(self, produced: list[Message], held: list[Message], stopped: list[Message]) -> None:
        now = utcnow()
        async with self.db.session() as s:
            rows = await repository.messages(s, [m.message_id for m in produced + held + stopped],
                                             state=MessageState.ON_DELIVERY)
            for m in stopped:
                if (row := rows.get(m.message_id)) is not None:
                    row.state = MessageState.DELIVERY_STOPPED
                    row.status_message = f"not confirmed after {m.attempts} deliveries, by {m.deliver_until.isoformat()}"
                    row.dead_letter_pending = True
                    log.error("delivery stopped", message_id=m.message_id)
            for m in produced:
                if (row := rows.get(m.message_id)) is not None:
                    telemetry.REDELIVERIES.labels(m.recipient_id).inc()
                    row.attempts += 1
                    row.last_attempt_at = now
                    row.next_attempt_at = now + timedelta(seconds=self.backoff.delay(row.attempts))
            for m in held:  # not an attempt: looked at again when the recipient may have come to it
                if (row := rows.get(m.message_id)) is not None:
                    row.next_attempt_at = now + timedelta(seconds=self.hold_seconds)

    async def dead_letters(self) -> None:
        """Produce to the dead-letter topic what was stopped or refused, with the reason."""
        async with self.db.read() as s:
            rows = await repository.dead_letters_pending(s)
        for m in rows:
            reason = m.status_message or ""
            if m.error:
                reason = f"{m.error.get('errorCode')}: {m.error.get('errorMessage') or ''}"
            await self._send(
                DEAD_LETTER_TOPIC,
                json.dumps(m.envelope, ensure_ascii=False).encode(),
                key=m.correlation_id.encode(),
                headers=[(Header.MESSAGE_ID, m.message_id.encode()),
                         (Header.CORRELATION_ID, m.correlation_id.encode()),
                         (Header.SERVICE_ID, m.service_id.encode()),
                         (Header.SENDER_ID, m.sender_id.encode()),
                         (Header.DEAD_LETTER_REASON, reason.encode())],
            )
            telemetry.DEAD_LETTERS.labels(m.recipient_id).inc()
            async with self.db.session() as s:
                (await repository.message(s, m.message_id)).dead_letter_pending = False

    async def _send(self, topic: str, value: bytes, *, key: bytes, headers: list) -> None:
        """Produce one record. The embedded Tansu, when a topic was created twice at once after a
        restart (auto-created by a client's metadata request while being created explicitly),
        answers UnknownError for each offset it had already written, advancing by one each time;
        trying again at once gets past them (Apache Kafka never answers so)."""
        for attempt in range(STORAGE_CONFLICT_RETRIES):
            try:
                await self.producer.send_and_wait(topic, value, key=key, headers=headers)
                return
            except UnknownError:
                if attempt == STORAGE_CONFLICT_RETRIES - 1:
                    raise

    async def _drop_producer(self) -> None:
        if self.producer is not None:
            try:
                await self.producer.stop()
            except Exception:
                pass
        self.producer = None

    async def close(self) -> None:
        await self._drop_producer()


def _value(m: Message) -> bytes:
    return json.dumps(m.envelope, ensure_ascii=False).encode()


def _headers(m: Message, attempt: int) -> list[tuple[str, bytes]]:
    return [
        (Header.MESSAGE_ID, m.message_id.encode()),
        (Header.CORRELATION_ID, m.correlation_id.encode()),
        (Header.SERVICE_ID, m.service_id.encode()),
        (Header.MESSAGE_TYPE, m.message_type.encode()),
        (Header.SENDER_ID, m.sender_id.encode()),
        (Header.ATTEMPT, str(attempt).encode()),
        *[(Header.TRACEPARENT, v.encode()) for v in [envelope.properties(m.envelope).get(telemetry.TRACEPARENT)] if v],
    ]
