"""S6 Aktobe (seed 002, приложение 4, п. 5): review → testing schedule and notifications (head signs)
→ notifications issued → testing at the scheduled time → attestat → head signs → cabinet; and a
failed testing, which ends in a reasoned refusal."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.calendar import ALMATY, CALENDAR

from .harness import at, expected_due

pytestmark = pytest.mark.integration
WD = "working_days"


def to_testing(w, run, testing_at):
    w.act(run, "akt-clerk", "register", "registered")
    w.act(run, "akt-head", "assign", "assigned", data={"assignee": "akt-executor"})
    w.act(run, "akt-executor", "review", "scheduled", data={"testing_at": testing_at.isoformat(),
                                                            "testing_place": "г. Актобе, ул. Тургенева, 1"})
    w.act(run, "akt-head", "sign_schedule", "signed", sign=True)  # the notice, signed with ЭЦП
    w.act(run, "akt-executor", "notify", "notified")


@pytest.mark.parametrize("outcome", ["passed", "refuse"])
def test_attestation_with_testing(world, outcome):
    who = world.applicant()
    run = world.submit(who, "S6", "aktobe")
    submitted_at = at(world.c.portal("GET", f"/requests/{run.request_id}", who.token).json()["created_at"])
    # the testing on the third working day from now, at 10:00 Almaty time
    testing_at = CALENDAR.deadline(submitted_at, 3, WD).astimezone(ALMATY).replace(hour=10, minute=0)
    to_testing(world, run, testing_at)
    if outcome == "passed":
        world.act(run, "akt-executor", "testing", "passed")
    else:
        world.act(run, "akt-executor", "testing", "refuse", comment="Тестирование не сдано: 41 балл из 100")
    world.act(run, "akt-executor", "prepare", "prepared")
    world.act(run, "akt-head", "sign", "signed", sign=True)
    world.act(run, "akt-head", "deliver", "delivered")
    view = world.wait(who, run, {"COMPLETED" if outcome == "passed" else "REFUSED"})

    assert run.steps == ["register", "assign", "review", "sign_schedule", "notify", "testing", "prepare", "sign",
                         "deliver"]
    t = run.task
    assert at(t("review")["due_at"]) == expected_due(t("review"), 25, WD)
    assert at(t("sign_schedule")["due_at"]) == expected_due(t("sign_schedule"), 1, WD)
    assert at(t("notify")["due_at"]) == expected_due(t("notify"), 1, WD)
    assert at(t("testing")["due_at"]) == testing_at  # held at the scheduled time
    assert at(t("prepare")["due_at"]) == expected_due(t("prepare"), 1, WD)
    assert any("Уведомление о тестировании" in (e["note"] or "") and testing_at.isoformat() in e["note"]
               for e in view["timeline"])
    result = world.result(who, run)
    assert result["document"]["testing_at"] == testing_at.isoformat()
    # before the schedule: the estimated 31 working days; after the testing, pass or fail, the 2 working
    # days of п. 5 пп. 7)–8) counted from the testing as scheduled (whenever its outcome is recorded)
    assert at(run.tasks[0]["application"]["deadline_at"]) == CALENDAR.deadline(run.received_at, 31, WD)
    assert at(t("prepare")["application"]["deadline_at"]) == CALENDAR.deadline(testing_at, 2, WD)
    if outcome == "passed":
        assert result["kind"] == "attestat"
    else:
        assert result["kind"] == "refusal" and "41 балл" in result["document"]["reason"]
    # the applicant got the notice of the date and place as a signed document
    notices = [n["document"] for n in world.c.portal("GET", "/notifications", who.token).json()
               if n["request_id"] == run.request_id and n["document"]]
    assert len(notices) == 1 and notices[0]["document"]["testing_at"] == testing_at.isoformat()
    assert notices[0]["document"]["kind"] == "testing_notice" and notices[0]["signature"]
    assert timedelta(0) <= at(t("notify")["created_at"]) - at(t("sign_schedule")["created_at"])
