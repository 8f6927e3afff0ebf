"""S1 Zhambyl (seed 003, п. 5): the deputy acts in the head's absence (review and signature), the
department head assigns the specialist; a duplicate of the issued licence takes 1 working day."""
from __future__ import annotations

import pytest

from shared.calendar import CALENDAR

from .harness import at, expected_due

pytestmark = pytest.mark.integration
WD = "working_days"


def work(w, run, head: str):
    w.act(run, "zhm-clerk", "register", "registered")
    w.act(run, head, "review", "forwarded")
    w.act(run, "zhm-dept-head", "assign", "assigned", data={"assignee": "zhm-specialist"})
    w.act(run, "zhm-specialist", "check", "documents_ok")
    w.act(run, "zhm-specialist", "prepare", "prepared")
    w.act(run, head, "sign", "signed", sign=True)
    w.act(run, "zhm-clerk", "handover", "handed_over")


def test_deputy_issues_and_head_duplicates(world):
    who = world.applicant()
    run = world.submit(who, "S1", "zhambyl")
    work(world, run, "zhm-deputy")
    view = world.wait(who, run, {"COMPLETED"})
    t = run.task
    assert at(t("register")["due_at"]) == expected_due(t("register"), 1, "hours")
    assert at(t("review")["due_at"]) == expected_due(t("review"), 3, "hours")
    assert at(t("assign")["due_at"]) == expected_due(t("assign"), 2, "hours")
    assert at(t("check")["due_at"]) == expected_due(t("check"), 13, WD)
    assert t("prepare")["due_at"] == t("check")["due_at"]  # one procedure of п. 5 пп. 4), one term
    assert at(t("sign")["due_at"]) == expected_due(t("sign"), 3, "hours")
    assert at(t("handover")["due_at"]) == expected_due(t("handover"), 20, "minutes")  # personal cabinet
    assert "ОРАЗБАЕВ КАЙРАТ НУРЛАНОВИЧ (deputy_head)" in {e["actor"] for e in view["timeline"]}
    number = world.result(who, run)["document"]["number"]

    dup = world.submit(who, "S1", "zhambyl", "duplicate", dict(world.service("S1")["example"], licence_number=number))
    work(world, dup, "zhm-head")
    world.wait(who, dup, {"COMPLETED"})
    assert at(dup.task("check")["due_at"]) == expected_due(dup.task("check"), 1, WD)
    assert dup.task("prepare")["due_at"] == dup.task("check")["due_at"]
    assert at(dup.tasks[0]["application"]["deadline_at"]) == CALENDAR.deadline(dup.received_at, 3, WD)
    assert [h["event"] for h in world.history(number)] == ["issued", "duplicated"]
