"""S2 Mangistau (seed 000, second regulation, п. 7): clerk → head → department head → executor →
head signs → clerk; certificate, and a reasoned refusal."""
from __future__ import annotations

import pytest

from shared.calendar import CALENDAR

from .harness import at, expected_due

pytestmark = pytest.mark.integration
WD = "working_days"


@pytest.mark.parametrize("check", ["documents_ok", "refuse"])
def test_certificate_or_refusal(world, check):
    who = world.applicant()
    run = world.submit(who, "S2", "mangistau")
    w = world
    w.act(run, "mng-clerk", "register", "registered")
    w.act(run, "mng-head", "review", "forwarded")
    w.act(run, "mng-dept-head", "assign", "assigned", data={"assignee": "mng-executor"})
    w.act(run, "mng-executor", "check", check, **({"comment": "Нет диагностической карты"} if check == "refuse" else {}))
    w.act(run, "mng-executor", "prepare", "prepared")
    w.act(run, "mng-head", "sign", "signed", sign=True)
    w.act(run, "mng-clerk", "handover", "handed_over")
    w.wait(who, run, {"COMPLETED" if check == "documents_ok" else "REFUSED"})
    assert [t["role"] for t in run.tasks] == ["clerk", "head", "department_head", "executor", "executor", "head",
                                              "clerk"]
    t = run.task
    assert at(t("register")["due_at"]) == expected_due(t("register"), 15, "minutes")
    assert at(t("review")["due_at"]) == expected_due(t("review"), 1, WD)
    assert at(t("assign")["due_at"]) == expected_due(t("assign"), 1, WD)
    # п. 7 пп. 4): one procedure, one term of 2 working days for the review and the preparation
    assert at(t("check")["due_at"]) == expected_due(t("check"), 2, WD)
    assert t("prepare")["due_at"] == t("check")["due_at"]
    assert at(t("sign")["due_at"]) == expected_due(t("sign"), 15, "minutes")
    assert at(run.tasks[0]["application"]["deadline_at"]) == CALENDAR.deadline(run.received_at, 5, WD)
    assert w.result(who, run)["kind"] == ("certificate" if check == "documents_ok" else "refusal")
