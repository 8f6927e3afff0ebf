"""S2 Almaty (seeds 001/004, п. 9): certificate within 2 working days, reasoned refusal within 1."""
from __future__ import annotations

import pytest

from shared.calendar import CALENDAR

from .harness import at, expected_due

pytestmark = pytest.mark.integration


def work(w, run, check: str, **kw):
    w.act(run, "ala-clerk", "register", "registered")
    w.act(run, "ala-head", "assign", "assigned", data={"assignee": "ala-specialist"})
    w.act(run, "ala-specialist", "check", check, **kw)
    w.act(run, "ala-specialist", "prepare", "prepared")
    w.act(run, "ala-head", "sign", "signed", sign=True)
    w.act(run, "ala-clerk", "handover", "handed_over")


def test_issue(world):
    who = world.applicant()
    run = world.submit(who, "S2", "almaty")
    work(world, run, "documents_ok")
    view = world.wait(who, run, {"COMPLETED"})
    assert run.steps == ["register", "assign", "check", "prepare", "sign", "handover"]
    assert [t["role"] for t in run.tasks] == ["clerk", "head", "specialist", "specialist", "head", "clerk"]
    t = run.task
    assert at(t("register")["due_at"]) == expected_due(t("register"), 5, "minutes")
    assert t("assign")["due_at"] is None  # the regulation gives no limit
    assert at(t("check")["due_at"]) == expected_due(t("check"), 1, "working_days")
    assert at(t("prepare")["due_at"]) == expected_due(t("prepare"), 15, "minutes")
    assert at(t("sign")["due_at"]) == expected_due(t("sign"), 15, "minutes")
    assert at(t("handover")["due_at"]) == expected_due(t("handover"), 10, "minutes")
    # п. 11: "без учета приема документов" — the day of acceptance is not counted
    assert at(run.tasks[0]["application"]["deadline_at"]) == CALENDAR.deadline(run.received_at, 2, "working_days",
                                                                               skip_day_of_receipt=True)
    assert at(run.submitted["expected_result_at"]) == CALENDAR.deadline(at(view["created_at"]), 2, "working_days",
                                                                        skip_day_of_receipt=True)
    assert world.result(who, run)["kind"] == "certificate"


def test_refusal(world):
    who = world.applicant()
    run = world.submit(who, "S2", "almaty")
    work(world, run, "refuse", comment="Диагностическая карта просрочена")
    world.wait(who, run, {"REFUSED"})
    assert world.result(who, run)["document"]["reason"] == "Диагностическая карта просрочена"
    # once refused, the case's deadline is the refusal's: 1 working day from the receipt
    assert at(run.task("prepare")["application"]["deadline_at"]) == CALENDAR.deadline(
        run.received_at, 1, "working_days", skip_day_of_receipt=True)


def test_overdue_views_are_the_heads(world):
    head, clerk = world.token("ala-head"), world.token("ala-clerk")
    for path in ("/tasks/overdue", "/alerts"):
        assert world.c.arm("GET", path, head).status_code == 200
        r = world.c.arm("GET", path, clerk)
        assert r.status_code == 403 and r.json()["error"]["code"] == "FORBIDDEN_ROLE"
