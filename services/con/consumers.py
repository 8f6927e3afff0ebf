"""What the ЦОН does with messages from ИС ГБД ЕЛ (CON_NOTIFY): statuses of the requests it accepted
move their receipts forward, and the signed result is kept for the hand-out ("process 9") — only if
its signature holds and the signer has a signing right at the provider of the request's region."""
from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from shared import regulations
from shared.db import utcnow
from shared.envelope import canonical
from shared.errors import ApiError
from shared.messaging.consumer import Delivered, Handler
from shared.payloads import StatusUpdate
from shared.pki.certinfo import has_signing_right
from shared.pki.cms import SignatureError
from shared.topics import ServiceId

from . import repository
from .models import Receipt, ReceiptEvent

log = structlog.get_logger("con")

RANK = {"SUBMITTED": 0, "REGISTERED": 1, "IN_PROCESSING": 2, "COMPLETED": 3, "REFUSED": 3, "HANDED_OUT": 4}


def handlers(trust) -> dict[str, Handler]:
    async def check(msg: Delivered):
        result = msg.data.result
        if result is None:
            return None
        try:
            return (await trust.verify(result.signature, canonical(result.document), usage="sign")).signer
        except SignatureError as exc:
            if exc.retryable:
                raise
            return exc.code

    async def apply(s: AsyncSession, msg: Delivered) -> None:
        data: StatusUpdate = msg.data
        receipt = await repository.receipt_of_request(s, data.request_id)
        pickup = (data.model_extra or {}).get("pickup")
        if receipt is None and pickup:
            receipt = _pickup(s, data.request_id, pickup)
            await s.flush()
        if receipt is None:
            raise ApiError("NOT_FOUND", detail=f"receipt of request {data.request_id}")
        now = utcnow()
        status = data.status or receipt.status
        note = data.note
        if data.application_number:
            receipt.application_number = data.application_number
        if data.status == "REFUSED" and data.result is None:
            receipt.refusal_code = (data.model_extra or {}).get("code")
        if data.result is not None:
            signer = msg.checked
            process = regulations.find(receipt.service_code, receipt.region)
            provider_bin = regulations.providers()[process.provider].bin if process else None
            if isinstance(signer, str) or provider_bin is None or not has_signing_right(signer, provider_bin):
                receipt.result_rejected = signer if isinstance(signer, str) else "ECP_NO_SIGNING_RIGHT"
                note = f"Результат не принят: подпись не подтверждена ({receipt.result_rejected})"
                status = receipt.status
            else:
                receipt.result = data.result.model_dump()
                receipt.result_rejected = None
                status = "REFUSED" if data.result.kind == "refusal" else "COMPLETED"
                log.info("result received", number=receipt.number, status=status)
        s.add(ReceiptEvent(receipt_id=receipt.id, at=_parse_time(data.at) or now, status=status, step=data.step,
                           actor=data.actor, note=note))
        if RANK.get(status, -1) > RANK.get(receipt.status, -1):
            receipt.status = status
            receipt.updated_at = now

    return {ServiceId.CON_NOTIFY: Handler(apply, schema=StatusUpdate, check=check)}


def _pickup(s: AsyncSession, request_id: str, pickup: dict) -> Receipt:
    """A paper result of a request made through the portal (S1, S2: the seeds issue it at the ЦОН): a
    pickup record under ``P-<application number>``, handed out like any result (process 9)."""
    number = f"P-{pickup['application_number']}"[:32]
    receipt = Receipt(number=number, kind="pickup", request_id=request_id, service_code=pickup["service_code"],
                      region=pickup["region"], subtype=pickup.get("subtype"), applicant_iin_bin=pickup["applicant_iin_bin"],
                      body={"number": number, "channel": "portal", **pickup}, operator="", status="IN_PROCESSING",
                      application_number=pickup["application_number"], accepted_at=utcnow(), updated_at=utcnow())
    s.add(receipt)
    log.info("paper result to collect", number=number, request_id=request_id)
    return receipt


def _parse_time(value: str | None) -> datetime | None:
    try:
        at = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    return at if at is not None and at.tzinfo is not None else None
