"""The gateway's queries — the only module of the channels, the admin API and the delivery relay
that speaks SQL: the registries (systems, services, routes, ACL) and the messages. The message log
keeps its own records in ``message_log/`` (its chain, seals and verifier read them there)."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.topics import MessageState

from .models import Acl, Message, Route, Service, System

#: what a dead letter is: never confirmed in time, or refused for good by its recipient
DEAD = (MessageState.DELIVERY_STOPPED, MessageState.NOT_DELIVERED)


# --- the registries ---------------------------------------------------------------------------

async def systems(s: AsyncSession) -> list[System]:
    return list(await s.scalars(select(System)))


async def services(s: AsyncSession) -> list[Service]:
    return list(await s.scalars(select(Service)))


async def routes(s: AsyncSession) -> list[Route]:
    return list(await s.scalars(select(Route)))


async def acl(s: AsyncSession) -> list[Acl]:
    return list(await s.scalars(select(Acl)))


async def system(s: AsyncSession, system_id: str) -> System | None:
    return await s.get(System, system_id)


async def service(s: AsyncSession, service_id: str) -> Service | None:
    return await s.get(Service, service_id)


async def route(s: AsyncSession, service_id: str, route_id: str) -> Route | None:
    return await s.get(Route, (service_id, route_id))


async def allowed(s: AsyncSession, sender_id: str, service_id: str) -> Acl | None:
    return await s.get(Acl, (sender_id, service_id))


async def disallow(s: AsyncSession, sender_id: str, service_id: str) -> None:
    await s.execute(delete(Acl).where(Acl.sender_id == sender_id, Acl.service_id == service_id))


# --- the messages -----------------------------------------------------------------------------

async def message(s: AsyncSession, message_id: str) -> Message | None:
    return await s.get(Message, message_id)


async def messages(s: AsyncSession, message_ids: Iterable[str], *, recipient_id: str | None = None,
                   state: str | None = None) -> dict[str, Message]:
    """The messages of these ids (of one recipient, in one state, when given), by id."""
    q = select(Message).where(Message.message_id.in_(list(message_ids)))
    if recipient_id is not None:
        q = q.where(Message.recipient_id == recipient_id)
    if state is not None:
        q = q.where(Message.state == state)
    return {m.message_id: m for m in await s.scalars(q)}


async def reply_of(s: AsyncSession, message_id: str) -> dict | None:
    """The recipient's recorded reply to a sync call (any replica may have received it)."""
    return await s.scalar(select(Message.reply).where(Message.message_id == message_id))


async def waiting_for(s: AsyncSession, recipient_id: str, service_id: str | None, amount: int) -> list[Message]:
    """A recipient's messages still ON_DELIVERY, oldest first (getMessages)."""
    q = select(Message).where(Message.recipient_id == recipient_id, Message.state == MessageState.ON_DELIVERY)
    if service_id:
        q = q.where(Message.service_id == service_id)
    return list(await s.scalars(q.order_by(Message.received_at).limit(amount)))


async def due(s: AsyncSession, now: datetime, limit: int = 200) -> list[Message]:
    """ON_DELIVERY messages whose next delivery attempt is due, oldest first."""
    return list(await s.scalars(
        select(Message).where(Message.state == MessageState.ON_DELIVERY)
        .where(or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now))
        .order_by(Message.received_at).limit(limit)))


async def dead_letters_pending(s: AsyncSession, limit: int = 200) -> list[Message]:
    """Messages stopped or refused, not yet produced to the dead-letter topic."""
    return list(await s.scalars(select(Message).where(Message.dead_letter_pending.is_(True)).limit(limit)))


async def dead_letters(s: AsyncSession, message_ids: list[str] | None = None, limit: int | None = None) -> list[Message]:
    """Dead letters (those named, or all), newest first."""
    q = select(Message).where(Message.state.in_(DEAD))
    if message_ids:
        q = q.where(Message.message_id.in_(message_ids))
    q = q.order_by(Message.received_at.desc())
    return list(await s.scalars(q.limit(limit) if limit else q))


async def recent(s: AsyncSession, limit: int, sender_id: str | None = None) -> list[Message]:
    """The newest messages (of one sender, when given): the operational records."""
    q = select(Message).order_by(Message.received_at.desc()).limit(limit)
    if sender_id:
        q = q.where(Message.sender_id == sender_id)
    return list(await s.scalars(q))
