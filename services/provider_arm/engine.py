"""The engine that runs process definitions: cases, tasks per role, decisions, results.

Each completed task writes, in one transaction: the task's decision, the next task (with
its due time from the working-time calendar), the case's new state, and an outbox message
telling ИС ГБД ЕЛ (and through it the portal) where the request stands.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.calendar import CALENDAR
from shared.db import utcnow
from shared.envelope import canonical
from shared.errors import ApiError
from shared.pki.certinfo import has_signing_right
from shared.pki.cms import SignatureError
from shared.providers import PROVIDERS
from shared.topics import MessageType, ServiceId

from . import processes
from .models import Case, Operator, Task
from .processes import Process, Step

PROVIDER_ACTOR = "АРМ услугодателя"


def _due(now: datetime, step: Step) -> datetime | None:
    return CALENDAR.deadline(now, *step.limit) if step.limit else None


def _tell_registry(s: AsyncSession, rt, case: Case, message_type: str = MessageType.NOTIFICATION, **data) -> None:
    """Tell ИС ГБД ЕЛ (and through it the portal) what happened to the case, and when."""
    rt.outbox.enqueue(s, service_id=ServiceId.ELICENSE_RESULT, message_type=message_type,
                      correlation_id=case.request_id,
                      data={"request_id": case.request_id, "application_number": case.application_number,
                            "at": utcnow().isoformat(), **data})


async def open_case(s: AsyncSession, rt, data: dict, now: datetime) -> Case:
    """An application arrived from ИС ГБД ЕЛ: open its case and the first task."""
    doc = data["document"]
    process = processes.find(doc["service_code"], doc["region"])
    if process is None:
        raise ApiError("SERVICE_NOT_FOUND", detail=f"no process for {doc['service_code']}/{doc['region']}")
    provider = PROVIDERS[process.provider]
    case = Case(request_id=data["request_id"], application_number=data["application_number"], process_id=process.id,
                provider_bin=provider.bin, applicant_iin_bin=doc["iin_bin"], document=doc,
                signature=data["signature"], attachments=data.get("attachments", []), status="OPEN",
                received_at=now, deadline_at=CALENDAR.deadline(now, *process.result_deadline))
    s.add(case)
    await s.flush()
    first = process.first
    s.add(Task(case_id=case.id, step_key=first.key, step_no=first.no, role=first.role, status="OPEN",
               created_at=now, due_at=_due(now, first)))
    _tell_registry(s, rt, case, status="IN_PROCESSING", step="process 5", actor=provider.name_ru,
                   note="Заявление поступило в АРМ РШЭП услугодателя")
    return case


def may_act(operator: Operator, task: Task, case: Case) -> bool:
    return (task.role in operator.roles and operator.provider_bin == case.provider_bin
            and (task.assignee is None or task.assignee == operator.username))


async def complete(
    s: AsyncSession, rt, *, task: Task, operator: Operator, decision: str, comment: str | None,
    data: dict | None, signature: str | None, now: datetime,
) -> Task | None:
    """Complete a task with a decision; returns the next task (None when the case closed)."""
    case = await s.get(Case, task.case_id)
    if not may_act(operator, task, case):
        raise ApiError("FORBIDDEN_ROLE")
    if task.status != "OPEN":
        raise ApiError("TASK_NOT_OPEN")
    process = processes.all_processes()[case.process_id]
    step = process.step(task.step_key)
    chosen = step.decision(decision)
    if chosen is None:
        raise ApiError("DECISION_NOT_ALLOWED", detail=f"allowed: {[d.name for d in step.decisions]}")
    if chosen.comment_required and not (comment or "").strip():
        raise ApiError("TASK_DATA_INVALID", detail="a reasoned refusal needs its reasons in the comment")
    data = data or {}

    if step.action == "assign":
        assignee = await s.get(Operator, data.get("assignee") or "")
        if assignee is None or assignee.provider_bin != case.provider_bin or step.assign_role not in assignee.roles:
            raise ApiError("TASK_DATA_INVALID", detail=f"data.assignee must be a {step.assign_role} of the provider")
        case.assignee = assignee.username
    elif step.action == "prepare_result":
        case.draft_result = await _draft(s, case, process, now)
    elif step.action == "sign_result":
        case.result = _check_result_signature(rt, case, operator, signature)
    elif step.action == "deliver_result":
        case.status = "REFUSED" if case.outcome == "refusal" else "COMPLETED"
        case.closed_at = now

    if chosen.outcome == "refusal":
        case.outcome = "refusal"
        case.deadline_at = CALENDAR.deadline(case.received_at, *process.refusal_deadline)

    task.status, task.decision, task.comment, task.data = "DONE", decision, comment, data or None
    task.completed_at, task.completed_by = now, operator.username
    actor = f"{operator.full_name} ({task.role})"
    label = f"{step.no}. {step.title_ru}"

    if step.action == "deliver_result":
        _tell_registry(s, rt, case, MessageType.RESPONSE, status=case.status, step=label, actor=actor,
                       note=decision, result=case.result)
        return None
    _tell_registry(s, rt, case, status="IN_PROCESSING", step=label, actor=actor,
                   note=decision + (f": {comment}" if comment else ""))
    if chosen.next is None:
        return None
    nxt = process.step(chosen.next)
    new = Task(case_id=case.id, step_key=nxt.key, step_no=nxt.no, role=nxt.role, status="OPEN", created_at=now,
               due_at=_due(now, nxt), assignee=case.assignee if nxt.assigned else None)
    s.add(new)
    await s.flush()
    return new


async def _draft(s: AsyncSession, case: Case, process: Process, now: datetime) -> dict:
    provider = PROVIDERS[process.provider]
    doc = case.document
    common = {
        "service_code": process.service_code,
        "region": process.region,
        "application_number": case.application_number,
        "request_id": case.request_id,
        "holder": {"iin_bin": case.applicant_iin_bin},
        "provider": {"bin": provider.bin, "name_ru": provider.name_ru, "name_kk": provider.name_kk},
        "language": doc.get("language", "ru"),
        "date": now.astimezone(CALENDAR.tz).date().isoformat(),
    }
    if case.outcome == "refusal":
        reason = await s.scalar(select(Task.comment).where(Task.case_id == case.id, Task.decision == "refuse"))
        return {"kind": "refusal", "title_ru": "Мотивированный отказ в оказании государственной услуги",
                "title_kk": "Мемлекеттік қызмет көрсетуден дәлелді бас тарту", "reason": reason, **common}
    return {"kind": process.result_kind, "number": f"{process.number_prefix}-{now:%Y}-{case.id:06d}",
            "title_ru": process.result_title_ru, "details": doc.get("form", {}), **common}


def _check_result_signature(rt, case: Case, operator: Operator, signature: str | None) -> dict:
    """The head signs the draft with a SIGN certificate of the provider carrying a signing role."""
    if not signature:
        raise ApiError("SIGNATURE_REQUIRED")
    try:
        report = rt.trust.verify(signature, canonical(case.draft_result), usage="sign")
    except SignatureError as exc:
        raise ApiError(exc.code, step=None, detail=exc.detail)
    if report.signer.iin != operator.iin:
        raise ApiError("ECP_IIN_MISMATCH", step=None, detail="the certificate is not the operator's")
    if not has_signing_right(report.signer, case.provider_bin):
        raise ApiError("ECP_NO_SIGNING_RIGHT", step=None)
    return {"kind": case.draft_result["kind"], "document": case.draft_result, "signature": signature}
