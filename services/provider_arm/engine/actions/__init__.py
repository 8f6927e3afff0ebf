"""What a step does besides deciding, one module per kind of action (the ``action`` of a step in a
process definition). Each kind is an :class:`Action`; :data:`ACTIONS` finds it by name.

An action is asked, in the completing task's transaction:

* ``complete(ctx)`` — check and record what the step produces (the assignee, the Inspection's act,
  the testing date, the draft, the signed result…); refuse with ``TASK_DATA_INVALID`` & co.;
* ``note(ctx)`` — the timeline note the applicant sees for this step (None: the decision);
* ``due(ctx, default)`` — when the task of this step, now opening, is due;
* ``attach(ctx)`` — what the step's status message carries besides the note (a signed notice);
* ``ends_case`` — the step closes the case and sends the result instead of opening a next task.
"""
from __future__ import annotations


from .base import Action, StepContext
from .assign import Assign
from .inspection import Inspection
from .results import DeliverResult, PrepareResult, SignResult
from .testing import HoldTesting, NotifyTesting, ScheduleTesting, SignNotice

ACTIONS: dict[str | None, Action] = {a.name: a for a in (
    Action(), Assign(), Inspection(), PrepareResult(), SignResult(), DeliverResult(),
    ScheduleTesting(), SignNotice(), NotifyTesting(), HoldTesting(),
)}

__all__ = ["ACTIONS", "Action", "StepContext"]
