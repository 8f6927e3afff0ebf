"""The ЦОН operator's API (``/api/v1``): log in, look the applicant up, take the payment, attach the
scans, sign and submit the form, issue receipts, answer status enquiries and hand results out."""
from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import datetime, timedelta, timezone
from typing import AsyncIterator

from fastapi import APIRouter, Depends, Request, UploadFile
from fastapi.responses import Response
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from sqlalchemy.ext.asyncio import AsyncSession

from shared import paper
from shared.app import SIGNATURE_CODES, JCSRoute, client_address, error_responses
from shared.db import utcnow
from shared.envelope import canonical
from shared.errors import ApiError
from shared.pki.cms import SignatureError
from shared.regulations.con import con
from shared.topics import ServiceId

from . import repository, service
from .models import Attachment, Operator, Receipt
from .schemas import (AttachmentOut, DraftIn, HandoutIn, LookupIn, LookupOut, PaymentIn, PaymentOut, SubmitIn,
                      TicketOut)
from .settings import ConSettings

router = APIRouter(route_class=JCSRoute, prefix="/api/v1")
oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
UPLOAD_BODY_LIMIT = ConSettings().con_attachment_max_bytes + 64 * 1024

_MAGIC = ((b"%PDF-", "application/pdf"), (b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))
REGISTRY_CODES = ("PERSON_NOT_FOUND", "ORGANISATION_NOT_FOUND", "ORGANISATION_NOT_ACTIVE", "POWER_OF_ATTORNEY_NOT_FOUND",
                  "POWER_OF_ATTORNEY_REVOKED", "POWER_OF_ATTORNEY_EXPIRED", "POWER_OF_ATTORNEY_SCOPE",
                  "UNAVAILABLE", "SYNC_TIMEOUT")


async def session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.rt.db.session() as s:
        yield s


async def current_operator(request: Request, token: str | None = Depends(oauth2)) -> Operator:
    claims = request.app.state.tokens.decode(token) if token else None
    if not claims:
        raise ApiError("AUTH_REQUIRED")
    async with request.app.state.rt.db.read() as s:
        op = await repository.operator(s, claims["sub"])
    if op is None:
        raise ApiError("AUTH_REQUIRED")
    return op


@router.post("/auth/token", tags=["auth"], summary="ЦОН operators log in (process 1; OAuth2 password form)",
             responses=error_responses("AUTH_FAILED", "AUTH_LOCKED", "VALIDATION_ERROR"))
async def token(request: Request, form: OAuth2PasswordRequestForm = Depends()) -> dict:
    async with request.app.state.rt.db.read() as s:
        op = await repository.operator(s, form.username[:64])
    if not await request.app.state.login.check(form.username[:64], client_address(request),
                                               op.password_hash if op else None, form.password):
        raise ApiError("AUTH_FAILED", step="process 1")
    return request.app.state.tokens.issue(op.username, region=op.region)


@router.get("/desk", tags=["desk"], summary="The ЦОН, its offices and the desk limits of the seeds",
            responses=error_responses("AUTH_REQUIRED"))
async def desk(op: Operator = Depends(current_operator)) -> dict:
    d = con()
    return {"bin": d.bin, "name_ru": d.name_ru, "name_kk": d.name_kk, "operator": {
        "username": op.username, "full_name": op.full_name, "region": op.region, "office": op.office},
        "limits": [dict(x) for x in d.limits]}


@router.get("/services", tags=["catalogue"], summary="The services the ЦОН accepts, with their forms (S1, S2)")
async def services() -> list[dict]:
    """What the operator chooses in process 2 and fills in process 5: for each service the ЦОН takes
    (the S1/S2 variants of the seeds, in the regions with a ЦОН office) its titles, fee, the documents of
    п. 9 of the Стандарт, the form's JSON Schema with an example, and the regions with the provider, the
    service deadlines, the office and the desk limits. Public, like the portal's catalogue."""
    return service.catalogue()


@router.get("/services/{code}", tags=["catalogue"], summary="One service of the ЦОН's catalogue (its form)",
            responses=error_responses("SERVICE_UNKNOWN"))
async def service_entry(code: str) -> dict:
    entry = next((e for e in service.catalogue() if e["code"] == code[:8]), None)
    if entry is None:
        raise ApiError("SERVICE_UNKNOWN", detail=f"{code[:8]} is not served at the ЦОН")
    return entry


@router.post("/queue", tags=["desk"], status_code=201, response_model=TicketOut,
             summary="A ticket of the ЦОН's electronic queue, stamped with the desk's clock",
             responses=error_responses("AUTH_REQUIRED"))
async def queue_ticket(request: Request, op: Operator = Depends(current_operator)) -> TicketOut:
    """The applicant takes a ticket on arrival; the operator who calls it passes it to ``POST /lookups``
    (the wait in the queue: Almaty's 15 minutes, seed 001 п. 10) and ``POST /receipts/{n}/handout``
    (Zhambyl's 20 minutes for the hand-out, seed 003 п. 10). Measured on the desk's clock only."""
    issued = request.app.state.queue.issue(op.region)
    claims = request.app.state.queue.decode(issued["access_token"])
    return TicketOut(ticket=issued["access_token"], issued_at=datetime.fromtimestamp(claims["iat"], timezone.utc),
                     region=op.region)


def ticket_time(request: Request, op: Operator, ticket: str | None) -> datetime | None:
    """When the queue ticket was issued — only a ticket of this ЦОН office, signed by the desk."""
    if ticket is None:
        return None
    claims = request.app.state.queue.decode(ticket)
    if not claims or claims.get("sub") != op.region:
        raise ApiError("VALIDATION_ERROR", detail="queue_ticket: not a queue ticket of this ЦОН office")
    return datetime.fromtimestamp(claims["iat"], timezone.utc)


@router.post("/lookups", tags=["desk"], status_code=201, response_model=LookupOut,
             summary="Processes 2–4: the applicant in ГБД ФЛ / ГБД ЮЛ, the representative's power of attorney in ЕНИС",
             responses=error_responses("CON_CONSENT_REQUIRED", "SERVICE_UNKNOWN", "IIN_BIN_INVALID", "AUTH_REQUIRED",
                                       "VALIDATION_ERROR", *REGISTRY_CODES))
async def lookup(body: LookupIn, request: Request, op: Operator = Depends(current_operator),
                 s: AsyncSession = Depends(session, scope="function")) -> LookupOut:
    """Nothing is asked without the applicant's written consent (400 CON_CONSENT_REQUIRED, "process 2").
    Data that cannot be obtained is the registry's refusal at "process 4" (PERSON_NOT_FOUND,
    POWER_OF_ATTORNEY_NOT_FOUND / _REVOKED / _EXPIRED / _SCOPE…)."""
    row = await service.lookup(s, request.app.state.rt, op, body, queued_at=ticket_time(request, op, body.queue_ticket))
    return LookupOut(lookup_id=row.lookup_id, applicant=row.applicant, representative=row.representative)


@router.post("/payments", tags=["desk"], status_code=201, response_model=PaymentOut,
             summary="The fee taken at the desk, recorded at ПШЭП for the applicant",
             responses=error_responses("CON_LOOKUP_NOT_FOUND", "AUTH_REQUIRED", "UNAVAILABLE", "SYNC_TIMEOUT"))
async def pay(body: PaymentIn, request: Request, op: Operator = Depends(current_operator)) -> PaymentOut:
    async with request.app.state.rt.db.read() as s:
        lk = await repository.lookup(s, body.lookup_id)
    if lk is None:
        raise ApiError("CON_LOOKUP_NOT_FOUND")
    answer = await request.app.state.rt.sync.call(ServiceId.PSHEP_PAY, {
        "payer_iin_bin": lk.iin_bin, "service_code": lk.service_code, "region": lk.region,
        "amount": service.fee_tenge(lk.service_code)})
    try:
        p = answer.data["payment"]
        return PaymentOut(payment_id=p["payment_id"], amount=p["amount"], status=p["status"])
    except (KeyError, TypeError):
        raise ApiError("UNAVAILABLE", detail="ПШЭП answered without a payment")


@router.post("/attachments", tags=["desk"], status_code=201, response_model=AttachmentOut,
             max_body_size=UPLOAD_BODY_LIMIT, summary="A scanned document (multipart; process 5)",
             responses=error_responses("AUTH_REQUIRED", "REQUEST_TOO_LARGE", "ATTACHMENT_TOO_LARGE", "ATTACHMENT_TYPE"))
async def upload(file: UploadFile, request: Request, op: Operator = Depends(current_operator),
                 s: AsyncSession = Depends(session, scope="function")) -> AttachmentOut:
    limit = request.app.state.rt.settings.con_attachment_max_bytes
    content = await file.read(limit + 1)
    if len(content) > limit:
        raise ApiError("ATTACHMENT_TOO_LARGE")
    kind = next((k for magic, k in _MAGIC if content.startswith(magic)), None)
    if kind is None:
        try:
            content.decode("utf-8")
            kind = "text/plain"
        except UnicodeDecodeError:
            raise ApiError("ATTACHMENT_TYPE", detail="not a PDF, JPEG, PNG or UTF-8 text file")
    a = Attachment(attachment_id=str(uuid.uuid4()), operator=op.username, filename=(file.filename or "scan")[:255],
                   content_type=kind, size=len(content), sha256=hashlib.sha256(content).hexdigest(), content=content)
    s.add(a)
    return AttachmentOut(attachment_id=a.attachment_id, sha256=a.sha256, size=a.size, content_type=a.content_type)


@router.post("/drafts", tags=["desk"], summary="The filled form as the operator is to sign it (CMS over its JCS)",
             responses=error_responses("CON_LOOKUP_NOT_FOUND", "AUTH_REQUIRED"))
async def make_draft(body: DraftIn, op: Operator = Depends(current_operator),
                     s: AsyncSession = Depends(session, scope="function")) -> dict:
    return await service.draft(s, op, body, utcnow())


@router.post("/applications", tags=["desk"], status_code=201,
             summary="Process 5–6: the operator-signed form; a receipt (or a receipt of refusal for an incomplete package)",
             responses=error_responses("ECP_NOT_CON_OPERATOR", "CON_LOOKUP_NOT_FOUND", "CON_CONSENT_REQUIRED",
                                       "FORM_INVALID", "DOCUMENTS_INCOMPLETE", "DUPLICATE_REQUEST", "DOCUMENT_STALE",
                                       "AUTH_REQUIRED", *SIGNATURE_CODES))
async def submit(body: SubmitIn, request: Request, op: Operator = Depends(current_operator)) -> dict:
    """The signature is checked before any transaction (the НУЦ may be slow); a package missing a required
    document of п. 9 of the Стандарт is answered 201 with a receipt of ``kind: "refusal"`` and nothing is
    submitted; a complete one with the receipt of acceptance and the request on its way to ИС ГБД ЕЛ."""
    rt = request.app.state.rt
    try:
        report = await rt.trust.verify(body.signature, canonical(body.document), usage="sign")
    except SignatureError as exc:
        raise ApiError(exc.code, step="process 5", detail=exc.detail)
    settings = rt.settings
    async with rt.db.session() as s:
        receipt = await service.submit(
            s, rt, op, body.document, body.signature, report, utcnow(),
            max_age=timedelta(hours=settings.con_document_max_age_hours),
            lookup_max_age=timedelta(minutes=settings.con_lookup_max_age_minutes))
        out = await _receipt_view(s, receipt)
    return out


async def _receipt_view(s: AsyncSession, r: Receipt) -> dict:
    events = await repository.events_of(s, r.id)
    return {"number": r.number, "kind": r.kind, "status": r.status, "request_id": r.request_id,
            "application_number": r.application_number, "refusal_code": r.refusal_code, "receipt": r.body,
            "result": r.result, "result_rejected": r.result_rejected,
            "handed_out_at": r.handed_out_at.isoformat() if r.handed_out_at else None, "handout": r.handout,
            "timeline": [{"at": e.at.isoformat(), "status": e.status, "step": e.step, "actor": e.actor, "note": e.note}
                         for e in events]}


@router.get("/receipts/{number}", tags=["receipts"], summary="Status enquiry by the receipt's number",
            responses=error_responses("RECEIPT_NOT_FOUND", "AUTH_REQUIRED"))
async def get_receipt(number: str, request: Request, op: Operator = Depends(current_operator)) -> dict:
    async with request.app.state.rt.db.read() as s:
        r = await repository.receipt(s, number[:32])
        if r is None:
            raise ApiError("RECEIPT_NOT_FOUND")
        return await _receipt_view(s, r)


@router.get("/receipts/{number}/result.pdf", tags=["receipts"], response_class=Response,
            summary="The result printed on paper for the hand-out (PDF with a QR code)",
            responses={200: {"content": {"application/pdf": {}}},
                       **error_responses("RECEIPT_NOT_FOUND", "CON_RESULT_NOT_READY", "AUTH_REQUIRED")})
async def result_pdf(number: str, request: Request, op: Operator = Depends(current_operator)) -> Response:
    """The provider's signed result as the paper document the ЦОН hands out (S1, S2: seeds 000, 001,
    003 п. 3): number, holder, provider, details, and a QR code with the number and where to check it."""
    async with request.app.state.rt.db.read() as s:
        r = await repository.receipt(s, number[:32])
    if r is None:
        raise ApiError("RECEIPT_NOT_FOUND")
    if not r.result or r.result_rejected:
        raise ApiError("CON_RESULT_NOT_READY")
    pdf = await asyncio.to_thread(paper.result_pdf, r.result, paper.verify_url(r.result["document"]))
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{number}.pdf"'})


@router.post("/receipts/{number}/handout", tags=["receipts"],
             summary="Process 9: the result against the receipt and an identity document (and the power of attorney)",
             responses=error_responses("RECEIPT_NOT_FOUND", "CON_RESULT_NOT_READY", "RESULT_ALREADY_HANDED_OUT",
                                       "HANDOUT_IDENTITY_MISMATCH", "POWER_OF_ATTORNEY_NOT_FOUND",
                                       "POWER_OF_ATTORNEY_REVOKED", "POWER_OF_ATTORNEY_EXPIRED", "POWER_OF_ATTORNEY_SCOPE",
                                       "VALIDATION_ERROR", "AUTH_REQUIRED", "UNAVAILABLE", "SYNC_TIMEOUT"))
async def handout(number: str, body: HandoutIn, request: Request, op: Operator = Depends(current_operator)) -> dict:
    """To the applicant on his identity document, or to a representative on his and a power of attorney
    in force in ЕНИС (asked again now). With ``queue_ticket``, the hand-out's time is measured (Zhambyl)."""
    rt = request.app.state.rt
    queued_at = ticket_time(request, op, body.queue_ticket)
    async with rt.db.session() as s:
        r = await repository.receipt(s, number[:32])
        if r is None:
            raise ApiError("RECEIPT_NOT_FOUND")
        await service.handout(s, rt, op, r, body, utcnow(), queued_at=queued_at)
        return await _receipt_view(s, r)
