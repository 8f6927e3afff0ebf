"""The engine that runs process definitions: cases, tasks per role, decisions, results.

Each completed task writes, in one transaction: the task's decision, the next task (with
its due time from the working-time calendar), the case's new state, and an outbox message
telling ИС ГБД ЕЛ (and through it the portal) where the request stands.

* The request's subtype (issue / re-issue kinds / duplicate) picks the step limits
  (``Step.limit_for``), the service deadlines (``Process.deadlines_for``) and the route:
  steps ``only_for_subtypes`` are skipped by other subtypes (``Process.route``).
* Requests come through the portal, so the "portal" channel limits apply.
* "The day of receipt is not counted" (``skip_day_of_receipt``) is passed to the calendar.
* A step with ``deputy_allowed`` may be done by a ``deputy_head`` in place of the head.
* ``inspection`` (S1 issue): the Inspection's act — ``conforms`` or ``does_not_conform`` (the
  definition's ``refuse``: a reasoned refusal follows); the act is kept in the task's data.
* ``schedule_testing`` (S6) needs ``data.testing_at`` (ISO date-time); ``notify_testing`` tells the
  applicant the date and place; ``hold_testing`` is due at the scheduled time: passed / refuse.
* :func:`check_overdue` (run periodically by the service, with ``now`` injected) marks open tasks
  past their due time, raises an alert for the head and tells the portal.
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
from .models import Alert, Case, Operator, Task
from .processes import Process, Step

PROVIDER_ACTOR = "АРМ услугодателя"


#: requests arrive through the portal: the personal-cabinet limits of ``limits_by_channel`` apply
CHANNEL = "portal"
#: the Inspection's act may be named as the issue says; the definition calls the refusal ``refuse``
DECISION_ALIASES = {"inspection": {"does_not_conform": "refuse"}}


def case_subtype(process: Process, case_or_doc) -> str | None:
    """The request's subtype as the definition knows it (None for a definition without subtypes)."""
    doc = case_or_doc.document if isinstance(case_or_doc, Case) else case_or_doc
    sub = doc.get("subtype")
    keys = {t.key for t in process.subtypes}
    if not keys:
        return None
    return sub if sub in keys else process.default_subtype


def due_at(now: datetime, step: Step, subtype: str | None) -> datetime | None:
    """When a task of ``step`` opened at ``now`` for a request of ``subtype`` is due."""
    limit = step.limit_for(subtype, CHANNEL)
    if not limit:
        return None
    return CALENDAR.deadline(now, *limit, skip_day_of_receipt=step.skip_day_of_receipt)


def allowed_decisions(step: Step) -> list[str]:
    names = [d.name for d in step.decisions]
    for alias, target in DECISION_ALIASES.get(step.action, {}).items():
        if target in names:
            names.append(alias)
    return names


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
    subtype = case_subtype(process, doc)
    result_deadline, _ = process.deadlines_for(subtype)
    case = Case(request_id=data["request_id"], application_number=data["application_number"], process_id=process.id,
                provider_bin=provider.bin, applicant_iin_bin=doc["iin_bin"], document=doc,
                signature=data["signature"], attachments=data.get("attachments", []), status="OPEN",
                received_at=now, deadline_at=CALENDAR.deadline(now, *result_deadline))
    s.add(case)
    await s.flush()
    first = process.first
    s.add(Task(case_id=case.id, step_key=first.key, step_no=first.no, role=first.role, status="OPEN",
               created_at=now, due_at=due_at(now, first, subtype)))
    _tell_registry(s, rt, case, status="IN_PROCESSING", step="process 5", actor=provider.name_ru,
                   note="Заявление поступило в АРМ РШЭП услугодателя", deadline_at=case.deadline_at.isoformat())
    return case


def may_act(operator: Operator, task: Task, case: Case) -> bool:
    """The operator holds the task's role at the case's provider (a deputy head stands in for the
    head where the definition allows it) and the task is not assigned to someone else."""
    if operator.provider_bin != case.provider_bin:
        return False
    if task.assignee is not None and task.assignee != operator.username:
        return False
    if task.role in operator.roles:
        return True
    if task.role == "head" and "deputy_head" in operator.roles:
        return processes.all_processes()[case.process_id].step(task.step_key).deputy_allowed
    return False


def acting_role(operator: Operator, task: Task) -> str:
    return task.role if task.role in operator.roles else "deputy_head"


async def case_data(s: AsyncSession, case: Case) -> dict:
    """The data the case's completed tasks recorded (assignee, testing date, inspection act, …)."""
    rows = await s.scalars(select(Task).where(Task.case_id == case.id, Task.status == "DONE").order_by(Task.id))
    merged: dict = {}
    for t in rows:
        merged.update(t.data or {})
    return merged


def _parse_time(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    return dt if dt.tzinfo is not None else None


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
    subtype = case_subtype(process, case)
    step = process.step(task.step_key)
    asked = decision
    decision = DECISION_ALIASES.get(step.action, {}).get(decision, decision)
    chosen = step.decision(decision)
    if chosen is None:
        raise ApiError("DECISION_NOT_ALLOWED", detail=f"allowed: {allowed_decisions(step)}")
    if chosen.comment_required and not (comment or "").strip():
        raise ApiError("TASK_DATA_INVALID", detail="a reasoned refusal needs its reasons in the comment")
    data = dict(data or {})

    if step.action == "assign":
        assignee = await s.get(Operator, data.get("assignee") or "")
        if assignee is None or assignee.provider_bin != case.provider_bin or step.assign_role not in assignee.roles:
            raise ApiError("TASK_DATA_INVALID", detail=f"data.assignee must be a {step.assign_role} of the provider")
        case.assignee = assignee.username
    elif step.action == "inspection":
        act = "conforms" if chosen.outcome is None else "does_not_conform"
        data["inspection_act"] = {"result": act, "inspector": operator.full_name, "date": now.astimezone(CALENDAR.tz)
                                  .date().isoformat(), "findings": comment, **(data.get("inspection_act") or {})}
    elif step.action == "schedule_testing" and chosen.outcome is None:
        testing_at = _parse_time(data.get("testing_at"))
        if testing_at is None:
            raise ApiError("TASK_DATA_INVALID", detail="data.testing_at: the date and time of the testing (ISO 8601 "
                                                        "with a UTC offset) is required")
        data["testing_at"] = testing_at.astimezone(CALENDAR.tz).isoformat()
        data.setdefault("testing_place", "г. Актобе, ГУ «Управление ГАСК Актюбинской области»")
    elif step.action == "prepare_result":
        case.draft_result = await _draft(s, case, process, now)
    elif step.action == "sign_result":
        case.result = _check_result_signature(rt, case, operator, signature)
    elif step.action == "deliver_result":
        case.status = "REFUSED" if case.outcome == "refusal" else "COMPLETED"
        case.closed_at = now

    if chosen.outcome == "refusal":
        case.outcome = "refusal"
        case.deadline_at = CALENDAR.deadline(case.received_at, *process.deadlines_for(subtype)[1])

    task.status, task.decision, task.comment, task.data = "DONE", decision, comment, data or None
    task.completed_at, task.completed_by = now, operator.username
    actor = f"{operator.full_name} ({acting_role(operator, task)})"
    label = f"{step.no}. {step.title_ru}"
    note = asked + (f": {comment}" if comment else "")

    if step.action == "deliver_result":
        _tell_registry(s, rt, case, MessageType.RESPONSE, status=case.status, step=label, actor=actor,
                       note=decision, result=case.result)
        return None
    if step.action == "notify_testing":
        merged = {**await case_data(s, case), **data}
        note = (f"Уведомление о тестировании: {merged.get('testing_at')}, {merged.get('testing_place')}")
    _tell_registry(s, rt, case, status="IN_PROCESSING", step=label, actor=actor, note=note)
    nxt = process.route(step.key, decision, subtype)
    if nxt is None:
        return None
    due = due_at(now, nxt, subtype)
    if nxt.action == "hold_testing":
        due = _parse_time((await case_data(s, case)).get("testing_at")) or due
    new = Task(case_id=case.id, step_key=nxt.key, step_no=nxt.no, role=nxt.role, status="OPEN", created_at=now,
               due_at=due, assignee=case.assignee if nxt.assigned else None)
    s.add(new)
    await s.flush()
    return new


async def check_overdue(s: AsyncSession, rt, now: datetime) -> list[Alert]:
    """Mark the open tasks past their due time, raise an alert for the head of the provider
    (escalation) and tell ИС ГБД ЕЛ / the portal. Each task is reported once."""
    rows = (await s.execute(
        select(Task, Case).join(Case, Case.id == Task.case_id)
        .where(Task.status == "OPEN", Task.overdue_at.is_(None), Task.due_at.is_not(None), Task.due_at < now)
    )).all()
    alerts = []
    for task, case in rows:
        process = processes.all_processes()[case.process_id]
        step = process.step(task.step_key)
        task.overdue_at = now
        late = CALENDAR.working_minutes_between(task.due_at, now)
        text = (f"Просрочен этап {step.no} «{step.title_ru}» заявления {case.application_number}: "
                f"срок {task.due_at.astimezone(CALENDAR.tz):%d.%m.%Y %H:%M}, исполнитель "
                f"{task.assignee or step.role}, просрочка {late} раб. мин.")
        alert = Alert(kind="overdue", case_id=case.id, task_id=task.id, provider_bin=case.provider_bin, role="head",
                      text_ru=text, created_at=now)
        s.add(alert)
        alerts.append(alert)
        _tell_registry(s, rt, case, status="IN_PROCESSING", step=f"{step.no}. {step.title_ru}",
                       actor=PROVIDER_ACTOR, note=f"Срок этапа нарушен; сообщено руководителю: {text}")
    await s.flush()
    return alerts


def is_amendment(subtype: str | None) -> bool:
    """A re-issue (any kind) or a duplicate: the result keeps the number of the existing licence."""
    return bool(subtype) and (subtype == "duplicate" or subtype.startswith("reissue"))


async def _draft(s: AsyncSession, case: Case, process: Process, now: datetime) -> dict:
    provider = PROVIDERS[process.provider]
    doc = case.document
    subtype = case_subtype(process, case)
    common = {
        "service_code": process.service_code,
        "region": process.region,
        "subtype": subtype or doc.get("subtype"),
        "application_number": case.application_number,
        "request_id": case.request_id,
        "holder": {"iin_bin": case.applicant_iin_bin},
        "provider": {"bin": provider.bin, "name_ru": provider.name_ru, "name_kk": provider.name_kk},
        "language": doc.get("language", "ru"),
        "date": now.astimezone(CALENDAR.tz).date().isoformat(),
    }
    recorded = await case_data(s, case)
    extra = {k: recorded[k] for k in ("inspection_act", "testing_at", "testing_place") if k in recorded}
    if case.outcome == "refusal":
        reason = await s.scalar(select(Task.comment).where(Task.case_id == case.id, Task.decision == "refuse")
                                .order_by(Task.id.desc()))
        return {"kind": "refusal", "title_ru": "Мотивированный отказ в оказании государственной услуги",
                "title_kk": "Мемлекеттік қызмет көрсетуден дәлелді бас тарту", "reason": reason, **extra, **common}
    form = doc.get("form", {})
    if is_amendment(subtype) and form.get("licence_number"):
        number = form["licence_number"]
    else:
        number = f"{process.number_prefix}-{now:%Y}-{case.id:06d}"
    title = process.result_title_ru
    if subtype == "duplicate":
        title = f"Дубликат: {title}"
    elif is_amendment(subtype):
        title = f"{title} (переоформление)"
    return {"kind": process.result_kind, "number": number, "title_ru": title, "details": form, **extra, **common}


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
