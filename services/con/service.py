"""The ЦОН desk's processes, in the order of diagram No 1 (seed 003; seeds 000, 001, 004):

* process 2–4: ``lookup`` — the applicant in ГБД ФЛ (or the organisation in ГБД ЮЛ), the representative in
  ГБД ФЛ and his power of attorney in ЕНИС, through the gateway's sync channel; without the applicant's
  written consent nothing is asked (CON_CONSENT_REQUIRED); data that cannot be obtained is the
  registry's refusal from the catalogue, at "process 4";
* process 5: ``draft`` — the form to sign; ``submit`` — the operator's ЭЦП over its JCS checked like
  the portal checks the applicant's (TrustStore: chain, validity, revocation, SIGN usage), and the
  signer must be the logged-in operator, an employee of the ЦОН's BIN; an incomplete package (a
  required document of п. 9 of the Стандарт missing) gets a receipt of refusal instead;
* process 6: a complete package gets its receipt (расписка) and goes, in the same transaction, to the
  outbox: ELICENSE_SUBMIT to ИС ГБД ЕЛ with ``channel: "con"``;
* process 9: ``handout`` — the result against the receipt and an identity document number matching
  ГБД ФЛ (for a representative: his, and the power of attorney, re-checked in ЕНИС).
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from functools import cache

import jsonschema
import structlog
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared import regulations
from shared.errors import CATALOGUE, ApiError
from shared.iin import validate_iin, validate_iin_or_bin
from shared.regulations.con import con
from shared.topics import MessageType, ServiceId

from .models import Attachment, Lookup, Operator, Receipt, ReceiptEvent
from .schemas import ConDocument, DraftIn, HandoutIn, LookupIn

log = structlog.get_logger("con")

#: the МРП the simulator prices fees with (as the portal's catalogue)
MRP_TENGE = 4325
CLOCK_SKEW = timedelta(minutes=5)
#: the refusal receipt's ground (each seed: п. 9 of the Стандарт, "расписка об отказе в приеме документов")
REFUSAL_SOURCE = "seed 000 п. 11; seed 001, 004: неполный пакет документов согласно п. 9 Стандарта"


@cache
def _validator(service_code: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(regulations.services()[service_code].form_schema,
                                           format_checker=jsonschema.FormatChecker())


def variant_of(service_code: str, region: str):
    process = regulations.find(service_code, region)
    if process is None or service_code not in regulations.services():
        raise ApiError("SERVICE_UNKNOWN", detail=f"{service_code}/{region}")
    return regulations.services()[service_code], process


def fee_tenge(service_code: str) -> int:
    return round(regulations.services()[service_code].fee_mrp * MRP_TENGE)


# --- processes 2–4: the state registries ---------------------------------------------------------

async def lookup(s: AsyncSession, rt, operator: Operator, body: LookupIn) -> Lookup:
    variant_of(body.service_code, body.region)
    if not body.consent:
        raise ApiError("CON_CONSENT_REQUIRED")
    validate_iin_or_bin(body.iin_bin)
    is_bin = body.iin_bin[4] in "456"
    if is_bin:
        org = (await rt.sync.call(ServiceId.GBDUL_ORGANISATION, {"bin": body.iin_bin})).data["organisation"]
        head = org.get("head") or {}
        head_person = None
        if head.get("iin"):
            head_person = (await rt.sync.call(ServiceId.GBDFL_PERSON, {"iin": head["iin"]})).data["person"]
        applicant = {"iin_bin": body.iin_bin, "kind": "BIN", "name": org["name"], "organisation": org,
                     "head": head_person, "document_number": (head_person or {}).get("document_number")}
    else:
        person = (await rt.sync.call(ServiceId.GBDFL_PERSON, {"iin": body.iin_bin})).data["person"]
        applicant = {"iin_bin": body.iin_bin, "kind": "IIN", "name": person["full_name"], "person": person,
                     "document_number": person.get("document_number")}
    representative = None
    if body.representative_iin or body.power_of_attorney_number:
        if not (body.representative_iin and body.power_of_attorney_number):
            raise ApiError("POWER_OF_ATTORNEY_NOT_FOUND", detail="a representative needs his IIN and the power of attorney")
        validate_iin(body.representative_iin)
        rep = (await rt.sync.call(ServiceId.GBDFL_PERSON, {"iin": body.representative_iin})).data["person"]
        poa = await power_of_attorney(rt, body.power_of_attorney_number, body.iin_bin, body.representative_iin,
                                      body.service_code)
        representative = {"iin": body.representative_iin, "name": rep["full_name"], "person": rep,
                          "document_number": rep.get("document_number"), "power_of_attorney": poa}
    row = Lookup(lookup_id=str(uuid.uuid4()), operator=operator.username, service_code=body.service_code,
                 region=body.region, iin_bin=body.iin_bin, consent=True, applicant=applicant,
                 representative=representative)
    s.add(row)
    log.info("con lookup", lookup_id=row.lookup_id, iin_bin=body.iin_bin, representative=bool(representative))
    return row


async def power_of_attorney(rt, number: str, principal: str, representative_iin: str, service_code: str) -> dict:
    """ЕНИС: the power of attorney in force today, for this service, from this principal to this representative."""
    poa = (await rt.sync.call(ServiceId.ENIS_POWER_OF_ATTORNEY,
                              {"number": number, "service_code": service_code})).data["power_of_attorney"]
    if poa.get("principal_iin_bin") != principal or poa.get("representative_iin") != representative_iin:
        raise ApiError("POWER_OF_ATTORNEY_NOT_FOUND", detail="not given by this applicant to this representative")
    return poa


# --- process 5: the form, the operator's signature, the package ---------------------------------

async def draft(s: AsyncSession, operator: Operator, body: DraftIn, now: datetime) -> dict:
    lk = await s.get(Lookup, body.lookup_id)
    if lk is None:
        raise ApiError("CON_LOOKUP_NOT_FOUND")
    rep = lk.representative
    return {
        "channel": "con", "service_code": lk.service_code, "region": lk.region, "subtype": body.subtype,
        "iin_bin": lk.iin_bin, "language": body.language, "form": body.form,
        "attachments": [a.model_dump() for a in body.attachments], "payment_id": body.payment_id,
        "lookup_id": lk.lookup_id, "consent": lk.consent,
        "representative": None if rep is None else {
            "iin": rep["iin"], "name": rep["name"], "power_of_attorney_number": rep["power_of_attorney"]["number"],
            "contacts": (body.representative_contacts.model_dump(exclude_none=True)
                         if body.representative_contacts else {})},
        "applicant_contacts": body.applicant_contacts.model_dump(exclude_none=True),
        "operator": {"username": operator.username, "iin": operator.iin, "full_name": operator.full_name,
                     "office": operator.office.get("name_ru")},
        "created_at": now.isoformat(), "nonce": uuid.uuid4().hex,
    }


def check_signer(report, operator: Operator) -> None:
    """The form is signed by the logged-in operator, as an employee of the ЦОН ("process 5")."""
    signer = report.signer
    if signer.iin != operator.iin or signer.bin != con().bin:
        raise ApiError("ECP_NOT_CON_OPERATOR", detail="the signer is not the logged-in ЦОН operator")


def _desk_times(region: str, kind: str, queued_at, served_at, now: datetime) -> list[dict]:
    """The desk limits of the seeds for this region, with what was measured when the times were given."""
    out = []
    kinds = {"acceptance": ("queue", "acceptance"), "handout": ("queue", "handout")}[kind]
    for limit in con().limits_for(region):
        if limit["kind"] not in kinds:
            continue
        entry = {"kind": limit["kind"], "limit_minutes": limit["minutes"], "title_ru": limit["title_ru"],
                 "source": limit["source"]}
        start, end = (queued_at, served_at) if limit["kind"] == "queue" else (served_at, now)
        if start is not None and end is not None:
            minutes = round((end - start).total_seconds() / 60, 1)
            entry.update(actual_minutes=minutes, within_limit=minutes <= limit["minutes"])
        out.append(entry)
    return out


def _receipt_body(receipt: Receipt, kind: str, service, process, doc: ConDocument, lk: Lookup, operator: Operator,
                  documents: list[dict], now: datetime, *, missing: list[dict] | None = None,
                  due: datetime | None = None, desk_times: list[dict]) -> dict:
    office = operator.office or {}
    applicant = {"iin_bin": lk.iin_bin, "kind": lk.applicant["kind"], "name": lk.applicant["name"],
                 "contacts": doc.applicant_contacts}
    rep = doc.representative
    body = {
        "number": receipt.number, "kind": kind,
        "title_ru": "Расписка о приеме документов" if kind == "acceptance" else "Расписка об отказе в приеме документов",
        "accepted_at": now.isoformat(), "date": now.date().isoformat(),
        "service": {"code": service.code, "title_ru": service.title_ru, "title_kk": service.title_kk,
                    "subtype": doc.subtype, "region": doc.region},
        "documents": documents, "documents_count": len(documents),
        "operator": {"full_name": operator.full_name, "username": operator.username},
        "con": {"name_ru": con().name_ru, "office": office.get("name_ru"), "address": office.get("address")},
        "applicant": applicant,
        "representative": None if rep is None else {
            "iin": rep["iin"], "name": rep["name"], "contacts": rep.get("contacts") or {},
            "power_of_attorney_number": rep["power_of_attorney_number"]},
        "desk_times": desk_times,
    }
    if kind == "acceptance":
        body["result_issue"] = {"due_at": due.isoformat(), "date": due.date().isoformat(),
                                "time": due.strftime("%H:%M"), "place": f"{office.get('name_ru')}, {office.get('address')}",
                                "estimated": process.deadlines_estimated, "deadline_source": process.deadline_source}
    else:
        spec = CATALOGUE["DOCUMENTS_INCOMPLETE"]
        body["refusal"] = {"code": "DOCUMENTS_INCOMPLETE", "message_ru": spec.message_ru, "message_kk": spec.message_kk,
                           "missing_documents": missing or [], "source": REFUSAL_SOURCE}
    return body


async def submit(s: AsyncSession, rt, operator: Operator, document: dict, signature: str, report, now: datetime, *,
                 queued_at=None, served_at=None, max_age: timedelta = timedelta(hours=24),
                 lookup_max_age: timedelta = timedelta(hours=2)) -> Receipt:
    """After the signature was verified (``report``): the package, and a receipt either way."""
    check_signer(report, operator)
    try:
        doc = ConDocument.model_validate(document)
    except ValidationError as exc:
        raise ApiError("FORM_INVALID", step="process 5", detail=str(exc.errors()[0].get("loc")))
    service, process = variant_of(doc.service_code, doc.region)
    lk = await s.get(Lookup, doc.lookup_id)
    if (lk is None or lk.iin_bin != doc.iin_bin or lk.service_code != doc.service_code or lk.region != doc.region
            or lk.created_at < now - lookup_max_age):
        raise ApiError("CON_LOOKUP_NOT_FOUND")
    if not doc.consent or not lk.consent:
        raise ApiError("CON_CONSENT_REQUIRED")
    rep = lk.representative
    if (rep is None) != (doc.representative is None) or (rep is not None and (
            doc.representative.get("iin") != rep["iin"]
            or doc.representative.get("power_of_attorney_number") != rep["power_of_attorney"]["number"])):
        raise ApiError("CON_LOOKUP_NOT_FOUND", detail="the representative differs from the one looked up")
    if doc.operator.get("iin") != operator.iin:
        raise ApiError("ECP_NOT_CON_OPERATOR", detail="the form names another operator")
    if await s.scalar(select(Receipt.id).where(Receipt.nonce == doc.nonce)) is not None:
        raise ApiError("DUPLICATE_REQUEST")
    if doc.created_at < now - max_age or doc.created_at > now + CLOCK_SKEW:
        raise ApiError("DOCUMENT_STALE", detail=f"created_at {doc.created_at.isoformat()}")
    if doc.subtype not in process_subtypes(process, service) or doc.language not in ("ru", "kk"):
        raise ApiError("FORM_INVALID", step="process 5", detail="subtype or language")
    errors = sorted(_validator(service.code).iter_errors(doc.form), key=lambda e: list(e.path))
    if errors:
        raise ApiError("FORM_INVALID", step="process 5",
                       detail=f"{'/'.join(map(str, errors[0].path))}: {errors[0].message}")
    if len({r.attachment_id for r in doc.attachments}) != len(doc.attachments):
        raise ApiError("DOCUMENTS_INCOMPLETE", step="process 5", detail="the same attachment is listed twice")
    titles = {d.code: d for d in service.documents}
    attached = []
    for ref in doc.attachments:
        a = await s.get(Attachment, ref.attachment_id)
        if a is None or a.sha256 != ref.sha256:
            raise ApiError("DOCUMENTS_INCOMPLETE", step="process 5", detail=f"attachment {ref.attachment_id}")
        attached.append((ref, a))
    documents = [{"code": ref.code, "title_ru": titles[ref.code].title_ru if ref.code in titles else a.filename,
                  "filename": a.filename, "sha256": a.sha256} for ref, a in attached]
    coded = {ref.code for ref, _ in attached if ref.code}
    missing = [{"code": d.code, "title_ru": d.title_ru, "title_kk": d.title_kk}
               for d in service.documents if d.required and d.code not in coded]

    receipt = Receipt(kind="acceptance" if not missing else "refusal", nonce=doc.nonce, lookup_id=lk.lookup_id,
                      service_code=service.code, region=doc.region, subtype=doc.subtype, body={},
                      applicant_iin_bin=doc.iin_bin, operator=operator.username, accepted_at=now,
                      status="SUBMITTED" if not missing else "NOT_ACCEPTED", document=document, signature=signature,
                      refusal_code="DOCUMENTS_INCOMPLETE" if missing else None, updated_at=now)
    s.add(receipt)
    await s.flush()
    receipt.number = f"CON-{now:%Y}-{receipt.id:07d}"
    desk_times = _desk_times(doc.region, "acceptance", queued_at, served_at, now)
    if missing:
        # an incomplete package: the receipt of refusal, nothing is submitted
        receipt.body = _receipt_body(receipt, "refusal", service, process, doc, lk, operator, documents, now,
                                     missing=missing, desk_times=desk_times)
        s.add(ReceiptEvent(receipt_id=receipt.id, at=now, status="NOT_ACCEPTED", step="process 5",
                           actor=operator.full_name, note="Неполный пакет документов: расписка об отказе в приеме"))
        log.info("con refusal receipt", number=receipt.number, missing=[m["code"] for m in missing])
        return receipt
    due = process.result_due(now, doc.subtype if doc.subtype in {t.key for t in process.subtypes} else None)
    receipt.request_id = str(uuid.uuid4())
    receipt.body = _receipt_body(receipt, "acceptance", service, process, doc, lk, operator, documents, now,
                                 due=due, desk_times=desk_times)
    s.add(ReceiptEvent(receipt_id=receipt.id, at=now, status="SUBMITTED", step="process 6", actor=operator.full_name,
                       note="Документы приняты в ЦОН, выдана расписка; заявление направлено через ШЭП"))
    rt.outbox.enqueue(
        s, service_id=ServiceId.ELICENSE_SUBMIT, message_type=MessageType.REQUEST, correlation_id=receipt.request_id,
        data={
            "request_id": receipt.request_id, "document": document, "signature": signature, "channel": "con",
            "receipt_number": receipt.number,
            "applicant": {"iin_bin": lk.iin_bin, "kind": lk.applicant["kind"], "full_name": lk.applicant["name"]},
            "attachments": [{"attachment_id": a.attachment_id, "code": ref.code, "filename": a.filename,
                             "content_type": a.content_type, "size": a.size, "sha256": a.sha256}
                            for ref, a in attached],
            "expected_result_at": due.isoformat(),
        })
    log.info("submitted", request_id=receipt.request_id, receipt=receipt.number, service_code=service.code,
             region=doc.region, channel="con")
    return receipt


def process_subtypes(process, service) -> set[str]:
    keys = {t.key for t in process.subtypes}
    return keys or set(service.subtypes) or {"issue"}


# --- process 9: the result against the receipt ---------------------------------------------------

async def handout(s: AsyncSession, rt, operator: Operator, receipt: Receipt, body: HandoutIn, now: datetime) -> dict:
    if receipt.kind not in ("acceptance", "pickup"):
        raise ApiError("RECEIPT_NOT_FOUND", detail="a receipt of refusal has no result")
    if receipt.status == "HANDED_OUT":
        raise ApiError("RESULT_ALREADY_HANDED_OUT")
    if receipt.status not in ("COMPLETED", "REFUSED") or receipt.result is None:
        raise ApiError("CON_RESULT_NOT_READY")
    if receipt.kind == "pickup":  # a paper result of a request made through the portal
        to = await _pickup_identity(rt, receipt, body)
        return _handed_out(s, operator, receipt, body, to, now)
    lk = await s.get(Lookup, receipt.lookup_id)
    rep = (receipt.body or {}).get("representative")
    if rep:
        # a representative: his identity document, and the power of attorney still in force in ЕНИС
        if body.representative_iin != rep["iin"] or body.power_of_attorney_number != rep["power_of_attorney_number"]:
            raise ApiError("HANDOUT_IDENTITY_MISMATCH", detail="not the representative of the receipt")
        expected = (lk.representative or {}).get("document_number")
        if body.identity_document_number != expected:
            raise ApiError("HANDOUT_IDENTITY_MISMATCH", detail="identity document")
        await power_of_attorney(rt, rep["power_of_attorney_number"], receipt.applicant_iin_bin, rep["iin"],
                                receipt.service_code)
        to = {"who": "representative", "iin": rep["iin"], "name": rep["name"],
              "power_of_attorney_number": rep["power_of_attorney_number"]}
    else:
        if body.representative_iin or body.identity_document_number != lk.applicant.get("document_number"):
            raise ApiError("HANDOUT_IDENTITY_MISMATCH", detail="identity document")
        to = {"who": "applicant", "iin_bin": receipt.applicant_iin_bin, "name": lk.applicant["name"]}
    return _handed_out(s, operator, receipt, body, to, now)


async def _document_of(rt, iin_bin: str) -> tuple[str | None, str]:
    """The identity document number and name that ГБД ФЛ (for a BIN: its head's) gives for a holder."""
    if iin_bin[4] in "456":
        org = (await rt.sync.call(ServiceId.GBDUL_ORGANISATION, {"bin": iin_bin})).data["organisation"]
        head = (org.get("head") or {}).get("iin")
        person = (await rt.sync.call(ServiceId.GBDFL_PERSON, {"iin": head})).data["person"] if head else {}
        return person.get("document_number"), org["name"]
    person = (await rt.sync.call(ServiceId.GBDFL_PERSON, {"iin": iin_bin})).data["person"]
    return person.get("document_number"), person["full_name"]


async def _pickup_identity(rt, receipt: Receipt, body: HandoutIn) -> dict:
    """Who collects a portal request's paper result: the applicant (his document, as ГБД ФЛ has it), or a
    representative with a power of attorney in force in ЕНИС."""
    if body.representative_iin:
        await power_of_attorney(rt, body.power_of_attorney_number or "", receipt.applicant_iin_bin,
                                body.representative_iin, receipt.service_code)
        expected, name = await _document_of(rt, body.representative_iin)
        if body.identity_document_number != expected:
            raise ApiError("HANDOUT_IDENTITY_MISMATCH", detail="identity document")
        return {"who": "representative", "iin": body.representative_iin, "name": name,
                "power_of_attorney_number": body.power_of_attorney_number}
    expected, name = await _document_of(rt, receipt.applicant_iin_bin)
    if body.identity_document_number != expected:
        raise ApiError("HANDOUT_IDENTITY_MISMATCH", detail="identity document")
    return {"who": "applicant", "iin_bin": receipt.applicant_iin_bin, "name": name}


def _handed_out(s: AsyncSession, operator: Operator, receipt: Receipt, body: HandoutIn, to: dict, now: datetime) -> dict:
    receipt.status = "HANDED_OUT"
    receipt.handed_out_at = now
    receipt.updated_at = now
    receipt.handout = {"at": now.isoformat(), "to": to, "operator": operator.full_name,
                       "desk_times": _desk_times(receipt.region, "handout", body.queued_at, body.served_at, now)}
    s.add(ReceiptEvent(receipt_id=receipt.id, at=now, status="HANDED_OUT", step="process 9", actor=operator.full_name,
                       note="Результат выдан по расписке"))
    log.info("result handed out", number=receipt.number, request_id=receipt.request_id)
    return receipt.handout
