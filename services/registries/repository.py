"""The registries' queries — the only module of the service that speaks SQL: ГБД ФЛ's individuals,
ГБД ЮЛ's organisations, ЕНИС's powers of attorney and ПШЭП's payments. Whether a record serves a
query (a power of attorney in force, a payment of this payer) is decided in ``service.py``."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Base, Organisation, Payment, Person, PowerOfAttorney


async def record(s: AsyncSession, model: type[Base], key: str) -> Base | None:
    """A record of any registry by its key (the admin API's upserts)."""
    return await s.get(model, key)


async def person(s: AsyncSession, iin: str) -> Person | None:
    return await s.get(Person, iin)


async def organisation(s: AsyncSession, bin_: str) -> Organisation | None:
    return await s.get(Organisation, bin_)


async def power_of_attorney(s: AsyncSession, number: str) -> PowerOfAttorney | None:
    return await s.get(PowerOfAttorney, number)


async def powers_of_attorney(s: AsyncSession, *, number: str | None = None, principal_iin_bin: str | None = None,
                             representative_iin: str | None = None) -> list[PowerOfAttorney]:
    """The powers of attorney matching what is given (by number, principal, representative), the
    longest valid first."""
    q = select(PowerOfAttorney)
    if number is not None:
        q = q.where(PowerOfAttorney.number == number)
    if principal_iin_bin:
        q = q.where(PowerOfAttorney.principal_iin_bin == principal_iin_bin)
    if representative_iin:
        q = q.where(PowerOfAttorney.representative_iin == representative_iin)
    return list(await s.scalars(q.order_by(PowerOfAttorney.valid_until.desc(), PowerOfAttorney.number)))


async def payment(s: AsyncSession, payment_id: str) -> Payment | None:
    return await s.get(Payment, payment_id)


async def latest_payment(s: AsyncSession, payer_iin_bin: str, service_code: str) -> Payment | None:
    """A payer's newest payment for a service."""
    return await s.scalar(select(Payment).where(Payment.payer_iin_bin == payer_iin_bin,
                                                Payment.service_code == service_code)
                          .order_by(Payment.paid_at.desc()).limit(1))


async def payment_of_call(s: AsyncSession, request_key: str) -> Payment | None:
    """The payment recorded for this call (its ``request_key``: the sync call's messageId)."""
    return await s.scalar(select(Payment).where(Payment.request_key == request_key))
