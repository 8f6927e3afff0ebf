"""S7 Aktobe (seed 002, приложение 5, п. 5): accreditation in four procedures of 10 minutes."""
from __future__ import annotations

import pytest

from shared.calendar import CALENDAR

from .harness import at, expected_due, step_classes

pytestmark = pytest.mark.integration


def test_accreditation(world):
    who = world.applicant()
    run = world.submit(who, "S7", "aktobe")
    w = world
    w.act(run, "akt-clerk", "register", "registered")
    w.act(run, "akt-head", "assign", "assigned", data={"assignee": "akt-executor"})
    w.act(run, "akt-executor", "check", "conforms")
    w.act(run, "akt-executor", "prepare", "prepared")
    w.act(run, "akt-head", "sign", "signed", sign=True)
    w.act(run, "akt-head", "deliver", "delivered")
    w.wait(who, run, {"COMPLETED"})
    assert run.steps == ["register", "assign", "check", "prepare", "sign", "deliver"]
    for key in ("register", "assign", "check", "sign"):
        assert at(run.task(key)["due_at"]) == expected_due(run.task(key), 10, "minutes")
    # п. 5 пп. 3) and 4): each one procedure with one term, run as two steps
    assert run.task("prepare")["due_at"] == run.task("check")["due_at"]
    assert run.task("deliver")["due_at"] == run.task("sign")["due_at"]
    assert at(run.tasks[0]["application"]["deadline_at"]) == CALENDAR.deadline(run.received_at, 40, "minutes")
    assert w.result(who, run)["kind"] == "accreditation_certificate"
    svg = w.diagram("S7-aktobe", run.request_id, operator="akt-head").text
    assert sum("visited" in c for c in step_classes(svg).values()) == 6 and 'data-current="true"' not in svg


def test_the_ten_diagrams_render(world):
    listed = world.c.arm("GET", "/processes").json()
    assert len(listed) == 10
    for p in listed:
        r = world.diagram(p["id"])
        assert r.status_code == 200 and r.text.startswith("<svg") and p["id"] in r.text
        b = world.c.http.get(f"{world.system.url('provider_arm')}/api/v1/processes/{p['id']}/bpmn")
        assert b.status_code == 200 and b.headers["content-type"].startswith("application/xml")
        assert f'<bpmn:process id="{p["id"]}"' in b.text
    assert world.diagram("S9-nowhere").status_code == 404
