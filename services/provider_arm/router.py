"""The operators' API: log in, see the tasks of one's roles, complete them; the processes."""
from __future__ import annotations

import base64
from typing import Any, AsyncIterator

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from shared import regulations
from shared.app import client_address
from shared.calendar import ALMATY
from shared.db import utcnow
from shared.envelope import canonical
from shared.errors import ApiError
from shared.app import SIGNATURE_CODES, JCSRoute, error_responses

from . import engine, repository
from .bpmn import to_xml as bpmn_xml
from .diagram import render_svg
from .models import Case, Operator, Task

router = APIRouter(route_class=JCSRoute, prefix="/api/v1")
oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def session(request: Request) -> AsyncIterator[AsyncSession]:
    """A writing transaction, committed before the response is sent."""
    async with request.app.state.rt.db.session() as s:
        yield s


async def read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A transaction that only reads (no write lock on SQLite)."""
    async with request.app.state.rt.db.read() as s:
        yield s


async def current_operator(request: Request, token: str | None = Depends(oauth2)) -> Operator:
    """The logged-in operator (read in a session of its own: no transaction is held for the request)."""
    claims = request.app.state.tokens.decode(token) if token else None
    if not claims:
        raise ApiError("AUTH_REQUIRED")
    async with request.app.state.rt.db.read() as s:
        op = await repository.operator(s, claims["sub"])
    if op is None:
        raise ApiError("AUTH_REQUIRED")
    return op


@router.post("/auth/token", tags=["auth"], summary="Operators log in (OAuth2 password form)",
             responses=error_responses("AUTH_FAILED", "AUTH_LOCKED", "VALIDATION_ERROR"))
async def token(request: Request, form: OAuth2PasswordRequestForm = Depends()) -> dict:
    """Operators log in (OAuth2 password form). 401 AUTH_FAILED, the same answer in the same time
    whether or not the operator exists; after repeated failures 429 AUTH_LOCKED with Retry-After."""
    async with request.app.state.rt.db.read() as s:
        op = await repository.operator(s, form.username[:64])
    if not await request.app.state.login.check(form.username[:64], client_address(request),
                                               op.password_hash if op else None, form.password):
        raise ApiError("AUTH_FAILED", step=None)
    return request.app.state.tokens.issue(op.username, roles=op.roles, provider_bin=op.provider_bin)


def _iso(dt) -> str | None:
    return dt.astimezone(ALMATY).isoformat() if dt else None


def _task_view(t: Task, c: Case, *, full: bool) -> dict:
    step = regulations.all_processes()[c.process_id].step(t.step_key)
    out = {
        "task_id": t.id, "status": t.status, "role": t.role, "assignee": t.assignee,
        "step": {"no": step.no, "key": step.key, "title_ru": step.title_ru, "cite": step.cite, "action": step.action},
        "application": {"number": c.application_number, "request_id": c.request_id, "process_id": c.process_id,
                        "applicant": c.applicant_iin_bin, "deadline_at": _iso(c.deadline_at), "outcome": c.outcome},
        "subtype": c.document.get("subtype"),
        "created_at": _iso(t.created_at), "due_at": _iso(t.due_at), "overdue_at": _iso(t.overdue_at),
        "completed_at": _iso(t.completed_at), "completed_by": t.completed_by, "decision": t.decision,
        "allowed_decisions": engine.allowed_decisions(step),
    }
    if full:
        out["application"].update(document=c.document, signature=c.signature, attachments=c.attachments)
        if step.action in ("sign_result", "sign_notice") and c.draft_result:
            out["draft_result"] = c.draft_result
            out["draft_result_jcs_b64"] = base64.b64encode(canonical(c.draft_result)).decode()
    return out


@router.get("/tasks", tags=["tasks"], summary="The caller's open tasks",
            responses=error_responses("AUTH_REQUIRED"))
async def tasks(op: Operator = Depends(current_operator), s: AsyncSession = Depends(read_session, scope="function")) -> list[dict]:
    """The caller's open tasks: those of the caller's roles at the caller's provider that are
    not assigned to someone else."""
    rows = await repository.open_tasks(s, op.provider_bin, _visible_roles(op))
    return [_task_view(t, c, full=False) for t, c in rows if engine.may_act(op, t, c)]


def _visible_roles(op: Operator) -> list[str]:
    """The task roles an operator may see: a deputy head stands in for the head (where allowed)."""
    return list(op.roles) + (["head"] if "deputy_head" in op.roles else [])


def _require_head(op: Operator) -> None:
    if not {"head", "deputy_head"} & set(op.roles):
        raise ApiError("FORBIDDEN_ROLE")


@router.get("/tasks/overdue", tags=["tasks"], summary="Every overdue open task of the provider (head)",
            responses=error_responses("AUTH_REQUIRED", "FORBIDDEN_ROLE"))
async def overdue_tasks(op: Operator = Depends(current_operator),
                        s: AsyncSession = Depends(read_session, scope="function")) -> list[dict]:
    """For the head (or deputy): every open task of the provider past its due time, whoever holds it.
    403 FORBIDDEN_ROLE for other roles."""
    _require_head(op)
    return [_task_view(t, c, full=False) for t, c in await repository.overdue_tasks(s, op.provider_bin, utcnow())]


@router.get("/alerts", tags=["tasks"], summary="Alerts of the overdue check (head)",
            responses=error_responses("AUTH_REQUIRED", "FORBIDDEN_ROLE", "VALIDATION_ERROR"))
async def alerts(op: Operator = Depends(current_operator), s: AsyncSession = Depends(read_session, scope="function"),
                 include_acknowledged: bool = False) -> list[dict]:
    """For the head (or deputy): alerts raised by the overdue check (escalation to the head)."""
    _require_head(op)
    rows = await repository.alerts(s, op.provider_bin, include_acknowledged=include_acknowledged)
    return [{"alert_id": a.id, "kind": a.kind, "task_id": a.task_id, "case_id": a.case_id, "role": a.role,
             "text_ru": a.text_ru, "created_at": _iso(a.created_at), "acknowledged_at": _iso(a.acknowledged_at),
             "acknowledged_by": a.acknowledged_by} for a in rows]


@router.post("/alerts/{alert_id}/acknowledge", tags=["tasks"], summary="Acknowledge an alert (head)",
             responses=error_responses("AUTH_REQUIRED", "FORBIDDEN_ROLE", "NOT_FOUND", "VALIDATION_ERROR"))
async def acknowledge(alert_id: Annotated[int, PathParam(ge=1, le=2**63 - 1)], op: Operator = Depends(current_operator),
                      s: AsyncSession = Depends(session, scope="function")) -> dict:
    """The head (or deputy) acknowledges an alert."""
    _require_head(op)
    a = await repository.alert(s, alert_id)
    if a is None or a.provider_bin != op.provider_bin:
        raise ApiError("NOT_FOUND")
    if a.acknowledged_at is None:
        a.acknowledged_at, a.acknowledged_by = utcnow(), op.username
    return {"alert_id": a.id, "acknowledged_at": _iso(a.acknowledged_at), "acknowledged_by": a.acknowledged_by}


TaskId = Annotated[int, PathParam(ge=1, le=2**63 - 1, description="the task's id")]


def may_see(op: Operator, t: Task, c: Case) -> bool:
    """An operator sees a task of their provider they may act on or have completed; the head (or
    deputy head) oversees every task of the provider."""
    if c.provider_bin != op.provider_bin:
        return False
    return bool({"head", "deputy_head"} & set(op.roles)) or t.completed_by == op.username or engine.may_act(op, t, c)


async def _task(s: AsyncSession, task_id: int, op: Operator) -> tuple[Task, Case]:
    """The task if the operator may see it; another role's task does not exist for them (404)."""
    t, c = await repository.task_and_case(s, task_id)
    if t is None or not may_see(op, t, c):
        raise ApiError("NOT_FOUND")
    return t, c


@router.get("/tasks/{task_id}", tags=["tasks"], summary="One task with its application",
            responses=error_responses("AUTH_REQUIRED", "NOT_FOUND", "VALIDATION_ERROR"))
async def task(task_id: TaskId, op: Operator = Depends(current_operator),
               s: AsyncSession = Depends(read_session, scope="function")) -> dict:
    """The task with the application; a signing step also carries the draft result and its JCS bytes.
    404 for a task of another role (unless the caller is the head or deputy head)."""
    t, c = await _task(s, task_id, op)
    return _task_view(t, c, full=True)


class CompleteIn(BaseModel):
    decision: str = Field(max_length=64)
    comment: str | None = Field(None, max_length=4000)
    data: dict[str, Any] | None = None
    signature: str | None = Field(None, max_length=64 * 1024)


@router.post("/tasks/{task_id}/complete", tags=["tasks"], summary="Complete a task with a decision",
             responses=error_responses("AUTH_REQUIRED", "NOT_FOUND", "FORBIDDEN_ROLE", "TASK_NOT_OPEN",
                                       "DECISION_NOT_ALLOWED", "TASK_DATA_INVALID", "SIGNATURE_REQUIRED",
                                       *SIGNATURE_CODES, "ECP_IIN_MISMATCH", "ECP_NO_SIGNING_RIGHT",
                                       "VALIDATION_ERROR"))
async def complete(task_id: TaskId, body: CompleteIn, request: Request, op: Operator = Depends(current_operator)) -> dict:
    """Complete with a decision. Refusals: 403 FORBIDDEN_ROLE, 409 TASK_NOT_OPEN, 422
    DECISION_NOT_ALLOWED / TASK_DATA_INVALID / SIGNATURE_REQUIRED / ECP_*; 503 ECP_REVOCATION_UNKNOWN
    (the НУЦ cannot be asked about the signer's certificate: try again later)."""
    rt = request.app.state.rt
    signed = None
    if body.signature is not None:  # checked before the transaction: a slow НУЦ holds no lock
        async with rt.db.read() as s:
            _, c = await _task(s, task_id, op)
        signed = await engine.check_result_signature(rt, c, op, body.signature)
    async with rt.db.session() as s:
        t, _ = await _task(s, task_id, op)
        nxt = await engine.complete(s, rt, task=t, operator=op, decision=body.decision, comment=body.comment,
                                    data=body.data, signed=signed, now=utcnow())
        return {"task_id": t.id, "status": t.status, "decision": t.decision,
                "next_task_id": nxt.id if nxt else None}


@router.get("/processes", tags=["processes"], summary="The process definitions")
async def list_processes() -> list[dict]:
    """The process definitions: id, service code, region, title, steps with roles and limits."""
    return [p.public() for p in regulations.all_processes().values()]


@router.get("/processes/{process_id}", tags=["processes"], summary="One process definition",
            responses=error_responses("NOT_FOUND"))
async def get_process(process_id: str) -> dict:
    """One process definition."""
    p = regulations.all_processes().get(process_id)
    if p is None:
        raise ApiError("NOT_FOUND")
    return p.public()


@router.get("/processes/{process_id}/bpmn", tags=["processes"], summary="The definition as BPMN 2.0 XML",
            response_class=Response,
            responses={200: {"content": {"application/xml": {}}}, **error_responses("NOT_FOUND")})
async def bpmn(process_id: str) -> Response:
    """The definition as BPMN 2.0 XML (public): a lane per role, a user task per step, gateways and flows
    named by the decisions, end events for the result and the refusal, and its diagram: it opens in bpmn.io."""
    p = regulations.all_processes().get(process_id)
    if p is None:
        raise ApiError("NOT_FOUND")
    return Response(bpmn_xml(p), media_type="application/xml",
                    headers={"Content-Disposition": f'inline; filename="{p.id}.bpmn"'})


@router.get("/processes/{process_id}/diagram.svg", tags=["processes"],
            response_class=Response, summary="A process drawn as SVG (with a request's path, for its operators)",
            responses={200: {"content": {"image/svg+xml": {}}},
                       **error_responses("AUTH_REQUIRED", "NOT_FOUND", "VALIDATION_ERROR")})
async def diagram(process_id: str, request: Request, request_id: str | None = Query(None, max_length=36),
                  lang: Literal["ru", "kk"] = Query("ru", description="the steps' titles in Russian or Kazakh"),
                  token: str | None = Depends(oauth2)) -> Response:
    """The definition drawn as SVG (public). With ``?request_id=`` — for an operator of the case's
    provider only (401 without a login) — the steps that request's case went through are marked
    visited and its open step current (404 when the case is not of this process or provider).
    ``?lang=kk``: the steps in Kazakh."""
    p = regulations.all_processes().get(process_id)
    if p is None:
        raise ApiError("NOT_FOUND")
    if lang == "kk":
        p = p.in_kazakh()
    current, visited, taken = None, [], []
    if request_id:
        op = await current_operator(request, token)
        async with request.app.state.rt.db.read() as s:
            case = await repository.case_by_request(s, request_id)
            if case is None or case.process_id != p.id or case.provider_bin != op.provider_bin:
                raise ApiError("NOT_FOUND")
            rows = await repository.tasks_of_case(s, case.id)
        visited = [t.step_key for t in rows if t.status == "DONE"]
        taken = [(t.step_key, t.decision) for t in rows if t.status == "DONE" and t.decision]
        current = next((t.step_key for t in rows if t.status == "OPEN"), None)
    return Response(render_svg(p, current_step=current, visited=visited, taken=taken), media_type="image/svg+xml")
