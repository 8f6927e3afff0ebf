"""Transactional outbox: ``enqueue`` in the business transaction, :class:`OutboxRelay` sends.

The relay posts the pending envelopes to the gateway (many at a time, in the order written) and
marks each SENT once the gateway has accepted (stored) it. The failure model of
``shared/errors.py`` decides the rest:

* the gateway unreachable, a 5xx, a 429, or a refusal whose code is retryable (the НУЦ could
  not be asked about the sender's certificate, maintenance, a disabled service) is an outage:
  the message stays PENDING and the relay waits (exponential backoff with jitter, at least the
  gateway's ``Retry-After``) before it tries again, from the same message;
* any other refusal is permanent: the message is FAILED with the gateway's answer, and the relay
  goes on with the next one. ``egov outbox list`` shows FAILED messages and ``egov outbox
  resend`` puts them back in line once the cause is mended.

The gateway is idempotent on messageId, so a message posted twice is accepted once.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
import structlog
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared import envelope, telemetry
from shared.db import Database, utcnow
from shared.errors import is_retryable
from shared.messaging.retry import Backoff
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
        traceparent = telemetry.current_traceparent()
        if traceparent:  # the message continues the trace of what wrote it (shared/telemetry.py)
            properties = {**(properties or {}), telemetry.TRACEPARENT: traceparent}
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


@dataclass(frozen=True)
class Outage:
    """A send that must be tried again later: why, and the peer's Retry-After if it gave one."""

    reason: str
    retry_after: float = 0.0


class OutboxRelay:
    def __init__(self, db: Database, outbox: Outbox, gateway_url: str, password: str, poll_seconds: float = 0.5,
                 backoff: Backoff = Backoff(0.5, 30.0), batch: int = 200):
        self.db = db
        self.outbox = outbox
        self.gateway_url = gateway_url.rstrip("/")
        self.password = password
        self.poll_seconds = poll_seconds
        self.backoff = backoff
        #: envelopes per call to the gateway
        self.batch = batch
        #: outages in a row (reset by the first message the gateway accepts)
        self.outages = 0
        self.http = telemetry.http_client(timeout=10)

    async def run(self) -> None:
        while True:
            try:
                outage = await self.drain()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database itself unavailable: wait as for any outage
                outage = Outage(f"outbox pass failed: {exc.__class__.__name__}: {exc}")
            if outage is not None:
                self.outages += 1
                delay = self.backoff.delay(self.outages, at_least=outage.retry_after)
                log.warning("outbox waits out an outage", reason=outage.reason[:300], seconds=round(delay, 2),
                            outages=self.outages)
                await asyncio.sleep(delay)
                continue
            try:
                await asyncio.wait_for(self.outbox.wakeup.wait(), self.poll_seconds)
            except asyncio.TimeoutError:
                pass
            self.outbox.wakeup.clear()

    async def drain(self) -> Outage | None:
        """Send what is pending, oldest first, up to ``batch`` envelopes a call; stop at the first
        outage and return it."""
        model = self.outbox.model
        while True:
            async with self.db.read() as s:
                rows = (await s.scalars(select(model).where(model.state == "PENDING").order_by(model.id)
                                        .limit(self.batch))).all()
            if not rows:
                telemetry.OUTBOX_BACKLOG.labels(self.outbox.sender_id).set(0)
                return None
            outage = await self._send(rows)
            if outage is not None:
                async with self.db.read() as s:
                    telemetry.OUTBOX_BACKLOG.labels(self.outbox.sender_id).set(
                        await s.scalar(select(func.count()).select_from(model).where(model.state == "PENDING")))
                return outage
            self.outages = 0

    async def _send(self, rows) -> Outage | None:
        """One call (``POST /shep/v1/async/messages/batch``) for ``rows``, in order; then, in one
        transaction, each row SENT, FAILED (a final refusal) or left PENDING (an outage: it and
        everything after it wait for the next try, so the order is kept)."""
        envs = []
        for row in rows:
            env = dict(row.envelope)
            env["messageInfo"] = {**env["messageInfo"], "sender": {**env["messageInfo"]["sender"],
                                                                  "password": self.password}}
            envs.append(env)
        try:
            with telemetry.batch_span("outbox send", [envelope.properties(row.envelope).get(telemetry.TRACEPARENT)
                                                      for row in rows], messages=len(rows)):
                r = await self.http.post(f"{self.gateway_url}/shep/v1/async/messages/batch", json={"messages": envs})
        except httpx.HTTPError as exc:
            outage = Outage(f"gateway unreachable: {exc.__class__.__name__}")
            await self._mark(rows, [], [], outage)
            return outage
        code = _error_code(r)
        if r.status_code >= 500 or r.status_code == 429 or is_retryable(code):
            outage = Outage(f"gateway {r.status_code} {code or ''}".strip(), _retry_after(r))
            await self._mark(rows, [], [], outage)
            return outage
        if r.status_code >= 300:  # the whole call refused (e.g. a malformed batch): each row for good
            await self._mark([], [], [(row, r.text[:2000]) for row in rows], None)
            return None
        sent, failed, outage = [], [], None
        for row, result in zip(rows, r.json()["results"]):
            if outage is not None:
                break
            error = result.get("error")
            if error is None:
                sent.append(row)
            elif result.get("retryable"):
                outage = Outage(f"gateway refused {row.message_id} for now: {error.get('code')}", _retry_after(r))
            else:
                failed.append((row, str(error)[:2000]))
                log.error("gateway refused message for good", message_id=row.message_id, code=error.get("code"))
        await self._mark(rows, sent, failed, outage)
        return outage

    async def _mark(self, rows, sent, failed, outage: Outage | None) -> None:
        """SENT and FAILED rows recorded; with an outage, every row neither sent nor failed counts an attempt."""
        model = self.outbox.model
        now = utcnow()
        async with self.db.session() as s:
            if sent:
                await s.execute(update(model).where(model.id.in_([r.id for r in sent]))
                                .values(state="SENT", sent_at=now, attempts=model.attempts + 1, last_error=None))
            if failed:
                telemetry.OUTBOX_FAILED.labels(self.outbox.sender_id).inc(len(failed))
            for row, error in failed:
                await s.execute(update(model).where(model.id == row.id)
                                .values(state="FAILED", attempts=model.attempts + 1, last_error=error))
            if outage is not None:
                done = {r.id for r in sent} | {r.id for r, _ in failed}
                waiting = [r.id for r in rows if r.id not in done]
                if waiting:
                    await s.execute(update(model).where(model.id.in_(waiting))
                                    .values(attempts=model.attempts + 1, last_error=outage.reason[:2000]))

    async def close(self) -> None:
        await self.http.aclose()


def _error_code(r: httpx.Response) -> str | None:
    try:
        return r.json()["error"]["code"]
    except Exception:
        return None


def _retry_after(r: httpx.Response) -> float:
    try:
        return max(0.0, float(r.headers.get("retry-after", 0)))
    except ValueError:
        return 0.0


# --- operations: what failed for good, and sending it again -------------------------------------


async def summary(db: Database, model) -> dict[str, int]:
    """How many messages are in each state."""
    async with db.session() as s:
        return dict((await s.execute(select(model.state, func.count()).group_by(model.state))).all())


async def failed(db: Database, model, limit: int = 100) -> list[dict]:
    """The messages the gateway refused for good, newest first, with its answer."""
    async with db.session() as s:
        rows = await s.scalars(select(model).where(model.state == "FAILED").order_by(model.id.desc()).limit(limit))
        return [{"id": r.id, "message_id": r.message_id, "correlation_id": r.correlation_id,
                 "service_id": r.service_id, "created_at": r.created_at.isoformat(), "attempts": r.attempts,
                 "last_error": r.last_error} for r in rows]


async def resend(db: Database, model, message_ids: list[str] | None = None) -> int:
    """Put FAILED messages (all, or those named) back in line; the relay sends them again."""
    q = update(model).where(model.state == "FAILED")
    if message_ids:
        q = q.where(model.message_id.in_(message_ids))
    async with db.session() as s:
        return (await s.execute(q.values(state="PENDING", last_error=None))).rowcount
