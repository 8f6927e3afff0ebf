"""The applicant's requests: submit, list, view with the timeline, fetch the signed result."""
from __future__ import annotations

import asyncio
import os
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request as HttpRequest
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from shared import paper
from shared.calendar import ALMATY
from shared.db import utcnow
from shared.errors import ApiError
from shared.app import SIGNATURE_CODES, JCSRoute, error_responses
from shared.payloads import SignedResult

from . import catalogue, repository, submission
from .deps import current_user, read_session, session
from .models import Request, User

router = APIRouter(route_class=JCSRoute, prefix="/api/v1", tags=["requests"])


class SubmitIn(BaseModel):
    document: dict[str, Any]
    signature: str


class SubmitOut(BaseModel):
    request_id: str
    status: str
    expected_result_at: datetime
    expected_result_estimated: bool


class RequestView(BaseModel):
    """A request as the applicant sees it in the list (times in Asia/Almaty, ISO 8601)."""

    model_config = ConfigDict(extra="allow")
    request_id: str
    service_code: str
    region: str
    subtype: str | None
    status: str
    application_number: str | None
    created_at: str
    expected_result_at: str
    expected_result_estimated: bool
    result_ready: bool


class TimelineEntry(BaseModel):
    model_config = ConfigDict(extra="allow")
    at: str
    status: str
    step: str | None
    actor: str | None
    note: str | None


class RequestDetail(RequestView):
    """A request with its timeline, the signed document and where its process is drawn."""

    timeline: list[TimelineEntry]
    result_rejected: str | None
    document: dict[str, Any]
    diagram_url: str | None


class NotificationOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: int
    request_id: str | None
    text_ru: str
    text_kk: str
    created_at: str


@router.get("/services", tags=["catalogue"], summary="The service catalogue with forms, fees and regional variants")
async def services() -> list[dict]:
    """The catalogue: code, titles, fee, required documents, the form's JSON Schema with an
    example, and the regional variants with their provider and deadlines."""
    return [e.public() for e in catalogue.catalogue().values()]


@router.post("/requests", status_code=202, response_model=SubmitOut, summary="Submit a request signed with ЭЦП",
             responses=error_responses("AUTH_REQUIRED", "QUOTA_EXCEEDED", "IIN_BIN_NOT_OWNER", "PAYMENT_NOT_FOUND",
                                       *SIGNATURE_CODES, "ECP_IIN_MISMATCH", "ECP_NO_SIGNING_RIGHT",
                                       "DUPLICATE_REQUEST", "DOCUMENT_STALE", "FORM_INVALID", "DOCUMENTS_INCOMPLETE",
                                       "SERVICE_UNKNOWN", "VALIDATION_ERROR"))
async def submit(
    body: SubmitIn, request: HttpRequest, user: User = Depends(current_user), s: AsyncSession = Depends(session, scope="function")
) -> SubmitOut:
    """Submit a document signed with the applicant's ЭЦП (detached CMS over its JCS bytes).
    Refusals: 403 IIN_BIN_NOT_OWNER, 422 ECP_*, 409 DUPLICATE_REQUEST,
    422 FORM_INVALID / DOCUMENTS_INCOMPLETE / SERVICE_UNKNOWN — each with its diagram step. The
    payment (``payment_id``) is checked with ПШЭП by ИС ГБД ЕЛ: an unpaid request becomes REFUSED
    with PAYMENT_NOT_FOUND ("process 5") in its timeline."""
    rt = request.app.state.rt
    await request.app.state.quotas.requests.hit(user.iin_bin)
    checked = await submission.check(body.document, body.signature, rt.trust)  # before the transaction
    req = await submission.submit(s, user=user, checked=checked, outbox=rt.outbox, now=utcnow(),
                                  max_age=timedelta(hours=rt.settings.portal_document_max_age_hours))
    return SubmitOut(request_id=req.request_id, status=req.status,
                     expected_result_at=req.expected_result_at.astimezone(ALMATY),
                     expected_result_estimated=_estimated(req))


def diagram_url(r: Request) -> str | None:
    """Where provider_arm draws the request's process (``EGOV_PROVIDER_ARM_URL``, else the
    provider_arm port on this host). The drawing with the request's own path is for the provider's
    operators; the applicant's timeline says where the request stands."""
    found = catalogue.find(r.service_code, r.region)
    if not found:
        return None
    process_id = found[1].process.id
    base = os.environ.get("EGOV_PROVIDER_ARM_URL") or (
        f"http://{os.environ.get('EGOV_HOST', '127.0.0.1')}:{os.environ.get('EGOV_PROVIDER_ARM_PORT', '8004')}")
    return f"{base.rstrip('/')}/api/v1/processes/{process_id}/diagram.svg"


def _estimated(r: Request) -> bool:
    found = catalogue.find(r.service_code, r.region)
    return found is None or found[1].process.deadlines_estimated


def _view(r: Request, *, full: bool) -> dict:
    out = {
        "request_id": r.request_id,
        "service_code": r.service_code,
        "region": r.region,
        "subtype": r.subtype,
        "status": r.status,
        "application_number": r.application_number,
        "created_at": r.created_at.astimezone(ALMATY).isoformat(),
        "expected_result_at": r.expected_result_at.astimezone(ALMATY).isoformat(),
        # True when the regulation does not state the deadline and it was derived from the step limits
        "expected_result_estimated": _estimated(r),
        "result_ready": r.result is not None,
    }
    if full:
        out["timeline"] = [
            {"at": e.at.astimezone(ALMATY).isoformat(), "status": e.status, "step": e.step,
             "step_kk": e.step_kk, "actor": e.actor, "note": e.note, "note_kk": e.note_kk}
            for e in r.events
        ]
        out["result_rejected"] = r.result_rejected
        out["document"] = r.document
        out["diagram_url"] = diagram_url(r)
    return out


async def _own(s: AsyncSession, request_id: str, user: User) -> Request:
    r = await repository.request(s, request_id)
    if r is None or r.iin_bin != user.iin_bin:  # another applicant's request does not exist for you
        raise ApiError("NOT_FOUND")
    return r


@router.get("/requests", response_model=list[RequestView], summary="The applicant's requests, newest first",
            responses=error_responses("AUTH_REQUIRED"))
async def list_requests(user: User = Depends(current_user), s: AsyncSession = Depends(read_session, scope="function")) -> list[dict]:
    return [_view(r, full=False) for r in await repository.requests_of(s, user.iin_bin)]


@router.get("/requests/{request_id}", response_model=RequestDetail, summary="One request with its timeline",
            responses=error_responses("AUTH_REQUIRED", "NOT_FOUND"))
async def get_request(request_id: str, user: User = Depends(current_user), s: AsyncSession = Depends(read_session, scope="function")) -> dict:
    """Status, the timeline of steps with times and actors, the expected result time."""
    return _view(await _own(s, request_id, user), full=True)


@router.get("/requests/{request_id}/result", response_model=SignedResult, summary="The signed result of a request",
            responses=error_responses("AUTH_REQUIRED", "NOT_FOUND", "RESULT_NOT_READY", *SIGNATURE_CODES,
                                      "ECP_IIN_MISMATCH", "ECP_NO_SIGNING_RIGHT"))
async def get_result(request_id: str, user: User = Depends(current_user), s: AsyncSession = Depends(read_session, scope="function")) -> dict:
    """The signed result ``{kind, document, signature}``: 404 RESULT_NOT_READY until it arrived;
    422 ECP_NO_SIGNING_RIGHT (or another ECP_* code) if its signature did not hold."""
    r = await _own(s, request_id, user)
    if r.result_rejected:
        raise ApiError(r.result_rejected, step=catalogue.find(r.service_code, r.region)[1].steps["result"])
    if r.result is None:
        raise ApiError("RESULT_NOT_READY")
    return r.result


@router.get("/requests/{request_id}/result.pdf", summary="The paper form of the result (PDF with a QR code)",
            response_class=Response, responses={200: {"content": {"application/pdf": {}}},
                                                **error_responses("AUTH_REQUIRED", "NOT_FOUND", "RESULT_NOT_READY")})
async def get_result_pdf(request_id: str, user: User = Depends(current_user),
                         s: AsyncSession = Depends(read_session, scope="function")) -> Response:
    """The result as the paper document the ЦОН hands out for S1 and S2 (any result prints): its number,
    holder, provider, details, and a QR code with the number and where to check it."""
    result = await get_result(request_id, user, s)
    pdf = await asyncio.to_thread(paper.result_pdf, result, paper.verify_url(result["document"]))
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{request_id}.pdf"'})


@router.get("/notifications", response_model=list[NotificationOut], summary="The applicant's notifications (the last 200)",
            responses=error_responses("AUTH_REQUIRED"))
async def notifications(user: User = Depends(current_user), s: AsyncSession = Depends(read_session, scope="function")) -> list[dict]:
    rows = await repository.notifications_of(s, user.iin_bin)
    return [{"id": n.id, "request_id": n.request_id, "text_ru": n.text_ru, "text_kk": n.text_kk,
             "created_at": n.created_at.isoformat(), "document": n.document} for n in rows]
