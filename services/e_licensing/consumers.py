"""What ИС ГБД ЕЛ does with the messages the gateway delivers to it.

ELICENSE_SUBMIT (from the portal): re-verify the applicant's signature, check the payment
fact with ПШЭП through the gateway's sync channel ("condition 2": PSHEP_PAYMENT_STATUS for the
document's ``payment_id``, which must be the applicant's, for this service, and not used by another
application; refusal "process 5" PAYMENT_NOT_FOUND — nothing the request itself says about the
payment is trusted; ПШЭП or the gateway unreachable is an outage: the message is left to
redelivery, never refused), register the application with a number (the variant's registration box: "process 9" in
Mangistau), tell the portal REGISTERED,
forward the application through the gateway to the provider's workstation of its region.

A re-issue or a duplicate names the existing licence (certificate) in ``form.licence_number``:
it must be in the registry, for the same service, and belong to the applicant; otherwise the
application is refused here with LICENCE_NOT_FOUND (the registration box) and the portal told REFUSED.

ELICENSE_SUBMIT from a ЦОН desk (``channel: "con"``, sender ``con``; docs/con.md): the form is signed
with the ЦОН operator's ЭЦП, not the applicant's — it is accepted when the gateway authenticated the
sender as the ЦОН system AND the signer's certificate is an employee's of the ЦОН's BIN
(``regulations/con.toml``); anyone else signing a ЦОН submission, or a ЦОН signature arriving from
another sender, is refused ECP_NOT_CON_OPERATOR. The payment is checked at ПШЭП as for the portal
(the desk records it there). Every status and the result go back to the ЦОН (CON_NOTIFY) instead of
the portal, and the application and its case remember the channel.

ELICENSE_RESULT (from the provider's workstation): pass status notifications on to the
portal (or the ЦОН); on the signed result, check the signer's right to sign for the provider, record the
certificate or licence in the registry (a new permit on issue; on re-issue / duplicate the
existing permit gets the new signed document and a history entry), and send the result to the
personal cabinet.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import structlog
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
from shared.regulations.con import con as con_desk
from shared.topics import SystemId
from shared.topics import MessageType, ServiceId

from . import repository
from .models import Application, Permit, PermitEvent

log = structlog.get_logger("e_licensing")


@dataclass
class ApplicantSignature:
    """What re-verifying the applicant's signature found: the signer, or a permanent refusal code."""

    signer: dict = field(default_factory=dict)
    refusal: str | None = None
    #: the payment fact as ПШЭП answered it (a paid service whose payment was found)
    payment: dict | None = None
    #: PAYMENT_NOT_FOUND when ПШЭП has no such payment of this applicant for this service
    payment_refusal: str | None = None

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
    p = await repository.permit(s, number)
    if p is None or p.holder_iin_bin != doc["iin_bin"]:
        return None
    if (p.service_code or p.document.get("service_code")) != doc["service_code"]:
        return None
    return p


#: how long, after ПШЭП could not be asked, further payment checks are deferred at once (no wait)
PSHEP_BACKOFF_SECONDS = 3.0
#: the longest one payment check waits for ПШЭП's answer
PSHEP_TIMEOUT_SECONDS = 5.0


def handlers(rt) -> dict[str, Handler]:
    pshep_down_until = 0.0

    async def check_payment(msg: Delivered, doc: dict) -> tuple[dict | None, str | None]:
        """"Condition 2": the payment fact from ПШЭП, or PAYMENT_NOT_FOUND. An outage raises the
        retryable ApiError (the consumer leaves the message to redelivery)."""
        nonlocal pshep_down_until
        payment_id = doc.get("payment_id")
        if not isinstance(payment_id, str) or not payment_id:
            return None, "PAYMENT_NOT_FOUND"
        if time.monotonic() < pshep_down_until:
            raise ApiError("UNAVAILABLE", detail="ПШЭП was unreachable a moment ago")
        query = {"payment_id": payment_id, "payer_iin_bin": doc["iin_bin"], "service_code": doc["service_code"]}
        try:
            answer = await rt.sync.call(ServiceId.PSHEP_PAYMENT_STATUS, query, correlation_id=msg.correlation_id,
                                        timeout_seconds=PSHEP_TIMEOUT_SECONDS)
        except ApiError as exc:
            if exc.code == "PAYMENT_NOT_FOUND":
                return None, "PAYMENT_NOT_FOUND"
            if exc.retryable:
                pshep_down_until = time.monotonic() + PSHEP_BACKOFF_SECONDS
                log.warning("ПШЭП not reachable: payment check deferred", code=exc.code, detail=exc.detail)
            raise
        payment = (answer.data or {}).get("payment") or {}
        if (payment.get("payment_id") != payment_id or payment.get("payer_iin_bin") != doc["iin_bin"]
                or payment.get("service_code") != doc["service_code"] or payment.get("status") != "PAID"
                or payment.get("region") not in (None, doc.get("region"))):
            return None, "PAYMENT_NOT_FOUND"
        return payment, None

    async def check_applicant(msg: Delivered) -> ApplicantSignature:
        """Re-verify the applicant's signature before the transaction, then (for a paid service) ask
        ПШЭП for the payment fact. A bad signature or no payment is a refusal told to the applicant;
        the НУЦ or ПШЭП being unreachable is an outage (raised: redelivered later)."""
        doc = msg.data.document
        try:
            report = await rt.trust.verify(msg.data.signature, canonical(doc), usage="sign")
        except SignatureError as exc:
            if exc.retryable:
                raise
            return ApplicantSignature(refusal=exc.code)
        if msg.data.channel == "con" or msg.sender_id == SystemId.CON:
            # a ЦОН desk: its operator signs in place of the applicant ("process 5" of diagram No 1)
            ok = (msg.sender_id == SystemId.CON and msg.data.channel == "con" and doc.get("channel") == "con"
                  and report.signer.bin == con_desk().bin and bool(report.signer.iin))
            refusal = None if ok else "ECP_NOT_CON_OPERATOR"
        else:
            refusal = None if doc["iin_bin"] in (report.signer.iin, report.signer.bin) else "ECP_IIN_MISMATCH"
        checked = ApplicantSignature(signer=report.signer.to_dict(), refusal=refusal)
        if refusal is None and doc["service_code"] in PAID_SERVICES:
            checked.payment, checked.payment_refusal = await check_payment(msg, doc)
        return checked

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


def _notify_portal(s, rt, request_id: str, message_type: str, *, channel: str = "portal", **data) -> None:
    """Tell where the request was accepted: the personal cabinet (PORTAL_NOTIFY) or the ЦОН (CON_NOTIFY)."""
    data.setdefault("at", utcnow().isoformat())
    service_id = ServiceId.CON_NOTIFY if channel == "con" else ServiceId.PORTAL_NOTIFY
    rt.outbox.enqueue(s, service_id=service_id, message_type=message_type,
                      correlation_id=request_id, data={"request_id": request_id, **data})


async def register(s: AsyncSession, rt, data: dict, applicant: ApplicantSignature) -> None:
    doc, request_id = data["document"], data["request_id"]
    channel = data.get("channel") or "portal"
    now = utcnow()
    refusal, signer = applicant.refusal, applicant.signer
    payment = None
    if refusal is None and doc["service_code"] in PAID_SERVICES:
        # the payment fact as ПШЭП told it (check_applicant), used by no other application
        payment, refusal = applicant.payment, applicant.payment_refusal
        if payment is None:
            refusal = "PAYMENT_NOT_FOUND"
        elif await repository.payment_used(s, payment["payment_id"]):
            payment, refusal = None, "PAYMENT_NOT_FOUND"
    if refusal is None and is_amendment(doc.get("subtype")) and await existing_permit(s, doc) is None:
        refusal = "LICENCE_NOT_FOUND"
    app = Application(request_id=request_id, service_code=doc["service_code"], region=doc["region"],
                      subtype=doc["subtype"], applicant_iin_bin=doc["iin_bin"], document=doc,
                      signature=data["signature"], signer=signer, payment=payment,
                      payment_id=payment["payment_id"] if payment else None,
                      status="REFUSED" if refusal else "REGISTERED", refusal_code=refusal,
                      registered_at=now, updated_at=now, channel=channel)
    s.add(app)
    await s.flush()
    log.info("registered" if refusal is None else "refused at registration", request_id=request_id,
             service_code=doc["service_code"], region=doc["region"], code=refusal)
    process = regulations.find(doc["service_code"], doc["region"])
    boxes = dict(process.portal_boxes) if process else {"registry": "process 9", "payment": "process 5"}
    if refusal:
        _notify_portal(s, rt, request_id, MessageType.NOTIFICATION, status="REFUSED",
                       step=boxes["payment"] if refusal == "PAYMENT_NOT_FOUND" else boxes["registry"],
                       actor="ИС ГБД «Е-лицензирование»", code=refusal, note=f"Заявление не принято: {refusal}",
                       note_kk=f"Өтініш қабылданбады: {refusal}",
                       channel=channel)
        return
    app.number = f"EL-{now:%Y}-{app.id:07d}"
    _notify_portal(s, rt, request_id, MessageType.NOTIFICATION, status="REGISTERED", step=boxes["registry"],
                   actor="ИС ГБД «Е-лицензирование»", application_number=app.number,
                   note="Электронный документ зарегистрирован", note_kk="Электрондық құжат тіркелді",
                   channel=channel)
    rt.outbox.enqueue(
        s, service_id=ServiceId.ARM_PROCESS, message_type=MessageType.REQUEST, correlation_id=request_id,
        route_id=doc["region"],
        data={"application_number": app.number, "request_id": request_id, "document": doc,
              "signature": data["signature"], "applicant": data.get("applicant"),
              "attachments": data.get("attachments", []), "payment": payment,
              "registered_at": now.isoformat(), "channel": channel,
              "receipt_number": data.get("receipt_number")},
    )


async def on_provider_message(s: AsyncSession, rt, message_type: str, data: dict, provider) -> None:
    """``provider``: the result's provider whose signing right ``check_result`` established."""
    app = await repository.application_of_request(s, data["request_id"])
    if app is None:
        raise ApiError("NOT_FOUND", detail=f"application for request {data['request_id']}")
    forward = {k: data[k] for k in ("status", "step", "step_kk", "actor", "note", "note_kk", "at", "notice") if k in data}
    # every notification carries the number: after a broker restart the REGISTERED one (which first
    # told it) may arrive after this one, and the cabinet must not show a request in processing unnumbered
    forward["application_number"] = app.number
    if "result" not in data:
        if data.get("status") == "IN_PROCESSING" and app.status == "REGISTERED":
            app.status = "IN_PROCESSING"
            app.updated_at = utcnow()
        _notify_portal(s, rt, app.request_id, MessageType.NOTIFICATION, channel=app.channel, **forward)
        return
    result = data["result"]
    kind = result["kind"]
    number = result["document"].get("number")
    if kind != "refusal" and number:
        await record_permit(s, app, number, kind, provider.bin, result)
    app.status = "REFUSED" if kind == "refusal" else "COMPLETED"
    app.updated_at = utcnow()
    forward["status"] = app.status
    _notify_portal(s, rt, app.request_id, MessageType.RESPONSE, channel=app.channel, **forward, result=result,
                   permit_number=number if kind != "refusal" else None)
    process = regulations.find(app.service_code, app.region)
    if app.channel != "con" and process is not None and process.result_medium == "paper":
        # S1, S2: the paper result is issued at the ЦОН whatever the channel (seeds 000/001/003 п. 3)
        _notify_portal(s, rt, app.request_id, MessageType.RESPONSE, channel="con", **forward, result=result,
                       pickup={"application_number": app.number, "service_code": app.service_code,
                               "region": app.region, "subtype": app.subtype,
                               "applicant_iin_bin": app.applicant_iin_bin})


async def record_permit(s: AsyncSession, app: Application, number: str, kind: str, provider_bin: str,
                        result: dict) -> Permit:
    """Issue: a new permit. Re-issue / duplicate of an existing permit: its current document and
    signature are replaced, the history keeps every version."""
    now = utcnow()
    permit = await repository.permit(s, number)
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
