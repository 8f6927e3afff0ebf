"""The shape of an action, and what it is given: the step being completed, in its transaction."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ... import repository
from ...models import Case, Operator, Task
from shared.regulations import Decision, Process, Step


@dataclass
class StepContext:
    s: AsyncSession
    rt: object
    case: Case
    task: Task
    process: Process
    step: Step
    subtype: str | None
    #: the decision as the definition names it, and as the operator asked for it (an alias)
    chosen: Decision
    asked: str
    comment: str | None
    #: what the task records (the operator's data, completed by the action)
    data: dict
    operator: Operator
    now: datetime
    #: the signed result (``check_result_signature``), for a signing step
    signed: dict | None = None

    async def recorded(self) -> dict:
        """What the case's completed tasks recorded so far (assignee, testing date, the act, …)."""
        return await case_data(self.s, self.case)


async def case_data(s: AsyncSession, case: Case) -> dict:
    """The data the case's completed tasks recorded, in order, merged."""
    merged: dict = {}
    for t in await repository.tasks_of_case(s, case.id, done_only=True):
        merged.update(t.data or {})
    return merged


def parse_time(value) -> datetime | None:
    """An aware ISO 8601 date-time, or None."""
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    return dt if dt.tzinfo is not None else None


class Action:
    """A step that only decides (no ``action`` in the definition)."""

    name: str | None = None
    ends_case = False

    async def complete(self, ctx: StepContext) -> None:
        return None

    async def note(self, ctx: StepContext) -> tuple[str, str] | None:
        """What the applicant reads of the step (Russian, Kazakh), when not the decision's title."""
        return None

    async def due(self, ctx: StepContext, default: datetime | None) -> datetime | None:
        return default

    async def attach(self, ctx: StepContext) -> dict:
        """What the step's status message carries besides its note (a signed notice…)."""
        return {}
