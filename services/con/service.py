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

import asyncio
import uuid
from datetime import datetime, timedelta
from functools import cache

import jsonschema
import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from shared import regulations
from shared.db import utcnow
from shared.errors import CATALOGUE, ApiError
from shared.iin import validate_iin, validate_iin_or_bin
from shared.regulations.con import con
from shared.topics import MessageType, ServiceId

from . import repository
from .models import Lookup, Operator, Receipt, ReceiptEvent
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


def desk_variants() -> dict[tuple[str, str], object]:
    """(service code, region) → process, for what the ЦОН accepts: the variants whose result the seeds
    issue on paper at the ЦОН (S1, S2 — seeds 000, 001/004, 003 п. 3) in a region with a ЦОН office
    (``regulations/con.toml``). The Aktobe services (S3–S7, seed 002) are the portal's only."""
    offices = con().offices
    return {(p.service_code, p.region): p for p in regulations.all_processes().values()
            if p.result_medium == "paper" and p.region in offices and p.service_code in regulations.services()}


def variant_of(service_code: str, region: str):
    process = desk_variants().get((service_code, region))
    if process is None:
        raise ApiError("SERVICE_UNKNOWN", detail=f"{service_code}/{region} is not served at the ЦОН")
    return regulations.services()[service_code], process


def catalogue() -> list[dict]:
    """The desk's service catalogue (``GET /services``): what the operator chooses in process 2 and
    fills in process 5 — titles, the fee, the documents of п. 9, the form's JSON Schema and example,
    and the regions the ЦОН serves it in, with the provider, the service deadlines and the office."""
    by_code: dict[str, list] = {}
    for (code, _), process in sorted(desk_variants().items()):
        by_code.setdefault(code, []).append(process)
    providers = regulations.providers()
    out = []
    for code, processes in by_code.items():
        svc = regulations.services()[code]
        variants = []
        for p in processes:
            subtypes = sorted(process_subtypes(p, svc))
            result, refusal = p.deadlines_for(p.default_subtype)
            provider = providers[p.provider]
            office = con().offices[p.region]
            variants.append({
                "region": p.region, "process_id": p.id, "seed": p.seed, "subtypes": subtypes,
                "provider": {"bin": provider.bin, "name_ru": provider.name_ru, "name_kk": provider.name_kk},
                "result_deadline": {"amount": result[0], "unit": result[1]},
                "refusal_deadline": {"amount": refusal[0], "unit": refusal[1]},
                "deadline_source": p.deadline_source, "deadline_estimated": p.deadlines_estimated,
                "office": {"name_ru": office["name_ru"], "address": office["address"]},
                "desk_limits": con().limits_for(p.region)})
        out.append({"code": code, "title_ru": svc.title_ru, "title_kk": svc.title_kk,
                    "fee": {"mrp": svc.fee_mrp, "tenge": fee_tenge(code), "source": svc.fee_source},
                    "subtypes": list(svc.subtypes), "required_documents": [d.public() for d in svc.documents],
                    "form_schema": svc.form_schema, "example": svc.example, "variants": variants})
    return out


def fee_tenge(service_code: str) -> int:
    return round(regulations.services()[service_code].fee_mrp * MRP_TENGE)


# --- processes 2–4: the state registries ---------------------------------------------------------

async def lookup(s: AsyncSession, rt, operator: Operator, body: LookupIn, *,
                 queued_at: datetime | None = None) -> Lookup:
    """``queued_at``: when the applicant took the ЦОН's queue ticket (the desk's own clock, ``POST /queue``);
    the lookup's own time is when the operator began to serve him (process 2)."""
    started = utcnow()
    variant_of(body.service_code, body.region)
    if not body.consent:
        raise ApiError("CON_CONSENT_REQUIRED")
    validate_iin_or_bin(body.iin_bin)
    asked = [_applicant(rt, body.iin_bin)]
    if body.representative_iin or body.power_of_attorney_number:
        if not (body.representative_iin and body.power_of_attorney_number):
            raise ApiError("POWER_OF_ATTORNEY_NOT_FOUND", detail="a representative needs his IIN and the power of attorney")
        validate_iin(body.representative_iin)
        asked += [_person(rt, body.representative_iin),
                  power_of_attorney(rt, body.power_of_attorney_number, body.iin_bin, body.representative_iin,
                                    body.service_code)]
    # process 3: ГБД ФЛ / ГБД ЮЛ and ЕНИС asked at once (condition 1 needs every answer)
    applicant, *rest = await all_of(*asked)
    representative = None
    if rest:
        rep, poa = rest
        representative = {"iin": body.representative_iin, "name": rep["full_name"], "person": rep,
                          "document_number": rep.get("document_number"), "power_of_attorney": poa}
    row = Lookup(lookup_id=str(uuid.uuid4()), operator=operator.username, service_code=body.service_code,
                 region=body.region, iin_bin=body.iin_bin, consent=True, applicant=applicant,
                 representative=representative, queued_at=queued_at, created_at=started)
    s.add(row)
    log.info("con lookup", lookup_id=row.lookup_id, iin_bin=body.iin_bin, representative=bool(representative))
    return row


async def all_of(*aws):
    """The answers of several registry calls made at once; if one is refused, the others are cancelled
    and the first refusal (in the order asked) is raised as it came."""
    tasks = []
    try:
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(a) for a in aws]
    except BaseExceptionGroup as group:
        failed = [t.exception() for t in tasks if t.done() and not t.cancelled() and t.exception() is not None]
        raise (failed or group.exceptions)[0] from None
    return [t.result() for t in tasks]


async def _person(rt, iin: str) -> dict:
    return (await rt.sync.call(ServiceId.GBDFL_PERSON, {"iin": iin})).data["person"]


async def _applicant(rt, iin_bin: str, *, active_only: bool = True) -> dict:
    """The applicant as ГБД ФЛ has him, or the organisation as ГБД ЮЛ has it with its head from ГБД ФЛ
    (the head's identity document is the organisation's at the hand-out)."""
    if iin_bin[4] not in "456":
        person = await _person(rt, iin_bin)
        return {"iin_bin": iin_bin, "kind": "IIN", "name": person["full_name"], "person": person,
                "document_number": person.get("document_number")}
    org = (await rt.sync.call(ServiceId.GBDUL_ORGANISATION, {"bin": iin_bin})).data["organisation"]
    if active_only and org.get("status") != "ACTIVE":
        # ГБД ЮЛ knows it, but it is liquidated or suspended: nobody applies in its name
        raise ApiError("ORGANISATION_NOT_ACTIVE", detail=f"{iin_bin}: {org.get('status')}")
    head_iin = (org.get("head") or {}).get("iin")
    head = await _person(rt, head_iin) if head_iin else None
    return {"iin_bin": iin_bin, "kind": "BIN", "name": org["name"], "organisation": org, "head": head,
            "document_number": (head or {}).get("document_number")}


async def power_of_attorney(rt, number: str, principal: str, representative_iin: str, service_code: str) -> dict:
    """ЕНИС: the power of attorney in force today, for this service, from this principal to this representative."""
    # asked with both parties: another principal's power of attorney is "not found", whatever its state
    poa = (await rt.sync.call(ServiceId.ENIS_POWER_OF_ATTORNEY, {
        "number": number, "principal_iin_bin": principal, "representative_iin": representative_iin,
        "service_code": service_code})).data["power_of_attorney"]
    if poa.get("principal_iin_bin") != principal or poa.get("representative_iin") != representative_iin:
        raise ApiError("POWER_OF_ATTORNEY_NOT_FOUND", detail="not given by this applicant to this representative")
    return poa


# --- process 5: the form, the operator's signature, the package ---------------------------------

async def draft(s: AsyncSession, operator: Operator, body: DraftIn, now: datetime) -> dict:
    lk = await repository.lookup(s, body.lookup_id)
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


#: what each desk limit of con.toml measures, on the desk's own clock: the wait from the queue ticket to
#: the operator's lookup (Almaty, seed 001 п. 10: "при сдаче пакета документов"), the request's processing
#: from the lookup to the receipt (Zhambyl, seed 003 п. 9 пп. 2), п. 10 пп. 2)), the hand-out from the
#: queue ticket to the result handed over (Zhambyl, seed 003 п. 10)
DESK_LIMITS = {"acceptance": ("queue", "acceptance"), "handout": ("handout",)}


def desk_times(region: str, kind: str, *, queued_at: datetime | None, started_at: datetime | None,
               now: datetime) -> list[dict]:
    """The desk limits of the seeds for this region at ``kind`` ("acceptance" or "handout"), each with the
    minutes measured on the desk's clock and whether the limit was kept — or ``measured: false`` when
    its start is not known (no queue ticket was called)."""
    out = []
    for limit in con().limits_for(region):
        if limit["kind"] not in DESK_LIMITS[kind]:
            continue
        start, end = {"queue": (queued_at, started_at), "acceptance": (started_at, now),
                      "handout": (queued_at, now)}[limit["kind"]]
        entry = {"kind": limit["kind"], "limit_minutes": limit["minutes"], "title_ru": limit["title_ru"],
                 "source": limit["source"], "measured": start is not None and end is not None}
        if entry["measured"]:
            minutes = round(max((end - start).total_seconds(), 0) / 60, 1)
            entry.update(started_at=start.isoformat(), ended_at=end.isoformat(), actual_minutes=minutes,
                         within_limit=minutes <= limit["minutes"])
        out.append(entry)
    return out


def _over(desk: list[dict]) -> str | None:
    """The timeline's note when a desk limit was not kept."""
    over = [t for t in desk if t.get("within_limit") is False]
    if not over:
        return None
    return "; ".join(f"Превышено время ЦОН ({t['title_ru']}): {t['actual_minutes']:g} мин при норме "
                     f"{t['limit_minutes']} мин ({t['source']})" for t in over)


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
                 max_age: timedelta = timedelta(hours=24),
                 lookup_max_age: timedelta = timedelta(hours=2)) -> Receipt:
    """After the signature was verified (``report``): the package, and a receipt either way."""
    check_signer(report, operator)
    try:
        doc = ConDocument.model_validate(document)
    except ValidationError as exc:
        raise ApiError("FORM_INVALID", step="process 5", detail=str(exc.errors()[0].get("loc")))
    service, process = variant_of(doc.service_code, doc.region)
    lk = await repository.lookup(s, doc.lookup_id)
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
    if await repository.nonce_used(s, doc.nonce):
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
        a = await repository.attachment(s, ref.attachment_id)
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
    desk = desk_times(doc.region, "acceptance", queued_at=lk.queued_at, started_at=lk.created_at, now=now)
    over = _over(desk)
    if over:
        log.warning("con desk limit exceeded", number=receipt.number, note=over)
    if missing:
        # an incomplete package: the receipt of refusal, nothing is submitted
        receipt.body = _receipt_body(receipt, "refusal", service, process, doc, lk, operator, documents, now,
                                     missing=missing, desk_times=desk)
        s.add(ReceiptEvent(receipt_id=receipt.id, at=now, status="NOT_ACCEPTED", step="process 5",
                           actor=operator.full_name, note="; ".join(filter(None, (
                               "Неполный пакет документов: расписка об отказе в приеме", over)))))
        log.info("con refusal receipt", number=receipt.number, missing=[m["code"] for m in missing])
        return receipt
    due = process.result_due(now, doc.subtype if doc.subtype in {t.key for t in process.subtypes} else None)
    receipt.request_id = str(uuid.uuid4())
    receipt.body = _receipt_body(receipt, "acceptance", service, process, doc, lk, operator, documents, now,
                                 due=due, desk_times=desk)
    s.add(ReceiptEvent(receipt_id=receipt.id, at=now, status="SUBMITTED", step="process 6", actor=operator.full_name,
                       note="; ".join(filter(None, (
                           "Документы приняты в ЦОН, выдана расписка; заявление направлено через ШЭП", over)))))
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

POA_CODES = ("POWER_OF_ATTORNEY_NOT_FOUND", "POWER_OF_ATTORNEY_REVOKED", "POWER_OF_ATTORNEY_EXPIRED",
             "POWER_OF_ATTORNEY_SCOPE")


async def handout(s: AsyncSession, rt, operator: Operator, receipt: Receipt, body: HandoutIn, now: datetime, *,
                  queued_at: datetime | None = None) -> dict:
    """Process 9: the result against the receipt — to the applicant on his identity document (for an
    organisation: its head's), or to a representative on his and a notarised power of attorney in force
    in ЕНИС today (seed 003 п. 9: "немесе оның өкіліне нотариат куәландырған сенімхат бойынша"). Both are
    asked of ГБД ФЛ / ЕНИС now, not taken from the lookup at acceptance: a power of attorney revoked
    since is refused. The same for a portal request's paper result (``P-<number>``)."""
    if receipt.kind not in ("acceptance", "pickup"):
        raise ApiError("RECEIPT_NOT_FOUND", detail="a receipt of refusal has no result")
    if receipt.status == "HANDED_OUT":
        raise ApiError("RESULT_ALREADY_HANDED_OUT")
    if receipt.status not in ("COMPLETED", "REFUSED") or receipt.result is None:
        raise ApiError("CON_RESULT_NOT_READY")
    to = await _collector(rt, receipt, body)
    receipt.status = "HANDED_OUT"
    receipt.handed_out_at = now
    receipt.updated_at = now
    desk = desk_times(receipt.region, "handout", queued_at=queued_at, started_at=None, now=now)
    receipt.handout = {"at": now.isoformat(), "to": to, "operator": operator.full_name, "desk_times": desk}
    s.add(ReceiptEvent(receipt_id=receipt.id, at=now, status="HANDED_OUT", step="process 9", actor=operator.full_name,
                       note="; ".join(filter(None, ("Результат выдан по расписке", _over(desk))))))
    log.info("result handed out", number=receipt.number, request_id=receipt.request_id, to=to["who"])
    return receipt.handout


async def _collector(rt, receipt: Receipt, body: HandoutIn) -> dict:
    """Who collects the result: the applicant (his identity document as ГБД ФЛ has it; an organisation's
    head's), or a representative with a power of attorney from the applicant in force in ЕНИС for this
    service (and his own document)."""
    if body.representative_iin:
        validate_iin(body.representative_iin)
        if not body.power_of_attorney_number:
            raise ApiError("POWER_OF_ATTORNEY_NOT_FOUND", step="process 9", detail="a representative needs the power of attorney")
        try:
            person, _ = await all_of(_person(rt, body.representative_iin), power_of_attorney(
                rt, body.power_of_attorney_number, receipt.applicant_iin_bin, body.representative_iin,
                receipt.service_code))
        except ApiError as exc:
            if exc.code in POA_CODES:  # the same refusal, at the hand-out's box
                raise ApiError(exc.code, step="process 9", detail=exc.detail)
            raise
        if body.identity_document_number != person.get("document_number"):
            raise ApiError("HANDOUT_IDENTITY_MISMATCH", detail="identity document")
        return {"who": "representative", "iin": body.representative_iin, "name": person["full_name"],
                "power_of_attorney_number": body.power_of_attorney_number}
    # a result is handed out even to an organisation suspended or liquidated since: its head collects it
    holder = await _applicant(rt, receipt.applicant_iin_bin, active_only=False)
    if body.identity_document_number != holder["document_number"]:
        raise ApiError("HANDOUT_IDENTITY_MISMATCH", detail="identity document")
    return {"who": "applicant", "iin_bin": receipt.applicant_iin_bin, "name": holder["name"]}
