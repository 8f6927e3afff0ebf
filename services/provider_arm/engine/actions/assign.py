"""``assign`` — the head's resolution names the executor (a person of the step's ``assign_role``)."""
from __future__ import annotations

from shared.errors import ApiError

from ... import repository
from .base import Action, StepContext


class Assign(Action):
    name = "assign"

    async def complete(self, ctx: StepContext) -> None:
        name = ctx.data.get("assignee")
        assignee = await repository.operator(ctx.s, name) if isinstance(name, str) and 0 < len(name) <= 64 else None
        if assignee is None or assignee.provider_bin != ctx.case.provider_bin or ctx.step.assign_role not in assignee.roles:
            raise ApiError("TASK_DATA_INVALID", detail=f"data.assignee must be a {ctx.step.assign_role} of the provider")
        ctx.case.assignee = assignee.username
