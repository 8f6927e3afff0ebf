"""The registries' records and lookups: what each sync service answers (docs/registries.md).

Every lookup returns the record as the answer's ``data`` or raises the catalogue's refusal
(PERSON_NOT_FOUND, ORGANISATION_NOT_FOUND, POWER_OF_ATTORNEY_*, PAYMENT_NOT_FOUND).
"""
from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.calendar import ALMATY
from shared.db import utcnow
from shared.errors import ApiError

from . import repository
from .models import Organisation, Payment, Person, PowerOfAttorney
from .schemas import OrganisationQuery, PaymentIn, PaymentQuery, PersonQuery, PowerOfAttorneyQuery


def today() -> date:
    return utcnow().astimezone(ALMATY).date()


# --- the records as answered ------------------------------------------------------------------------


def person_view(p: Person) -> dict:
    full = " ".join(x for x in (p.surname, p.name, p.patronymic) if x)
    return {"iin": p.iin, "surname": p.surname, "name": p.name, "patronymic": p.patronymic, "full_name": full,
            "birth_date": p.birth_date.isoformat(), "document_number": p.document_number, "address": p.address}


def organisation_view(o: Organisation) -> dict:
    return {"bin": o.bin, "name": o.name, "head": {"iin": o.head_iin, "name": o.head_name}, "address": o.address,
            "status": o.status}


def power_of_attorney_view(p: PowerOfAttorney, on: date | None = None) -> dict:
    on = on or today()
    return {"number": p.number, "principal_iin_bin": p.principal_iin_bin, "representative_iin": p.representative_iin,
            "scope": list(p.scope), "valid_from": p.valid_from.isoformat(), "valid_until": p.valid_until.isoformat(),
            "revoked": p.revoked, "notary": p.notary,
            "valid": not p.revoked and p.valid_from <= on <= p.valid_until}


def payment_view(p: Payment) -> dict:
    return {"payment_id": p.payment_id, "payer_iin_bin": p.payer_iin_bin, "service_code": p.service_code,
            "region": p.region, "amount": p.amount, "currency": p.currency, "status": p.status,
            "paid_at": p.paid_at.isoformat()}


# --- lookups ------------------------------------------------------------------------------------------


async def find_person(s: AsyncSession, q: PersonQuery) -> dict:
    p = await repository.person(s, q.iin)
    if p is None:
        raise ApiError("PERSON_NOT_FOUND", detail=q.iin)
    return {"person": person_view(p)}


async def find_organisation(s: AsyncSession, q: OrganisationQuery) -> dict:
    o = await repository.organisation(s, q.bin)
    if o is None:
        raise ApiError("ORGANISATION_NOT_FOUND", detail=q.bin)
    return {"organisation": organisation_view(o)}


def _verdict(p: PowerOfAttorney, q: PowerOfAttorneyQuery, on: date) -> str | None:
    """Why this power of attorney does not serve the query (a catalogue code), or None."""
    if p.revoked:
        return "POWER_OF_ATTORNEY_REVOKED"
    if not p.valid_from <= on <= p.valid_until:
        return "POWER_OF_ATTORNEY_EXPIRED"
    if q.service_code and "all" not in p.scope and q.service_code not in p.scope:
        return "POWER_OF_ATTORNEY_SCOPE"
    return None


#: when no candidate serves, the refusal told is the most telling one
_ORDER = ("POWER_OF_ATTORNEY_SCOPE", "POWER_OF_ATTORNEY_EXPIRED", "POWER_OF_ATTORNEY_REVOKED")


async def find_power_of_attorney(s: AsyncSession, q: PowerOfAttorneyQuery) -> dict:
    """A power of attorney that is in force on ``q.on`` (today) for ``q.service_code``: by number, or
    the principal's to the representative. REVOKED / EXPIRED / SCOPE when the only ones found are not."""
    on = q.on or today()
    found = await repository.powers_of_attorney(s, number=q.number, principal_iin_bin=q.principal_iin_bin,
                                                representative_iin=q.representative_iin)
    if not found:
        raise ApiError("POWER_OF_ATTORNEY_NOT_FOUND", detail=q.number or f"{q.principal_iin_bin} → {q.representative_iin}")
    verdicts = [(_verdict(p, q, on), p) for p in found]
    for verdict, p in verdicts:
        if verdict is None:
            return {"power_of_attorney": power_of_attorney_view(p, on)}
    worst = min((v for v, _ in verdicts), key=_ORDER.index)
    p = next(p for v, p in verdicts if v == worst)
    raise ApiError(worst, detail=p.number)


async def find_payment(s: AsyncSession, q: PaymentQuery) -> dict:
    if q.payment_id is not None:
        p = await repository.payment(s, q.payment_id)
        if p is not None and q.payer_iin_bin and p.payer_iin_bin != q.payer_iin_bin:
            p = None
        if p is not None and q.service_code and p.service_code != q.service_code:
            p = None
    else:
        p = await repository.latest_payment(s, q.payer_iin_bin, q.service_code)
    if p is None or p.status != "PAID":
        raise ApiError("PAYMENT_NOT_FOUND", detail=q.payment_id or f"{q.payer_iin_bin} {q.service_code}")
    return {"payment": payment_view(p)}


async def record_payment(s: AsyncSession, body: PaymentIn, *, request_key: str | None, source: str) -> dict:
    """The payment fact, once per ``request_key`` (the sync call's messageId): a redelivered call
    answers the payment recorded the first time."""
    key = request_key or str(uuid.uuid4())
    existing = await repository.payment_of_call(s, key)
    if existing is not None:
        return {"payment": payment_view(existing)}
    p = Payment(payment_id=str(uuid.uuid4()), payer_iin_bin=body.payer_iin_bin, service_code=body.service_code,
                region=body.region, amount=body.amount, currency="KZT", status="PAID", request_key=key,
                source=source, paid_at=utcnow())
    s.add(p)
    await s.flush()
    return {"payment": payment_view(p)}


async def record_payment_once(db, body: PaymentIn, *, request_key: str, source: str) -> dict:
    """:func:`record_payment` in its own transaction; two deliveries of one call at once record one."""
    try:
        async with db.session() as s:
            return await record_payment(s, body, request_key=request_key, source=source)
    except IntegrityError:
        async with db.read() as s:
            p = await repository.payment_of_call(s, request_key)
            return {"payment": payment_view(p)}


# --- admin: upserts -------------------------------------------------------------------------------------


async def put(s: AsyncSession, model, key: str, values: dict):
    row = await repository.record(s, model, key)
    if row is None:
        row = model(**{model.__mapper__.primary_key[0].name: key}, **values)
        s.add(row)
    else:
        for k, v in values.items():
            setattr(row, k, v)
    row.updated_at = utcnow()
    await s.flush()
    return row

