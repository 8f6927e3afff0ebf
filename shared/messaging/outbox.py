"""Transactional outbox: ``enqueue`` in the business transaction, :class:`OutboxRelay` sends.

The relay posts each pending envelope to the gateway's sendMessage in the order written,
marks it SENT once the gateway has accepted (stored) it, retries on a network error or a
5xx, and marks it FAILED on a 4xx refusal (which no retry can change). The gateway is
idempotent on messageId, so a message posted twice is accepted once.
"""
from __future__ import annotations

import asyncio

import httpx
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared import envelope
from shared.db import Database, utcnow
from shared.signing import Signer

log = structlog.get_logger("outbox")


class Outbox:
    """What a service needs to write outgoing messages: its model, identity and key."""

    def __init__(self, model, sender_id: str, signer: Signer):
        self.model = model
        self.sender_id = sender_id
        self.signer = signer
        self.wakeup = asyncio.Event()

    def enqueue(
        self,
        session: AsyncSession,
        *,
        service_id: str,
        message_type: str,
        data: dict,
        correlation_id: str,
        route_id: str | None = None,
        properties: dict[str, str] | None = None,
    ) -> str:
        env = envelope.build(
            service_id=service_id,
            message_type=message_type,
            data=data,
            sender_id=self.sender_id,
            correlation_id=correlation_id,
            route_id=route_id,
            properties=properties,
        )
        envelope.sign(env, self.signer)
        mid = env["messageInfo"]["messageId"]
        session.add(self.model(message_id=mid, correlation_id=correlation_id, service_id=service_id, envelope=env))
        session.info.setdefault("after_commit", []).append(self.wakeup.set)
        return mid


class OutboxRelay:
    def __init__(self, db: Database, outbox: Outbox, gateway_url: str, password: str, poll_seconds: float = 0.5):
        self.db = db
        self.outbox = outbox
        self.gateway_url = gateway_url.rstrip("/")
        self.password = password
        self.poll_seconds = poll_seconds
        self.http = httpx.AsyncClient(timeout=10)

    async def run(self) -> None:
        while True:
            try:
                await self.drain()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep relaying whatever happens to one pass
                log.warning("outbox pass failed", error=str(exc))
            try:
                await asyncio.wait_for(self.outbox.wakeup.wait(), self.poll_seconds)
            except asyncio.TimeoutError:
                pass
            self.outbox.wakeup.clear()

    async def drain(self) -> int:
        """Send what is pending, oldest first; stop at the first transient failure."""
        model = self.outbox.model
        sent = 0
        while True:
            async with self.db.session() as s:
                rows = (
                    await s.scalars(select(model).where(model.state == "PENDING").order_by(model.id).limit(50))
                ).all()
            if not rows:
                return sent
            for row in rows:
                ok = await self._send(row)
                if ok is None:
                    return sent
                sent += 1

    async def _send(self, row) -> bool | None:
        env = dict(row.envelope)
        info = dict(env["messageInfo"])
        info["sender"] = {**info["sender"], "password": self.password}
        env["messageInfo"] = info
        try:
            r = await self.http.post(f"{self.gateway_url}/shep/v1/async/messages", json=env)
        except httpx.HTTPError as exc:
            await self._mark(row.id, None, f"gateway unreachable: {exc.__class__.__name__}")
            return None
        if r.status_code < 300:
            await self._mark(row.id, "SENT", None)
            return True
        if r.status_code >= 500:
            await self._mark(row.id, None, f"gateway {r.status_code}")
            return None
        await self._mark(row.id, "FAILED", r.text[:2000])
        log.error("gateway refused message", message_id=row.message_id, status=r.status_code, body=r.text[:500])
        return False

    async def _mark(self, row_id: int, state: str | None, error: str | None) -> None:
        async with self.db.session() as s:
            row = await s.get(self.outbox.model, row_id)
            row.attempts += 1
            row.last_error = error
            if state:
                row.state = state
            if state == "SENT":
                row.sent_at = utcnow()

    async def close(self) -> None:
        await self.http.aclose()
