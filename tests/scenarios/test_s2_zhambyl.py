"""S2 Zhambyl (seed 003, first regulation, п. 5): certificate, its duplicate, and a refusal letter."""
from __future__ import annotations

import pytest

from .harness import at, expected_due

pytestmark = pytest.mark.integration


def work(w, run, check="documents_ok", **kw):
    w.act(run, "zhm-clerk", "register", "registered")
    w.act(run, "zhm-head", "review", "forwarded")
    w.act(run, "zhm-dept-head", "assign", "assigned", data={"assignee": "zhm-specialist"})
    w.act(run, "zhm-specialist", "check", check, **kw)
    w.act(run, "zhm-specialist", "prepare", "prepared")
    w.act(run, "zhm-deputy", "sign", "signed", sign=True)
    w.act(run, "zhm-clerk", "handover", "handed_over")


def test_certificate_duplicate_and_refusal(world):
    who = world.applicant()
    run = world.submit(who, "S2", "zhambyl")
    work(world, run)
    world.wait(who, run, {"COMPLETED"})
    t = run.task
    assert at(t("review")["due_at"]) == expected_due(t("review"), 2, "hours")
    assert at(t("assign")["due_at"]) == expected_due(t("assign"), 1, "hours")
    assert at(t("check")["due_at"]) == expected_due(t("check"), 1, "working_days")
    assert t("prepare")["due_at"] == t("check")["due_at"]  # one procedure of п. 5 пп. 4), one term
    assert at(t("sign")["due_at"]) == expected_due(t("sign"), 2, "hours")
    assert at(t("handover")["due_at"]) == expected_due(t("handover"), 20, "minutes")
    number = world.result(who, run)["document"]["number"]
    assert number.startswith("ITI-ZHM-")

    dup = world.submit(who, "S2", "zhambyl", "duplicate", dict(world.service("S2")["example"], licence_number=number))
    work(world, dup)
    world.wait(who, dup, {"COMPLETED"})
    assert world.result(who, dup)["document"]["number"] == number
    assert [h["event"] for h in world.history(number)] == ["issued", "duplicated"]

    ref = world.submit(who, "S2", "zhambyl")
    work(world, ref, "refuse", comment="Пакет документов неполный")
    world.wait(who, ref, {"REFUSED"})
    assert world.result(who, ref)["kind"] == "refusal"
