"""ИС ГБД ЕЛ's queries — the only module here that speaks SQL: the applications it registered and
the registry of permits (licences, certificates) with their versions."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Application, Permit


async def permit(s: AsyncSession, number: str) -> Permit | None:
    return await s.get(Permit, number)


async def application_of_request(s: AsyncSession, request_id: str) -> Application | None:
    return await s.scalar(select(Application).where(Application.request_id == request_id))


async def payment_used(s: AsyncSession, payment_id: str) -> bool:
    """True when an application already used this ПШЭП payment (one payment pays for one application)."""
    return await s.scalar(select(Application.id).where(Application.payment_id == payment_id)) is not None
