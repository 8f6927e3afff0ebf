"""Accepting a signed request: the portal's checks, in the order of the regulation's diagram.

1. the document is well-formed and names a service of the catalogue ("process 3");
2. the ЭЦП: signature, chain to the НУЦ roots, validity, SIGN key usage ("condition 2/3",
   refusal "process 4" in Almaty, "process 7" in Mangistau) — and the IIN/BIN of the
   certificate equals the IIN/BIN of the document (a BIN's signer must hold a signing right);
3. the document is the logged-in applicant's;
4. the form validates against the service's schema; the required documents are attached;
5. the payment exists, is the applicant's, for this service, and unused ("condition 2",
   refusal "process 5");
6. the nonce was never used (a replayed submission).
Then the request, its first timeline entry and the outbox message to ИС ГБД ЕЛ are written
in one transaction.
"""
from __future__ import annotations

import uuid
from datetime import datetime

import jsonschema
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.envelope import canonical
from shared.errors import ApiError
from shared.iin import validate_iin_or_bin
from shared.pki.certinfo import has_signing_right
from shared.pki.cms import SignatureError
from shared.signing import TrustStore
from shared.topics import MessageType, ServiceId

from . import catalogue
from .models import Attachment, Payment, Request, RequestEvent, User


class AttachmentRef(BaseModel):
    attachment_id: str
    sha256: str
    code: str | None = None


class SubmittedDocument(BaseModel):
    service_code: str
    region: str
    subtype: str
    iin_bin: str
    language: str = "ru"
    form: dict
    attachments: list[AttachmentRef] = []
    payment_id: str | None = None
    created_at: datetime
    nonce: str


async def submit(
    s: AsyncSession, *, user: User, document: dict, signature: str, trust: TrustStore, outbox, now: datetime
) -> Request:
    try:
        doc = SubmittedDocument.model_validate(document)
    except ValidationError as exc:
        raise ApiError("FORM_INVALID", detail=str(exc.errors()[0].get("loc")))
    found = catalogue.find(doc.service_code, doc.region)
    if found is None:
        raise ApiError("SERVICE_UNKNOWN", detail=f"{doc.service_code}/{doc.region}")
    entry, variant = found
    steps = variant.steps
    validate_iin_or_bin(doc.iin_bin)

    try:
        report = trust.verify(signature, canonical(document), usage="sign")
    except SignatureError as exc:
        raise ApiError(exc.code, step=steps["ecp"], detail=exc.detail)
    signer = report.signer
    if user.kind == "BIN":
        if not has_signing_right(signer, doc.iin_bin):
            raise ApiError("ECP_IIN_MISMATCH", step=steps["ecp"], detail="the signer has no signing right for this BIN")
    elif signer.iin != doc.iin_bin:
        raise ApiError("ECP_IIN_MISMATCH", step=steps["ecp"])
    if doc.iin_bin != user.iin_bin:
        raise ApiError("IIN_BIN_NOT_OWNER", step=steps["ecp"])

    if doc.subtype not in variant.subtypes or doc.language not in ("ru", "kk"):
        raise ApiError("FORM_INVALID", step=steps["form"], detail="subtype or language")
    errors = sorted(jsonschema.Draft202012Validator(entry.form_schema, format_checker=jsonschema.FormatChecker())
                    .iter_errors(doc.form), key=lambda e: list(e.path))
    if errors:
        raise ApiError("FORM_INVALID", step=steps["form"], detail=f"{'/'.join(map(str, errors[0].path))}: {errors[0].message}")

    attached = []
    for ref in doc.attachments:
        a = await s.get(Attachment, ref.attachment_id)
        if a is None or a.owner != user.iin_bin or a.sha256 != ref.sha256:
            raise ApiError("DOCUMENTS_INCOMPLETE", step=steps["form"], detail=f"attachment {ref.attachment_id}")
        attached.append((ref, a))
    required = [d["code"] for d in entry.required_documents if d["required"]]
    codes = {ref.code for ref, _ in attached if ref.code}
    if (codes and not set(required) <= codes) or len(attached) < len(required):
        raise ApiError("DOCUMENTS_INCOMPLETE", step=steps["form"])

    payment = None
    if entry.fee_mrp:
        payment = await s.get(Payment, doc.payment_id) if doc.payment_id else None
        if (payment is None or payment.iin_bin != user.iin_bin or payment.status != "PAID"
                or payment.service_code != entry.code or payment.region != doc.region or payment.request_id):
            raise ApiError("PAYMENT_NOT_FOUND", step=steps["payment"])

    if await s.scalar(select(Request.request_id).where(Request.nonce == doc.nonce)) is not None:
        raise ApiError("DUPLICATE_REQUEST")

    request_id = str(uuid.uuid4())
    expected = variant.expected_result_at(doc.subtype, now)
    req = Request(request_id=request_id, iin_bin=user.iin_bin, service_code=entry.code, region=doc.region,
                  subtype=doc.subtype, document=document, signature=signature, nonce=doc.nonce,
                  status="SUBMITTED", expected_result_at=expected, created_at=now, updated_at=now)
    s.add(req)
    s.add(RequestEvent(request_id=request_id, at=now, status="SUBMITTED", step="process 3",
                       actor=signer.common_name, note="Запрос подписан ЭЦП и принят порталом"))
    if payment is not None:
        payment.request_id = request_id
    await s.flush()
    outbox.enqueue(
        s,
        service_id=ServiceId.ELICENSE_SUBMIT,
        message_type=MessageType.REQUEST,
        correlation_id=request_id,
        data={
            "request_id": request_id,
            "document": document,
            "signature": signature,
            "applicant": {"iin_bin": user.iin_bin, "kind": user.kind, "full_name": user.full_name},
            "attachments": [
                {"attachment_id": a.attachment_id, "code": ref.code, "filename": a.filename,
                 "content_type": a.content_type, "size": a.size, "sha256": a.sha256}
                for ref, a in attached
            ],
            "payment": {"payment_id": payment.payment_id, "amount": payment.amount, "status": payment.status}
            if payment else None,
            "expected_result_at": expected.isoformat(),
        },
    )
    return req
