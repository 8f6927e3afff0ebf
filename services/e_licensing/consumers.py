"""What ИС ГБД ЕЛ does with the messages the gateway delivers to it.

ELICENSE_SUBMIT (from the portal): re-verify the applicant's signature, check the payment
fact, register the application with a number ("process 9"), tell the portal REGISTERED,
forward the application through the gateway to the provider's workstation of its region.

ELICENSE_RESULT (from the provider's workstation): pass status notifications on to the
portal; on the signed result, check the signer's right to sign for the provider, record the
certificate or licence in the registry, and send the result to the personal cabinet.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow
from shared.envelope import canonical
from shared.errors import ApiError
from shared.pki.certinfo import has_signing_right
from shared.pki.cms import SignatureError
from shared.providers import provider_by_bin
from shared.topics import MessageType, ServiceId

from .models import Application, Permit

PAID_SERVICES = {"S2"}


def make_handler(rt):
    async def handle(s: AsyncSession, env: dict) -> None:
        service_id = env["messageInfo"]["serviceId"]
        data = env["messageData"]["data"]
        if service_id == ServiceId.ELICENSE_SUBMIT:
            await register(s, rt, data)
        elif service_id == ServiceId.ELICENSE_RESULT:
            await on_provider_message(s, rt, env["messageInfo"]["messageType"], data)
        else:
            raise ApiError("SERVICE_NOT_FOUND", detail=service_id)

    return handle


def _notify_portal(s, rt, request_id: str, message_type: str, **data) -> None:
    data.setdefault("at", utcnow().isoformat())
    rt.outbox.enqueue(s, service_id=ServiceId.PORTAL_NOTIFY, message_type=message_type,
                      correlation_id=request_id, data={"request_id": request_id, **data})


async def register(s: AsyncSession, rt, data: dict) -> None:
    doc, request_id = data["document"], data["request_id"]
    now = utcnow()
    refusal = None
    signer = {}
    try:
        report = rt.trust.verify(data["signature"], canonical(doc), usage="sign")
        signer = report.signer.to_dict()
        if doc["iin_bin"] not in (report.signer.iin, report.signer.bin):
            refusal = "ECP_IIN_MISMATCH"
    except SignatureError as exc:
        refusal = exc.code
    if refusal is None and doc["service_code"] in PAID_SERVICES:
        payment = data.get("payment") or {}
        if payment.get("status") != "PAID" or payment.get("payment_id") != doc.get("payment_id"):
            refusal = "PAYMENT_NOT_FOUND"
    app = Application(request_id=request_id, service_code=doc["service_code"], region=doc["region"],
                      subtype=doc["subtype"], applicant_iin_bin=doc["iin_bin"], document=doc,
                      signature=data["signature"], signer=signer, payment=data.get("payment"),
                      status="REFUSED" if refusal else "REGISTERED", registered_at=now, updated_at=now)
    s.add(app)
    await s.flush()
    if refusal:
        _notify_portal(s, rt, request_id, MessageType.NOTIFICATION, status="REFUSED", step="process 9",
                       actor="ИС ГБД «Е-лицензирование»", note=f"Заявление не принято: {refusal}")
        return
    app.number = f"EL-{now:%Y}-{app.id:07d}"
    _notify_portal(s, rt, request_id, MessageType.NOTIFICATION, status="REGISTERED", step="process 9",
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


async def on_provider_message(s: AsyncSession, rt, message_type: str, data: dict) -> None:
    app = await s.scalar(select(Application).where(Application.request_id == data["request_id"]))
    if app is None:
        raise ApiError("NOT_FOUND", detail=f"application for request {data['request_id']}")
    forward = {k: data[k] for k in ("status", "step", "actor", "note", "at") if k in data}
    if "result" not in data:
        if data.get("status") == "IN_PROCESSING" and app.status == "REGISTERED":
            app.status = "IN_PROCESSING"
            app.updated_at = utcnow()
        _notify_portal(s, rt, app.request_id, MessageType.NOTIFICATION, **forward)
        return
    result = data["result"]
    provider = provider_by_bin(result["document"].get("provider", {}).get("bin", ""))
    try:
        report = rt.trust.verify(result["signature"], canonical(result["document"]), usage="sign")
        if provider is None or not has_signing_right(report.signer, provider.bin):
            raise SignatureError("ECP_NO_SIGNING_RIGHT", detail="signer has no signing right for the provider")
    except SignatureError as exc:
        raise ApiError(exc.code, detail=exc.detail)  # rejected: recorded in the inbox, reported to the gateway
    kind = result["kind"]
    number = result["document"].get("number")
    if kind != "refusal" and number:
        s.add(Permit(number=number, kind=kind, application_id=app.id, holder_iin_bin=app.applicant_iin_bin,
                     provider_bin=provider.bin, document=result["document"], signature=result["signature"]))
    app.status = "REFUSED" if kind == "refusal" else "COMPLETED"
    app.updated_at = utcnow()
    forward["status"] = app.status
    _notify_portal(s, rt, app.request_id, MessageType.RESPONSE, **forward, result=result,
                   permit_number=number if kind != "refusal" else None)
