"""S1 Mangistau (seed 000, п. 7): issue with the Inspection's act (conforms / does not conform),
re-issue and duplicate of the issued licence (no Inspection), and a duplicate of a licence that
does not exist (refused by ИС ГБД ЕЛ with LICENCE_NOT_FOUND, "process 9")."""
from __future__ import annotations

import pytest

from shared.calendar import CALENDAR

from .harness import at, expected_due, step_classes

pytestmark = pytest.mark.integration

WD = "working_days"


def work_issue(w, run, *, act: str, comment: str | None = None):
    w.act(run, "mng-clerk", "register", "registered")
    w.act(run, "mng-head", "assign", "assigned", data={"assignee": "mng-executor"})
    w.act(run, "mng-executor", "check", "documents_ok")
    w.act(run, "mng-inspector", "inspection", act, **({"comment": comment} if comment else {}))
    w.act(run, "mng-executor", "prepare", "prepared")
    w.act(run, "mng-head", "sign", "signed", sign=True)
    w.act(run, "mng-clerk", "handover", "handed_over")


def assert_issue_deadlines(run):
    t = run.task
    assert at(t("register")["due_at"]) == expected_due(t("register"), 15, "minutes")
    assert at(t("assign")["due_at"]) == expected_due(t("assign"), 1, WD)
    assert at(t("check")["due_at"]) == expected_due(t("check"), 2, WD)
    assert at(t("inspection")["due_at"]) == expected_due(t("inspection"), 10, WD)
    assert at(t("prepare")["due_at"]) == expected_due(t("prepare"), 1, WD)
    assert at(t("sign")["due_at"]) == expected_due(t("sign"), 30, "minutes")
    assert at(t("handover")["due_at"]) == expected_due(t("handover"), 15, "minutes")


@pytest.fixture(scope="module")
def licensee(world):
    """An applicant with an issued licence (the inspection conforms)."""
    who = world.applicant()
    run = world.submit(who, "S1", "mangistau", "issue")
    assert at(run.submitted["expected_result_at"]) == CALENDAR.deadline(
        at(world.c.portal("GET", f"/requests/{run.request_id}", who.token).json()["created_at"]), 15, WD)
    work_issue(world, run, act="conforms")
    view = world.wait(who, run, {"COMPLETED"})
    return who, run, view


def test_issue_with_inspection_that_conforms(world, licensee):
    who, run, view = licensee
    assert run.steps == ["register", "assign", "check", "inspection", "prepare", "sign", "handover"]
    assert [r for _, r in run.actors] == ["mng-clerk", "mng-head", "mng-executor", "mng-inspector", "mng-executor",
                                          "mng-head", "mng-clerk"]
    assert [t["role"] for t in run.tasks] == ["clerk", "head", "executor", "inspection", "executor", "head", "clerk"]
    assert_issue_deadlines(run)
    assert at(run.tasks[0]["application"]["deadline_at"]) == CALENDAR.deadline(run.received_at, 15, WD)
    result = world.result(who, run)
    assert result["kind"] == "licence" and result["document"]["inspection_act"]["result"] == "conforms"
    assert [h["event"] for h in world.history(result["document"]["number"])] == ["issued"]
    actors = {e["actor"] for e in view["timeline"]}
    assert "УТЕПОВ МАРАТ ЖАНБОЛАТОВИЧ (inspection)" in actors
    svg = world.diagram("S1-mangistau", run.request_id, operator="mng-head")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert {"visited", "skippable"} <= step_classes(svg.text)["inspection"]
    # where a request stands is for the provider's operators: not for anyone, nor another provider's
    assert world.diagram("S1-mangistau", run.request_id).status_code == 401
    assert world.diagram("S1-mangistau", run.request_id, operator="akt-head").status_code == 404
    assert view["diagram_url"].endswith("/api/v1/processes/S1-mangistau/diagram.svg")


def test_inspection_does_not_conform_is_a_reasoned_refusal(world):
    who = world.applicant()
    run = world.submit(who, "S1", "mangistau", "issue")
    work_issue(world, run, act="does_not_conform", comment="Акт: нет охраняемой стоянки для автобусов")
    world.wait(who, run, {"REFUSED"})
    result = world.result(who, run)
    assert result["kind"] == "refusal" and "стоянки" in result["document"]["reason"]
    assert result["document"]["inspection_act"]["result"] == "does_not_conform"
    assert run.task("inspection")["allowed_decisions"] == ["conforms", "refuse", "does_not_conform"]
    # refusal deadline from the receipt (15 working days for issue)
    assert at(run.task("prepare")["application"]["deadline_at"]) == CALENDAR.deadline(run.received_at, 15, WD)


def test_reissue_skips_the_inspection(world, licensee):
    who, first, _ = licensee
    number = world.result(who, first)["document"]["number"]
    form = dict(world.service("S1")["example"], licence_number=number, reissue_reason="смена адреса")
    run = world.submit(who, "S1", "mangistau", "reissue", form)
    w = world
    w.act(run, "mng-clerk", "register", "registered")
    w.act(run, "mng-head", "assign", "assigned", data={"assignee": "mng-executor"})
    w.act(run, "mng-executor", "check", "documents_ok")
    w.act(run, "mng-executor", "prepare", "prepared")
    w.act(run, "mng-head", "sign", "signed", sign=True)
    w.act(run, "mng-clerk", "handover", "handed_over")
    w.wait(who, run, {"COMPLETED"})
    assert run.steps == ["register", "assign", "check", "prepare", "sign", "handover"]
    assert at(run.task("prepare")["due_at"]) == expected_due(run.task("prepare"), 8, WD)
    assert at(run.tasks[0]["application"]["deadline_at"]) == CALENDAR.deadline(run.received_at, 12, WD)
    result = w.result(who, run)
    assert result["document"]["number"] == number and result["document"]["subtype"] == "reissue"
    assert [h["event"] for h in w.history(number)][:2] == ["issued", "reissued"]
    permit = w.permit(number).json()
    assert permit["signature"]["valid"] and permit["signature"]["signer"] == "КУАНЫШЕВ БОЛАТ"


def test_duplicate_of_the_licence(world, licensee):
    who, first, _ = licensee
    number = world.result(who, first)["document"]["number"]
    run = world.submit(who, "S1", "mangistau", "duplicate", dict(world.service("S1")["example"], licence_number=number))
    w = world
    w.act(run, "mng-clerk", "register", "registered")
    w.act(run, "mng-head", "assign", "assigned", data={"assignee": "mng-executor"})
    w.act(run, "mng-executor", "check", "documents_ok")
    w.act(run, "mng-executor", "prepare", "prepared")
    w.act(run, "mng-head", "sign", "signed", sign=True)
    w.act(run, "mng-clerk", "handover", "handed_over")
    w.wait(who, run, {"COMPLETED"})
    assert run.steps == ["register", "assign", "check", "prepare", "sign", "handover"]
    assert at(run.task("prepare")["due_at"]) == expected_due(run.task("prepare"), 3, "hours")
    assert at(run.tasks[0]["application"]["deadline_at"]) == CALENDAR.deadline(run.received_at, 4, WD)
    assert "duplicated" in [h["event"] for h in w.history(number)]


def test_duplicate_of_a_licence_that_does_not_exist_is_refused(world, licensee):
    who = world.applicant()
    run = world.submit(who, "S1", "mangistau", "duplicate",
                       dict(world.service("S1")["example"], licence_number="LIC-MNG-1999-999999"), wait={"REFUSED"})
    view = world.wait(who, run, {"REFUSED"})
    refusal = [e for e in view["timeline"] if e["status"] == "REFUSED"]
    assert refusal and refusal[0]["step"] == "process 9" and "LICENCE_NOT_FOUND" in refusal[0]["note"]
    # someone else's licence is not found either
    owner, first, _ = licensee
    number = world.result(owner, first)["document"]["number"]
    run = world.submit(who, "S1", "mangistau", "duplicate",
                       dict(world.service("S1")["example"], licence_number=number), wait={"REFUSED"})
    assert "LICENCE_NOT_FOUND" in world.wait(who, run, {"REFUSED"})["timeline"][-1]["note"]
