"""The ПШЭП imitation (portal flow "process 4"): a payment for a service, recorded as PAID.

An imitation, named as such: no bank is involved; the payment exists so that the payment
check ("condition 2", refusal "process 5") runs on a real record.
"""
from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import ApiError
from shared.app import JCSRoute, error_responses

from . import catalogue
from .deps import current_user, session
from .models import Payment, User

router = APIRouter(route_class=JCSRoute, prefix="/api/v1", tags=["payments (ПШЭП imitation)"])


class PaymentIn(BaseModel):
    service_code: str
    region: str


class PaymentOut(BaseModel):
    payment_id: str
    amount: int
    status: str


@router.post("/payments", status_code=201, response_model=PaymentOut, summary="Pay the fee of a service (ПШЭП imitation)",
             responses=error_responses("AUTH_REQUIRED", "SERVICE_UNKNOWN", "VALIDATION_ERROR"))
async def pay(body: PaymentIn, user: User = Depends(current_user), s: AsyncSession = Depends(session, scope="function")) -> PaymentOut:
    found = catalogue.find(body.service_code, body.region)
    if found is None:
        raise ApiError("SERVICE_UNKNOWN")
    entry, _ = found
    p = Payment(payment_id=str(uuid.uuid4()), iin_bin=user.iin_bin, service_code=entry.code, region=body.region,
                amount=entry.fee_tenge, status="PAID")
    s.add(p)
    return PaymentOut(payment_id=p.payment_id, amount=p.amount, status=p.status)
