"""S3 Aktobe (seed 002, приложение 1, п. 5): a design licence issued, then re-issued on a change of name
(2 working days, the day of receipt not counted) — the registry keeps both versions."""
from __future__ import annotations

import pytest

from shared.calendar import CALENDAR

from .harness import at, expected_due

pytestmark = pytest.mark.integration
WD = "working_days"


def work(w, run, executor="akt-executor"):
    w.act(run, "akt-clerk", "register", "registered")
    w.act(run, "akt-head", "assign", "assigned", data={"assignee": executor})
    w.act(run, executor, "check", "documents_ok")
    w.act(run, executor, "prepare", "prepared")
    w.act(run, "akt-head", "sign", "signed", sign=True)
    w.act(run, "akt-head", "deliver", "delivered")


def test_issue_then_reissue_on_change_of_name(world):
    who = world.applicant()
    run = world.submit(who, "S3", "aktobe")
    work(world, run)
    world.wait(who, run, {"COMPLETED"})
    t = run.task
    assert run.steps == ["register", "assign", "check", "prepare", "sign", "deliver"]
    assert at(t("register")["due_at"]) == expected_due(t("register"), 15, "minutes")
    assert at(t("assign")["due_at"]) == expected_due(t("assign"), 1, "hours")
    assert at(t("check")["due_at"]) == expected_due(t("check"), 1, WD)
    # counted from the day of receipt (not counted), whenever the check ended (seed 002 п. 5 пп. 3))
    assert at(t("prepare")["due_at"]) == CALENDAR.deadline(run.received_at, 4, WD, skip_day_of_receipt=True)
    assert at(run.tasks[0]["application"]["deadline_at"]) == CALENDAR.deadline(run.received_at, 4, WD,
                                                                               skip_day_of_receipt=True)
    assert t("sign")["due_at"] is None
    number = world.result(who, run)["document"]["number"]
    assert number.startswith("LIC-PRJ-AKT-")

    form = dict(world.service("S3")["example"], licence_number=number, reissue_reason="смена наименования")
    re = world.submit(who, "S3", "aktobe", "reissue_name_change", form)
    work(world, re, executor="akt-executor2")
    world.wait(who, re, {"COMPLETED"})
    assert at(re.task("prepare")["due_at"]) == CALENDAR.deadline(re.received_at, 2, WD, skip_day_of_receipt=True)
    assert at(re.tasks[0]["application"]["deadline_at"]) == CALENDAR.deadline(re.received_at, 2, WD,
                                                                              skip_day_of_receipt=True)
    assert [a for _, a in re.actors] == ["akt-clerk", "akt-head", "akt-executor2", "akt-executor2", "akt-head",
                                         "akt-head"]
    history = world.history(number)
    assert [(h["event"], h["subtype"]) for h in history] == [("issued", "issue"), ("reissued", "reissue_name_change")]
    permit = world.permit(number).json()
    assert permit["status"] == "ACTIVE"
    assert "document" not in permit and "holder_iin_bin" not in permit  # a public registry: no form, no IIN
