"""A broker restart in the middle of a few hundred messages loses none and applies none twice,
counted at a recipient that consumes with the project's own idempotent consumer."""
from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import Database
from shared.messaging.consumer import GatewayClient, GatewayConsumer, Handler
from shared.messaging.models import InboxMixin

from .test_gateway_channels import Parties

pytestmark = pytest.mark.integration
N = 300


class Base(DeclarativeBase):
    pass


class Inbox(InboxMixin, Base):
    pass


class Applied(Base):
    """One row per application of a message's effect (no unique key: a double would show)."""

    __tablename__ = "applied"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(64))


class Recipient:
    """The recipient system, in a thread of its own with its own SQLite database."""

    def __init__(self, parties: Parties, db_path):
        self.parties = parties
        self.url = f"sqlite+aiosqlite:///{db_path}"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(30)

    async def _start(self) -> None:
        self.db = Database(self.url)
        async with self.db.engine.begin() as c:
            await c.run_sync(Base.metadata.create_all)
        p = self.parties
        _, password = p.keys[p.echo]

        async def apply(session, msg):
            session.add(Applied(message_id=msg.message_id))

        self.gateway = GatewayClient(p.system.url("gateway"), p.echo, password)
        self.consumer = GatewayConsumer(system_id=p.echo, bootstrap=p.system.settings.broker, db=self.db,
                                        inbox_model=Inbox, trust=p.system.client_trust,
                                        handlers={p.async_service: Handler(apply)},
                                        gateway=self.gateway)
        self.task = asyncio.create_task(self.consumer.run())

    def counts(self) -> tuple[int, int]:
        async def q():
            async with self.db.session() as s:
                return (await s.scalar(select(func.count(Applied.id))),
                        await s.scalar(select(func.count(func.distinct(Applied.message_id)))))
        return asyncio.run_coroutine_threadsafe(q(), self.loop).result(30)

    def stop(self) -> None:
        async def _stop():
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            await self.gateway.close()
            await self.db.dispose()
        asyncio.run_coroutine_threadsafe(_stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)


def test_broker_restart_during_a_few_hundred_messages(system, tmp_path):
    parties = Parties(system, tmp_path)
    recipient = Recipient(parties, tmp_path / "recipient.db")
    recipient.start()
    try:
        with ThreadPoolExecutor(8) as pool:
            first = list(pool.map(lambda i: parties.send({"i": i}), range(N // 2)))
            system.stack.stop("broker", kill=True)  # whatever was in flight in the broker is gone
            second = list(pool.map(lambda i: parties.send({"i": i}), range(N // 2, N)))  # the gateway keeps them
            time.sleep(1)
            system.stack.start_broker()
        sent = set(first + second)
        assert len(sent) == N
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and recipient.counts()[1] < N:
            time.sleep(1)
        time.sleep(2 * system.settings.redelivery_seconds)  # let any redelivery show up twice if it would
        applied, distinct = recipient.counts()
        assert (applied, distinct) == (N, N)
        states = {parties.status(m)["messageState"] for m in list(sent)[:20]}
        assert states == {"DELIVERED"}
    finally:
        recipient.stop()
