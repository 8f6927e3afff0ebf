"""Delivery to the recipients' Kafka topics, and redelivery of what they have not confirmed.

The messages table is the gateway's outbox: a message stays ON_DELIVERY until its
recipient confirms it; the relay produces it (keyed by correlationId, so one request's
messages keep their order) and produces it again every ``redelivery_seconds`` until then
— the embedded broker keeps messages in memory only and may restart empty. After
``max_attempts`` the message is DELIVERY_STOPPED and goes to the dead-letter topic with the
reason; so does a message its recipient refused (NOT_DELIVERED). Neither blocks the messages
behind it.
"""
from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import UnknownError
from sqlalchemy import or_, select

from shared.db import Database, utcnow
from shared.messaging.broker import ensure_topics
from shared.topics import DEAD_LETTER_TOPIC, Header, MessageState, deliver_topic

from .models import Message, System

log = structlog.get_logger("delivery")
STORAGE_CONFLICT_RETRIES = 500


class DeliveryRelay:
    def __init__(self, db: Database, bootstrap: str, *, redelivery_seconds: float, max_attempts: int, poll_seconds: float = 0.5):
        self.db = db
        self.bootstrap = bootstrap
        self.redelivery = timedelta(seconds=redelivery_seconds)
        self.max_attempts = max_attempts
        self.poll_seconds = poll_seconds
        self.wakeup = asyncio.Event()
        self.producer: AIOKafkaProducer | None = None

    @property
    def connected(self) -> bool:
        return self.producer is not None

    async def run(self) -> None:
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
                log.warning("delivery pass failed; reconnecting", error=f"{exc.__class__.__name__}: {exc}")
                await self._drop_producer()
                await asyncio.sleep(1)
                continue
            try:
                await asyncio.wait_for(self.wakeup.wait(), self.poll_seconds)
            except asyncio.TimeoutError:
                pass
            self.wakeup.clear()

    async def _recipients(self) -> list[str]:
        async with self.db.session() as s:
            return list(await s.scalars(select(System.system_id)))

    async def deliver_due(self) -> None:
        while True:
            due_before = utcnow() - self.redelivery
            async with self.db.session() as s:
                rows = (
                    await s.scalars(
                        select(Message)
                        .where(Message.state == MessageState.ON_DELIVERY)
                        .where(or_(Message.last_attempt_at.is_(None), Message.last_attempt_at < due_before))
                        .order_by(Message.received_at)
                        .limit(200)
                    )
                ).all()
            if not rows:
                return
            for m in rows:
                await self._produce(m)

    async def _produce(self, m: Message) -> None:
        stop = m.attempts >= self.max_attempts
        if not stop:
            headers = [
                (Header.MESSAGE_ID, m.message_id.encode()),
                (Header.CORRELATION_ID, m.correlation_id.encode()),
                (Header.SERVICE_ID, m.service_id.encode()),
                (Header.MESSAGE_TYPE, m.message_type.encode()),
                (Header.SENDER_ID, m.sender_id.encode()),
                (Header.ATTEMPT, str(m.attempts + 1).encode()),
            ]
            await self._send(deliver_topic(m.recipient_id), json.dumps(m.envelope, ensure_ascii=False).encode(),
                             key=m.correlation_id.encode(), headers=headers)
        async with self.db.session() as s:
            row = await s.get(Message, m.message_id)
            if row.state != MessageState.ON_DELIVERY:
                return
            if stop:
                row.state = MessageState.DELIVERY_STOPPED
                row.status_message = f"not confirmed after {m.attempts} deliveries"
                row.dead_letter_pending = True
                log.error("delivery stopped", message_id=m.message_id)
            else:
                row.attempts += 1
                row.last_attempt_at = utcnow()

    async def dead_letters(self) -> None:
        """Produce to the dead-letter topic what was stopped or refused, with the reason."""
        async with self.db.session() as s:
            rows = (await s.scalars(select(Message).where(Message.dead_letter_pending.is_(True)).limit(200))).all()
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
            async with self.db.session() as s:
                (await s.get(Message, m.message_id)).dead_letter_pending = False

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
