"""The provider workstation's queries — the only module here that speaks SQL. The router and the
engine ask for what they need by name; what the caller may see is decided there (``engine.may_act``,
``router.may_see``), what the database holds is read here."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Alert, Case, Operator, Task


async def operator(s: AsyncSession, username: str) -> Operator | None:
    return await s.get(Operator, username)


async def task_and_case(s: AsyncSession, task_id: int) -> tuple[Task | None, Case | None]:
    t = await s.get(Task, task_id)
    return t, (await s.get(Case, t.case_id) if t else None)


async def case(s: AsyncSession, case_id: int) -> Case | None:
    return await s.get(Case, case_id)


async def case_by_request(s: AsyncSession, request_id: str) -> Case | None:
    return await s.scalar(select(Case).where(Case.request_id == request_id))


async def tasks_of_case(s: AsyncSession, case_id: int, *, done_only: bool = False) -> list[Task]:
    """A case's tasks in the order they were opened (only the completed ones with ``done_only``)."""
    q = select(Task).where(Task.case_id == case_id)
    if done_only:
        q = q.where(Task.status == "DONE")
    return list(await s.scalars(q.order_by(Task.id)))


async def open_tasks(s: AsyncSession, provider_bin: str, roles: list[str]) -> list[tuple[Task, Case]]:
    """The provider's open tasks of ``roles``, soonest due first (those without a limit last)."""
    return list((await s.execute(
        select(Task, Case).join(Case, Case.id == Task.case_id)
        .where(Task.status == "OPEN", Task.role.in_(roles), Case.provider_bin == provider_bin)
        .order_by(Task.due_at.is_(None), Task.due_at, Task.id)
    )).all())


async def overdue_tasks(s: AsyncSession, provider_bin: str, now: datetime) -> list[tuple[Task, Case]]:
    """Every open task of the provider past its due time at ``now``, the longest overdue first."""
    return list((await s.execute(
        select(Task, Case).join(Case, Case.id == Task.case_id)
        .where(Task.status == "OPEN", Task.due_at.is_not(None), Task.due_at < now, Case.provider_bin == provider_bin)
        .order_by(Task.due_at, Task.id)
    )).all())


async def newly_overdue(s: AsyncSession, now: datetime) -> list[tuple[Task, Case]]:
    """Open tasks past their due time not yet reported, locked for this transaction (two replicas:
    each one reported by one of them)."""
    return list((await s.execute(
        select(Task, Case).join(Case, Case.id == Task.case_id)
        .where(Task.status == "OPEN", Task.overdue_at.is_(None), Task.due_at.is_not(None), Task.due_at < now)
        .with_for_update(of=Task, skip_locked=True)
    )).all())


async def overdue_counts(s: AsyncSession, now: datetime) -> dict[str, int]:
    """Open tasks past their due time, per provider BIN."""
    return dict((await s.execute(
        select(Case.provider_bin, func.count()).join(Task, Task.case_id == Case.id)
        .where(Task.status == "OPEN", Task.due_at.is_not(None), Task.due_at < now).group_by(Case.provider_bin)
    )).all())


async def due_of_step(s: AsyncSession, case_id: int, step_key: str) -> datetime | None:
    """When the case's latest task of ``step_key`` was due."""
    return await s.scalar(select(Task.due_at).where(Task.case_id == case_id, Task.step_key == step_key)
                          .order_by(Task.id.desc()).limit(1))


async def refusal_reasons(s: AsyncSession, case_id: int) -> str | None:
    """The comment of the case's latest refusal decision."""
    return await s.scalar(select(Task.comment).where(Task.case_id == case_id, Task.decision == "refuse")
                          .order_by(Task.id.desc()).limit(1))


async def alerts(s: AsyncSession, provider_bin: str, *, include_acknowledged: bool, limit: int = 500) -> list[Alert]:
    q = select(Alert).where(Alert.provider_bin == provider_bin)
    if not include_acknowledged:
        q = q.where(Alert.acknowledged_at.is_(None))
    return list(await s.scalars(q.order_by(Alert.id.desc()).limit(limit)))


async def alert(s: AsyncSession, alert_id: int) -> Alert | None:
    return await s.get(Alert, alert_id)
