"""The portal's queries — the only module here that speaks SQL. Whose request or attachment a
caller may see is decided by the routers (an applicant sees only their own); what the database
holds is read here."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Attachment, AuthChallenge, Notification, Request, User


async def user(s: AsyncSession, iin_bin: str) -> User | None:
    return await s.get(User, iin_bin)


async def challenge(s: AsyncSession, challenge_id: str) -> AuthChallenge | None:
    return await s.get(AuthChallenge, challenge_id)


async def request(s: AsyncSession, request_id: str) -> Request | None:
    return await s.get(Request, request_id)


async def requests_of(s: AsyncSession, iin_bin: str) -> list[Request]:
    """An applicant's requests, newest first."""
    return list(await s.scalars(select(Request).where(Request.iin_bin == iin_bin).order_by(Request.created_at.desc())))


async def nonce_used(s: AsyncSession, nonce: str) -> bool:
    return await s.scalar(select(Request.request_id).where(Request.nonce == nonce)) is not None


async def attachment(s: AsyncSession, attachment_id: str) -> Attachment | None:
    return await s.get(Attachment, attachment_id)


async def notifications_of(s: AsyncSession, iin_bin: str, limit: int = 200) -> list[Notification]:
    """An applicant's notifications, newest first."""
    return list(await s.scalars(select(Notification).where(Notification.iin_bin == iin_bin)
                                .order_by(Notification.id.desc()).limit(limit)))
