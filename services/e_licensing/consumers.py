"""What ИС ГБД ЕЛ does with the messages the gateway delivers to it.

ELICENSE_SUBMIT (from the portal): re-verify the applicant's signature, check the payment
fact, register the application with a number (the variant's registration box: "process 9" in
Mangistau), tell the portal REGISTERED,
forward the application through the gateway to the provider's workstation of its region.

A re-issue or a duplicate names the existing licence (certificate) in ``form.licence_number``:
it must be in the registry, for the same service, and belong to the applicant; otherwise the
application is refused here with LICENCE_NOT_FOUND (the registration box) and the portal told REFUSED.

ELICENSE_RESULT (from the provider's workstation): pass status notifications on to the
portal; on the signed result, check the signer's right to sign for the provider, record the
certificate or licence in the registry (a new permit on issue; on re-issue / duplicate the
existing permit gets the new signed document and a history entry), and send the result to the
personal cabinet.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared import regulations
from shared.db import utcnow
from shared.envelope import canonical
from shared.errors import ApiError
from shared.messaging.consumer import Delivered, Handler
from shared.payloads import StatusUpdate, Submission
from shared.pki.certinfo import has_signing_right
from shared.pki.cms import SignatureError
from shared.regulations import provider_by_bin
from shared.topics import MessageType, ServiceId

from .models import Application, Permit, PermitEvent

log = structlog.get_logger("e_licensing")


@dataclass
class ApplicantSignature:
    """What re-verifying the applicant's signature found: the signer, or a permanent refusal code."""

    signer: dict = field(default_factory=dict)
    refusal: str | None = None

#: services with a fee (state duty or payment) checked against the ПШЭП record
PAID_SERVICES = {code for code, svc in regulations.services().items() if svc.paid}


def is_amendment(subtype: str | None) -> bool:
    """A re-issue (any kind) or a duplicate of an existing licence / certificate."""
    return bool(subtype) and (subtype == "duplicate" or subtype.startswith("reissue"))


async def existing_permit(s: AsyncSession, doc: dict) -> Permit | None:
    """The permit a re-issue / duplicate request names, if it is the applicant's and of this service."""
    number = (doc.get("form") or {}).get("licence_number")
    if not isinstance(number, str) or not number:
        return None
    p = await s.get(Permit, number)
    if p is None or p.holder_iin_bin != doc["iin_bin"]:
        return None
    if (p.service_code or p.document.get("service_code")) != doc["service_code"]:
        return None
    return p


def handlers(rt) -> dict[str, Handler]:
    async def check_applicant(msg: Delivered) -> ApplicantSignature:
        """Re-verify the applicant's signature before the transaction. A bad signature is a refusal
        told to the applicant; the НУЦ being unreachable is an outage (raised: redelivered later)."""
        doc = msg.data.document
        try:
            report = await rt.trust.verify(msg.data.signature, canonical(doc), usage="sign")
        except SignatureError as exc:
            if exc.retryable:
                raise
            return ApplicantSignature(refusal=exc.code)
        refusal = None if doc["iin_bin"] in (report.signer.iin, report.signer.bin) else "ECP_IIN_MISMATCH"
        return ApplicantSignature(signer=report.signer.to_dict(), refusal=refusal)

    async def check_result(msg: Delivered):
        """The provider's signed result: a signer with a signing right at the provider (else rejected)."""
        result = msg.data.result
        if result is None:
            return None
        provider = provider_by_bin(str((result.document.get("provider") or {}).get("bin", "")))
        report = await rt.trust.verify(result.signature, canonical(result.document), usage="sign")
        if provider is None or not has_signing_right(report.signer, provider.bin):
            raise ApiError("ECP_NO_SIGNING_RIGHT", detail="signer has no signing right for the provider")
        return provider

    async def apply_submit(s: AsyncSession, msg: Delivered) -> None:
        await register(s, rt, msg.data.model_dump(), msg.checked)

    async def apply_result(s: AsyncSession, msg: Delivered) -> None:
        await on_provider_message(s, rt, msg.message_type, msg.data.model_dump(exclude_none=True), msg.checked)

    return {
        ServiceId.ELICENSE_SUBMIT: Handler(apply_submit, schema=Submission, check=check_applicant),
        ServiceId.ELICENSE_RESULT: Handler(apply_result, schema=StatusUpdate, check=check_result),
    }


def _notify_portal(s, rt, request_id: str, message_type: str, **data) -> None:
    data.setdefault("at", utcnow().isoformat())
    rt.outbox.enqueue(s, service_id=ServiceId.PORTAL_NOTIFY, message_type=message_type,
                      correlation_id=request_id, data={"request_id": request_id, **data})


async def register(s: AsyncSession, rt, data: dict, applicant: ApplicantSignature) -> None:
    doc, request_id = data["document"], data["request_id"]
    now = utcnow()
    refusal, signer = applicant.refusal, applicant.signer
    if refusal is None and doc["service_code"] in PAID_SERVICES:
        payment = data.get("payment") or {}
        if payment.get("status") != "PAID" or payment.get("payment_id") != doc.get("payment_id"):
            refusal = "PAYMENT_NOT_FOUND"
    if refusal is None and is_amendment(doc.get("subtype")) and await existing_permit(s, doc) is None:
        refusal = "LICENCE_NOT_FOUND"
    app = Application(request_id=request_id, service_code=doc["service_code"], region=doc["region"],
                      subtype=doc["subtype"], applicant_iin_bin=doc["iin_bin"], document=doc,
                      signature=data["signature"], signer=signer, payment=data.get("payment"),
                      status="REFUSED" if refusal else "REGISTERED", refusal_code=refusal,
                      registered_at=now, updated_at=now)
    s.add(app)
    await s.flush()
    log.info("registered" if refusal is None else "refused at registration", request_id=request_id,
             service_code=doc["service_code"], region=doc["region"], code=refusal)
    process = regulations.find(doc["service_code"], doc["region"])
    boxes = dict(process.portal_boxes) if process else {"registry": "process 9", "payment": "process 5"}
    if refusal:
        _notify_portal(s, rt, request_id, MessageType.NOTIFICATION, status="REFUSED",
                       step=boxes["payment"] if refusal == "PAYMENT_NOT_FOUND" else boxes["registry"],
                       actor="ИС ГБД «Е-лицензирование»", code=refusal, note=f"Заявление не принято: {refusal}")
        return
    app.number = f"EL-{now:%Y}-{app.id:07d}"
    _notify_portal(s, rt, request_id, MessageType.NOTIFICATION, status="REGISTERED", step=boxes["registry"],
                   actor="ИС ГБД «Е-лицензирование»", application_number=app.number,
                   note="Электронный документ зарегистрирован")
    rt.outbox.enqueue(
        s, service_id=ServiceId.ARM_PROCESS, message_type=MessageType.REQUEST, correlation_id=request_id,
        route_id=doc["region"],
        data={"application_number": app.number, "request_id": request_id, "document": doc,
              "signature": data["signature"], "applicant": data.get("applicant"),
              "attachments": data.get("attachments", []), "payment": data.get("payment"),
              "registered_at": now.isoformat()},
    )


async def on_provider_message(s: AsyncSession, rt, message_type: str, data: dict, provider) -> None:
    """``provider``: the result's provider whose signing right ``check_result`` established."""
    app = await s.scalar(select(Application).where(Application.request_id == data["request_id"]))
    if app is None:
        raise ApiError("NOT_FOUND", detail=f"application for request {data['request_id']}")
    forward = {k: data[k] for k in ("status", "step", "step_kk", "actor", "note", "at", "notice") if k in data}
    if "result" not in data:
        if data.get("status") == "IN_PROCESSING" and app.status == "REGISTERED":
            app.status = "IN_PROCESSING"
            app.updated_at = utcnow()
        _notify_portal(s, rt, app.request_id, MessageType.NOTIFICATION, **forward)
        return
    result = data["result"]
    kind = result["kind"]
    number = result["document"].get("number")
    if kind != "refusal" and number:
        await record_permit(s, app, number, kind, provider.bin, result)
    app.status = "REFUSED" if kind == "refusal" else "COMPLETED"
    app.updated_at = utcnow()
    forward["status"] = app.status
    _notify_portal(s, rt, app.request_id, MessageType.RESPONSE, **forward, result=result,
                   permit_number=number if kind != "refusal" else None)


async def record_permit(s: AsyncSession, app: Application, number: str, kind: str, provider_bin: str,
                        result: dict) -> Permit:
    """Issue: a new permit. Re-issue / duplicate of an existing permit: its current document and
    signature are replaced, the history keeps every version."""
    now = utcnow()
    permit = await s.get(Permit, number)
    if permit is not None and is_amendment(app.subtype):
        event = "duplicated" if app.subtype == "duplicate" else "reissued"
        permit.document, permit.signature, permit.updated_at = result["document"], result["signature"], now
        permit.provider_bin = provider_bin
    else:
        event = "issued"
        permit = Permit(number=number, kind=kind, application_id=app.id, holder_iin_bin=app.applicant_iin_bin,
                        provider_bin=provider_bin, document=result["document"], signature=result["signature"],
                        service_code=app.service_code, status="ACTIVE", issued_at=now, updated_at=now)
        s.add(permit)
        await s.flush()
    s.add(PermitEvent(number=number, event=event, subtype=app.subtype, application_id=app.id,
                      application_number=app.number, document=result["document"], signature=result["signature"],
                      at=now))
    return permit
