"""Payment (portal flow "process 4"): the portal sends the applicant's payment to ПШЭП.

The payment fact is recorded at ПШЭП (``services/registries``) through the gateway's sync
channel (serviceId ``PSHEP_PAY``), not in the portal: ИС ГБД ЕЛ later checks it with ПШЭП
("condition 2", refusal "process 5"). No bank is involved — ПШЭП records the fact, which is what
the regulation's diagram needs. ПШЭП (or the gateway) being unreachable is a retryable
503 UNAVAILABLE with Retry-After; nothing is recorded then.
"""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from shared.app import JCSRoute, error_responses
from shared.errors import ApiError
from shared.topics import ServiceId

from . import catalogue
from .deps import current_user
from .models import User

router = APIRouter(route_class=JCSRoute, prefix="/api/v1", tags=["payments (ПШЭП)"])


class PaymentIn(BaseModel):
    service_code: str = Field(max_length=8)
    region: str = Field(max_length=32)


class PaymentOut(BaseModel):
    payment_id: str
    amount: int
    status: str


@router.post("/payments", status_code=201, response_model=PaymentOut, summary="Pay the fee of a service through ПШЭП",
             responses=error_responses("SERVICE_UNKNOWN", "AUTH_REQUIRED", "VALIDATION_ERROR", "UNAVAILABLE", "SYNC_TIMEOUT"))
async def pay(body: PaymentIn, request: Request, user: User = Depends(current_user)) -> PaymentOut:
    """Pay the service's fee through ПШЭП: the payment id to put in the signed request's ``payment_id``."""
    found = catalogue.find(body.service_code, body.region)
    if found is None:
        raise ApiError("SERVICE_UNKNOWN")
    entry, _ = found
    answer = await request.app.state.rt.sync.call(
        ServiceId.PSHEP_PAY,
        {"payer_iin_bin": user.iin_bin, "service_code": entry.code, "region": body.region, "amount": entry.fee_tenge})
    try:
        p = answer.data["payment"]
        return PaymentOut(payment_id=p["payment_id"], amount=p["amount"], status=p["status"])
    except (KeyError, TypeError):
        raise ApiError("UNAVAILABLE", detail="ПШЭП answered without a payment")
