"""``inspection`` — an outside body (S1 Mangistau: the Transport Control Inspection) checks the
applicant against the qualification requirements and returns an act: conforms / does not conform
(the definition's ``refuse``: a reasoned refusal follows). The act is kept in the task's data."""
from __future__ import annotations

from shared.calendar import CALENDAR

from .base import Action, StepContext


class Inspection(Action):
    name = "inspection"
    #: the act may be named as the regulation says; the definition calls the refusal ``refuse``
    aliases = {"does_not_conform": "refuse"}

    async def complete(self, ctx: StepContext) -> None:
        act = "conforms" if ctx.chosen.outcome is None else "does_not_conform"
        ctx.data["inspection_act"] = {"result": act, "inspector": ctx.operator.full_name,
                                      "date": ctx.now.astimezone(CALENDAR.tz).date().isoformat(),
                                      "findings": ctx.comment, **(ctx.data.get("inspection_act") or {})}
