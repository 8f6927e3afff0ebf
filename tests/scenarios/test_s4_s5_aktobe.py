"""S4 and S5 Aktobe (seed 002, приложения 2 и 3): licence issued; a reasoned refusal for an
incomplete package (п. 5 пп. 3) абз. 1)."""
from __future__ import annotations

import pytest

from shared.calendar import CALENDAR

from .harness import at

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("code,prefix", [("S4", "LIC-SRV-AKT-"), ("S5", "LIC-CON-AKT-")])
@pytest.mark.parametrize("check", ["documents_ok", "refuse"])
def test_licence_or_refusal(world, code, prefix, check):
    who = world.applicant()
    run = world.submit(who, code, "aktobe")
    w = world
    w.act(run, "akt-clerk", "register", "registered")
    w.act(run, "akt-head", "assign", "assigned", data={"assignee": "akt-executor"})
    w.act(run, "akt-executor", "check", check, **({"comment": "Неполный пакет"} if check == "refuse" else {}))
    w.act(run, "akt-executor", "prepare", "prepared")
    w.act(run, "akt-head", "sign", "signed", sign=True)
    w.act(run, "akt-head", "deliver", "delivered")
    w.wait(who, run, {"COMPLETED" if check == "documents_ok" else "REFUSED"})
    if check == "documents_ok":  # the licence: 4 working days, the day of receipt not counted
        assert at(run.task("prepare")["due_at"]) == CALENDAR.deadline(run.received_at, 4, "working_days",
                                                                      skip_day_of_receipt=True)
    else:  # the refusal of an incomplete package is drafted within the check's own working day
        assert run.task("prepare")["due_at"] == run.task("check")["due_at"]
    result = w.result(who, run)
    if check == "documents_ok":
        assert result["document"]["number"].startswith(prefix)
    else:
        assert result["kind"] == "refusal"
