"""Accepting a signed request: the portal's checks, in the order of the regulation's diagram.

1. the document is well-formed and names a service of the catalogue ("process 3");
2. the ЭЦП: signature, chain to the НУЦ roots, validity, SIGN key usage ("condition 2/3",
   refusal "process 4" in Almaty, "process 7" in Mangistau) — and the IIN/BIN of the
   certificate equals the IIN/BIN of the document (a BIN's signer must hold a signing right);
3. the document is the logged-in applicant's;
4. the form validates against the service's schema; the required documents are attached;
5. (the payment is not checked here: the document carries its ``payment_id`` under the
   applicant's signature, and ИС ГБД ЕЛ checks the payment fact with ПШЭП — "condition 2",
   refusal "process 5");
6. the nonce was never used (a replayed submission — checked right after ownership, so that a
   replay is told as one) and ``created_at`` is fresh.
Then the request, its first timeline entry and the outbox message to ИС ГБД ЕЛ are written
in one transaction.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cache
from datetime import datetime, timedelta

import jsonschema
import structlog
from pydantic import AwareDatetime, BaseModel, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.envelope import canonical
from shared.errors import ApiError
from shared.iin import validate_iin_or_bin
from shared.pki.certinfo import has_signing_right
from shared.pki.cms import SignatureError, VerifyReport
from shared.signing import TrustStore
from shared.topics import MessageType, ServiceId

from . import catalogue, repository
from .models import Request, RequestEvent, User

log = structlog.get_logger("portal")


@cache
def _validator(service_code: str) -> jsonschema.Draft202012Validator:
    """The form's JSON Schema, compiled once per service."""
    return jsonschema.Draft202012Validator(catalogue.catalogue()[service_code].form_schema,
                                           format_checker=jsonschema.FormatChecker())


#: how far ahead of the portal's clock a signed document's created_at may be
CLOCK_SKEW = timedelta(minutes=5)


class AttachmentRef(BaseModel):
    attachment_id: str = Field(max_length=36)
    sha256: str = Field(max_length=64)
    code: str | None = Field(None, max_length=64)


class SubmittedDocument(BaseModel):
    service_code: str = Field(max_length=8)
    region: str = Field(max_length=32)
    subtype: str = Field(max_length=32)
    iin_bin: str = Field(max_length=12)
    language: str = Field("ru", max_length=2)
    form: dict
    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=50)
    payment_id: str | None = Field(None, max_length=36)
    created_at: AwareDatetime
    nonce: str = Field(min_length=8, max_length=64)


@dataclass
class Checked:
    """A submission past steps 1–2 (no database involved): the document, its catalogue entry and
    the verified signature."""

    document: dict
    doc: SubmittedDocument
    signature: str
    entry: object
    variant: object
    report: VerifyReport


async def check(document: dict, signature: str, trust: TrustStore) -> Checked:
    """Steps 1–2, before any database transaction (the ЭЦП check may wait for the НУЦ)."""
    try:
        doc = SubmittedDocument.model_validate(document)
    except ValidationError as exc:
        raise ApiError("FORM_INVALID", detail=str(exc.errors()[0].get("loc")))
    found = catalogue.find(doc.service_code, doc.region)
    if found is None:
        raise ApiError("SERVICE_UNKNOWN", detail=f"{doc.service_code}/{doc.region}")
    entry, variant = found
    validate_iin_or_bin(doc.iin_bin)
    try:
        report = await trust.verify(signature, canonical(document), usage="sign")
    except SignatureError as exc:
        raise ApiError(exc.code, step=variant.steps["ecp"], detail=exc.detail)
    return Checked(document, doc, signature, entry, variant, report)


async def submit(s: AsyncSession, *, user: User, checked: Checked, outbox, now: datetime,
                 max_age: timedelta = timedelta(hours=24)) -> Request:
    """Steps 3–6 and the records, in the request's transaction. ``max_age``: how old the signed
    document's ``created_at`` may be (a signature made long ago is not a fresh request)."""
    document, doc, signature = checked.document, checked.doc, checked.signature
    entry, variant = checked.entry, checked.variant
    steps = variant.steps
    signer = checked.report.signer
    if user.kind == "BIN":
        if not has_signing_right(signer, doc.iin_bin):
            raise ApiError("ECP_IIN_MISMATCH", step=steps["ecp"], detail="the signer has no signing right for this BIN")
    elif signer.iin != doc.iin_bin:
        raise ApiError("ECP_IIN_MISMATCH", step=steps["ecp"])
    if doc.iin_bin != user.iin_bin:
        raise ApiError("IIN_BIN_NOT_OWNER", step=steps["ecp"])
    # a replay is a replay, whatever else it fails: checked before the form and the payment
    if await repository.nonce_used(s, doc.nonce):
        raise ApiError("DUPLICATE_REQUEST")
    if doc.created_at < now - max_age or doc.created_at > now + CLOCK_SKEW:
        raise ApiError("DOCUMENT_STALE", detail=f"created_at {doc.created_at.isoformat()}")

    if doc.subtype not in variant.subtypes or doc.language not in ("ru", "kk"):
        raise ApiError("FORM_INVALID", step=steps["form"], detail="subtype or language")
    errors = sorted(_validator(entry.code).iter_errors(doc.form), key=lambda e: list(e.path))
    if errors:
        raise ApiError("FORM_INVALID", step=steps["form"], detail=f"{'/'.join(map(str, errors[0].path))}: {errors[0].message}")

    attached = []
    if len({ref.attachment_id for ref in doc.attachments}) != len(doc.attachments):
        raise ApiError("DOCUMENTS_INCOMPLETE", step=steps["form"], detail="the same attachment is listed twice")
    for ref in doc.attachments:
        a = await repository.attachment(s, ref.attachment_id)
        if a is None or a.owner != user.iin_bin or a.sha256 != ref.sha256:
            raise ApiError("DOCUMENTS_INCOMPLETE", step=steps["form"], detail=f"attachment {ref.attachment_id}")
        attached.append((ref, a))
    # each required document by its own attachment: one file never stands for two documents
    required = [d["code"] for d in entry.required_documents if d["required"]]
    coded = [ref.code for ref, _ in attached if ref.code]
    if len(coded) != len(set(coded)) or (coded and not set(required) <= set(coded)) or len(attached) < len(required):
        raise ApiError("DOCUMENTS_INCOMPLETE", step=steps["form"],
                       detail=f"required, each by its own attachment: {', '.join(required)}")

    request_id = str(uuid.uuid4())
    expected = variant.expected_result_at(doc.subtype, now)
    req = Request(request_id=request_id, iin_bin=user.iin_bin, service_code=entry.code, region=doc.region,
                  subtype=doc.subtype, document=document, signature=signature, nonce=doc.nonce,
                  status="SUBMITTED", expected_result_at=expected, created_at=now, updated_at=now)
    s.add(req)
    s.add(RequestEvent(request_id=request_id, at=now, status="SUBMITTED", step=steps["form"],
                       actor=signer.common_name, note="Запрос подписан ЭЦП и принят порталом",
                       note_kk="Сұрау ЭЦҚ-мен қол қойылып, порталда қабылданды"))
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
            "expected_result_at": expected.isoformat(),
        },
    )
    log.info("submitted", request_id=request_id, service_code=entry.code, region=doc.region, subtype=doc.subtype)
    return req
