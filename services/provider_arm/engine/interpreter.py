"""The interpreter of process definitions: cases, tasks per role, decisions, routing, deadlines.

Each completed task writes, in one transaction: the task's decision, what its step's action
produces (``actions/``), the next task (with its due time from the working-time calendar), the
case's new state, and an outbox message telling ИС ГБД ЕЛ (and through it the portal) where the
request stands.

* The request's subtype (issue / re-issue kinds / duplicate) picks the step limits
  (``Step.limit_for``), the service deadlines (``Process.deadlines_for``) and the route:
  steps ``only_for_subtypes`` are skipped by other subtypes (``Process.route``).
* Requests come through the portal, so the "portal" channel limits apply.
* "The day of receipt is not counted" (``skip_day_of_receipt``) is passed to the calendar.
* A step with ``deputy_allowed`` may be done by a ``deputy_head`` in place of the head.
* :func:`check_overdue` (run periodically by the service, with ``now`` injected) marks open tasks
  past their due time, raises an alert for the head and tells the portal.
"""
from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from shared import telemetry
from shared.calendar import CALENDAR
from shared.db import utcnow
from shared.errors import ApiError
from shared.topics import MessageType, ServiceId

from shared import regulations
from .. import repository
from ..models import Alert, Case, Operator, Task
from shared.regulations import Process, Step
from shared.regulations.processes import DECISION_WORDS
from .actions import ACTIONS, StepContext

log = structlog.get_logger("engine")

PROVIDER_ACTOR = "АРМ услугодателя"


#: the channel of a request that does not say (the portal): the personal-cabinet limits of
#: ``limits_by_channel`` apply; a request accepted at a ЦОН desk carries ``channel: "con"`` (docs/con.md)
CHANNEL = "portal"


def case_subtype(process: Process, case_or_doc) -> str | None:
    """The request's subtype as the definition knows it (None for a definition without subtypes)."""
    doc = case_or_doc.document if isinstance(case_or_doc, Case) else case_or_doc
    sub = doc.get("subtype")
    keys = {t.key for t in process.subtypes}
    if not keys:
        return None
    return sub if sub in keys else process.default_subtype


def due_at(now: datetime, step: Step, subtype: str | None, process: Process | None = None,
           received_at: datetime | None = None, channel: str | None = None) -> datetime | None:
    """When a task of ``step`` opened at ``now`` for a request of ``subtype`` is due. A step whose
    term excludes the day of receipt is anchored on the application's receipt, not on its own start:
    18:00 of its last working day counted after the day of receipt."""
    limit = step.limit_for(subtype, channel or CHANNEL)
    if not limit:
        return None
    if step.skip_day_of_receipt and limit[1] == "working_days" and received_at is not None:
        return CALENDAR.add_working_days(received_at, limit[0], skip_day_of_receipt=True)
    return CALENDAR.deadline(now, *limit)


def _aliases(step: Step) -> dict[str, str]:
    """Other names an action accepts for the definition's decisions (the Inspection's act)."""
    return getattr(ACTIONS[step.action], "aliases", {})


def allowed_decisions(step: Step) -> list[str]:
    names = [d.name for d in step.decisions]
    return names + [alias for alias, target in _aliases(step).items() if target in names]


def _tell_registry(s: AsyncSession, rt, case: Case, message_type: str = MessageType.NOTIFICATION, **data) -> None:
    """Tell ИС ГБД ЕЛ (and through it the portal) what happened to the case, and when."""
    rt.outbox.enqueue(s, service_id=ServiceId.ELICENSE_RESULT, message_type=message_type,
                      correlation_id=case.request_id,
                      data={"request_id": case.request_id, "application_number": case.application_number,
                            "at": utcnow().isoformat(), **data})


async def open_case(s: AsyncSession, rt, data: dict, now: datetime) -> Case:
    """An application arrived from ИС ГБД ЕЛ: open its case and the first task."""
    doc = data["document"]
    process = regulations.find(doc["service_code"], doc["region"])
    if process is None:
        raise ApiError("SERVICE_NOT_FOUND", detail=f"no process for {doc['service_code']}/{doc['region']}")
    provider = regulations.providers()[process.provider]
    subtype = case_subtype(process, doc)
    case = Case(request_id=data["request_id"], application_number=data["application_number"], process_id=process.id,
                provider_bin=provider.bin, applicant_iin_bin=doc["iin_bin"],
                applicant_name=((data.get("applicant") or {}).get("full_name") or "")[:255] or None, document=doc,
                signature=data["signature"], attachments=data.get("attachments", []), status="OPEN",
                received_at=now, deadline_at=process.result_due(now, subtype),
                trace_parent=telemetry.current_traceparent(),
                channel=data.get("channel") if data.get("channel") in ("portal", "con") else CHANNEL)
    s.add(case)
    await s.flush()
    first = process.first
    s.add(Task(case_id=case.id, step_key=first.key, step_no=first.no, role=first.role, status="OPEN",
               created_at=now, due_at=due_at(now, first, subtype, channel=case.channel)))
    _tell_registry(s, rt, case, status="IN_PROCESSING", step=dict(process.portal_boxes)["provider"], actor=provider.name_ru,
                   note="Заявление поступило в АРМ РШЭП услугодателя",
                   note_kk="Өтініш көрсетілетін қызметті берушінің РШЭП АЖО-на келіп түсті",
                   deadline_at=case.deadline_at.isoformat())
    return case


def _decision_notes(chosen, comment: str | None) -> tuple[str, str]:
    """What the applicant reads of a decision, in Russian and Kazakh: its title (the decision's name
    where the definition gives none) and the operator's comment."""
    tail = f": {comment}" if comment else ""
    ru, kk = DECISION_WORDS.get(chosen.name, (chosen.name, chosen.name))
    return (chosen.title_ru or ru) + tail, (chosen.title_kk or kk) + tail


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
        return regulations.all_processes()[case.process_id].step(task.step_key).deputy_allowed
    return False


def acting_role(operator: Operator, task: Task) -> str:
    return task.role if task.role in operator.roles else "deputy_head"


async def complete(
    s: AsyncSession, rt, *, task: Task, operator: Operator, decision: str, comment: str | None,
    data: dict | None, signed: dict | None, now: datetime,
) -> Task | None:
    """Complete a task with a decision; returns the next task (None when the case closed).
    ``signed``: the signed result :func:`check_result_signature` made of the operator's signature."""
    case = await repository.case(s, task.case_id)
    if not may_act(operator, task, case):
        raise ApiError("FORBIDDEN_ROLE")
    if task.status != "OPEN":
        raise ApiError("TASK_NOT_OPEN")
    # the step joins its application's trace (what it sends on carries it to the portal)
    with telemetry.span(f"task {task.step_no} {task.step_key}", parent=case.trace_parent,
                        **{"egov.request_id": case.request_id, "egov.role": task.role}):
        nxt = await _decide(s, rt, case, task, operator, decision, comment, data, signed, now)
        log.info("task done", case_id=case.id, task_id=task.id, step=task.step_no, decision=task.decision,
                 operator=operator.username, request_id=case.request_id, case_status=case.status)
    return nxt


async def _decide(s: AsyncSession, rt, case: Case, task: Task, operator: Operator, decision: str,
                  comment: str | None, data: dict | None, signed: dict | None, now: datetime) -> Task | None:
    process = regulations.all_processes()[case.process_id]
    subtype = case_subtype(process, case)
    step = process.step(task.step_key)
    asked = decision
    decision = _aliases(step).get(decision, decision)
    chosen = step.decision(decision)
    if chosen is None:
        raise ApiError("DECISION_NOT_ALLOWED", detail=f"allowed: {allowed_decisions(step)}")
    if chosen.comment_required and not (comment or "").strip():
        raise ApiError("TASK_DATA_INVALID", detail="a reasoned refusal needs its reasons in the comment")
    action = ACTIONS[step.action]
    ctx = StepContext(s, rt, case, task, process, step, subtype, chosen, asked, comment, dict(data or {}),
                      operator, now, signed)
    if chosen.outcome == "refusal":  # before the action: a refusal at the preparing step drafts the refusal
        case.outcome = "refusal"
        case.deadline_at = process.result_due(case.received_at, subtype, refusal=True)
    await action.complete(ctx)

    task.status, task.decision, task.comment, task.data = "DONE", decision, comment, ctx.data or None
    task.completed_at, task.completed_by = now, operator.username
    actor = f"{operator.full_name} ({acting_role(operator, task)})"
    label, label_kk = f"{step.no}. {step.title_ru}", f"{step.no}. {step.title_kk}"

    if action.ends_case:
        note, note_kk = _decision_notes(chosen, comment)
        _tell_registry(s, rt, case, MessageType.RESPONSE, status=case.status, step=label, step_kk=label_kk, actor=actor,
                       note=note, note_kk=note_kk, result=case.result)
        return None
    note, note_kk = await action.note(ctx) or _decision_notes(chosen, comment)
    _tell_registry(s, rt, case, status="IN_PROCESSING", step=label, step_kk=label_kk, actor=actor, note=note,
                   note_kk=note_kk, **await action.attach(ctx))
    nxt = process.route(step.key, decision, subtype)
    if nxt is None:
        return None
    if chosen.within_term:  # the decision's next step is part of this step's procedure: its term
        due = task.due_at
    elif nxt.same_term_as:  # the same procedure of the seed: the term of the step it continues
        due = await repository.due_of_step(s, case.id, nxt.same_term_as)
    else:
        due = due_at(now, nxt, subtype, process, case.received_at, channel=case.channel)
    due = await ACTIONS[nxt.action].due(ctx, due)
    if nxt.action == "deliver_result" and case.channel == "con" and process.con_result_days_early and case.deadline_at:
        # the result reaches the ЦОН the given working days before the service deadline (Almaty п. 11)
        day = case.deadline_at.astimezone(CALENDAR.tz).date()
        for _ in range(process.con_result_days_early):
            day = CALENDAR.previous_working_day(day)
        early = datetime.combine(day, case.deadline_at.astimezone(CALENDAR.tz).timetz())
        due = min(due, early) if due else early
    new = Task(case_id=case.id, step_key=nxt.key, step_no=nxt.no, role=nxt.role, status="OPEN", created_at=now,
               due_at=due, assignee=case.assignee if nxt.assigned else None)
    s.add(new)
    await s.flush()
    return new


async def check_overdue(s: AsyncSession, rt, now: datetime) -> list[Alert]:
    """Mark the open tasks past their due time, raise an alert for the head of the provider
    (escalation) and tell ИС ГБД ЕЛ / the portal. Each task is reported once."""
    rows = await repository.newly_overdue(s, now)
    alerts = []
    for task, case in rows:
        process = regulations.all_processes()[case.process_id]
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
        telemetry.OVERDUE.labels(case.provider_bin).inc()
        log.warning("task overdue", case_id=case.id, task_id=task.id, step=step.no,
                    application_number=case.application_number, late_working_minutes=late)
        _tell_registry(s, rt, case, status="IN_PROCESSING", step=f"{step.no}. {step.title_ru}", step_kk=f"{step.no}. {step.title_kk}",
                       actor=PROVIDER_ACTOR, note=f"Срок этапа нарушен; сообщено руководителю: {text}",
                       note_kk=f"Кезеңнің мерзімі бұзылды; басшыға хабарланды: {text}")
    await s.flush()
    late_now = await repository.overdue_counts(s, now)
    for provider in regulations.providers().values():
        telemetry.OVERDUE_OPEN.labels(provider.bin).set(late_now.get(provider.bin, 0))
    return alerts
