"""The provider workstation's engine on an in-memory database, with the clock injected (``now``)."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from services.provider_arm import engine
from shared.regulations import processes
from services.provider_arm.models import Alert, Base, Case, Operator, Task
from shared.calendar import ALMATY, CALENDAR
from shared.errors import ApiError
from shared.regulations import providers

# Monday 2 February 2026, 10:00 Almaty — an ordinary working day
MONDAY = datetime(2026, 2, 2, 10, 0, tzinfo=ALMATY)


class FakeOutbox:
    def __init__(self):
        self.sent: list[dict] = []

    def enqueue(self, s, **kw):
        self.sent.append(kw)


class FakeRt:
    def __init__(self):
        self.outbox = FakeOutbox()


def run(coro_fn):
    async def main():
        db = create_async_engine("sqlite+aiosqlite://")
        async with db.begin() as c:
            await c.run_sync(Base.metadata.create_all)
        sm = async_sessionmaker(db, expire_on_commit=False)
        try:
            async with sm() as s:
                async with s.begin():
                    return await coro_fn(s, FakeRt())
        finally:
            await db.dispose()

    return asyncio.run(main())


def op(username: str, provider: str, *roles: str) -> Operator:
    return Operator(username=username, password_hash="x", full_name=username.upper(), iin="800115301010",
                    provider_bin=providers()[provider].bin, roles=list(roles))


async def open_(s, rt, code, region, subtype="issue", form=None, now=MONDAY, rid="r1") -> Case:
    doc = {"service_code": code, "region": region, "subtype": subtype, "iin_bin": "860717450455", "language": "ru",
           "form": form or {}}
    return await engine.open_case(s, rt, {"request_id": rid, "application_number": f"EL-{rid}", "document": doc,
                                          "signature": "sig"}, now)


async def open_task(s, case) -> Task:
    return await s.scalar(select(Task).where(Task.case_id == case.id, Task.status == "OPEN"))


async def do(s, rt, task, operator, decision, now, **kw) -> Task | None:
    return await engine.complete(s, rt, task=task, operator=operator, decision=decision, comment=kw.get("comment"),
                                 data=kw.get("data"), signed=kw.get("signed"), now=now)


def test_duplicate_skips_the_inspection_and_has_its_own_limits():
    async def body(s, rt):
        clerk, head = op("c", "mangistau-transport", "clerk"), op("h", "mangistau-transport", "head")
        ex = op("e", "mangistau-transport", "executor")
        s.add_all([clerk, head, ex])
        case = await open_(s, rt, "S1", "mangistau", "duplicate", {"licence_number": "LIC-MNG-2026-000001"})
        assert case.deadline_at == CALENDAR.deadline(MONDAY, 4, "working_days")
        t = await open_task(s, case)
        assert t.due_at == CALENDAR.deadline(MONDAY, 15, "minutes")
        t = await do(s, rt, t, clerk, "registered", MONDAY)
        t = await do(s, rt, t, head, "assigned", MONDAY, data={"assignee": "e"})
        t = await do(s, rt, t, ex, "documents_ok", MONDAY)
        assert t.step_key == "prepare"  # the Inspection is only for issue
        assert t.due_at == CALENDAR.deadline(MONDAY, 3, "hours")
        await do(s, rt, t, ex, "prepared", MONDAY)
        assert case.draft_result["number"] == "LIC-MNG-2026-000001"
        assert case.draft_result["subtype"] == "duplicate"

    run(body)


def test_inspection_act_does_not_conform_is_a_reasoned_refusal():
    async def body(s, rt):
        clerk, head = op("c", "mangistau-transport", "clerk"), op("h", "mangistau-transport", "head")
        ex, insp = op("e", "mangistau-transport", "executor"), op("i", "mangistau-transport", "inspection")
        s.add_all([clerk, head, ex, insp])
        case = await open_(s, rt, "S1", "mangistau", "issue")
        assert case.deadline_at == CALENDAR.deadline(MONDAY, 15, "working_days")
        t = await do(s, rt, await open_task(s, case), clerk, "registered", MONDAY)
        t = await do(s, rt, t, head, "assigned", MONDAY, data={"assignee": "e"})
        t = await do(s, rt, t, ex, "documents_ok", MONDAY)
        assert (t.step_key, t.role) == ("inspection", "inspection")
        assert t.due_at == CALENDAR.deadline(MONDAY, 10, "working_days")
        assert "does_not_conform" in engine.allowed_decisions(processes.find("S1", "mangistau").step("inspection"))
        with pytest.raises(ApiError) as e:
            await do(s, rt, t, insp, "does_not_conform", MONDAY)
        assert e.value.code == "TASK_DATA_INVALID"
        insp_task = t
        t = await do(s, rt, t, insp, "does_not_conform", MONDAY, comment="Нет стоянки для автобусов")
        assert insp_task.data["inspection_act"]["result"] == "does_not_conform"
        assert case.outcome == "refusal"
        await do(s, rt, t, ex, "prepared", MONDAY)
        assert case.draft_result["kind"] == "refusal" and "стоянки" in case.draft_result["reason"]
        assert case.draft_result["inspection_act"]["result"] == "does_not_conform"

    run(body)


def test_deputy_acts_for_the_head_only_where_allowed():
    async def body(s, rt):
        clerk, deputy = op("c", "zhambyl-transport", "clerk"), op("d", "zhambyl-transport", "deputy_head")
        s.add_all([clerk, deputy])
        case = await open_(s, rt, "S1", "zhambyl", "reissue")
        t = await do(s, rt, await open_task(s, case), clerk, "registered", MONDAY)
        assert t.step_key == "review" and engine.may_act(deputy, t, case)
        t = await do(s, rt, t, deputy, "forwarded", MONDAY)
        assert t.step_key == "assign" and not engine.may_act(deputy, t, case)
        # Mangistau allows no deputy
        case2 = await open_(s, rt, "S2", "mangistau", rid="r2")
        t2 = Task(case_id=case2.id, step_key="review", step_no=2, role="head", status="OPEN", created_at=MONDAY)
        assert not engine.may_act(op("d2", "mangistau-transport", "deputy_head"), t2, case2)

    run(body)


def test_aktobe_preparation_does_not_count_the_day_of_receipt():
    async def body(s, rt):
        clerk, head, ex = (op("c", "aktobe-construction", "clerk"), op("h", "aktobe-construction", "head"),
                           op("e", "aktobe-construction", "executor"))
        s.add_all([clerk, head, ex])
        case = await open_(s, rt, "S3", "aktobe", "reissue_name_change", {"licence_number": "X-1"})
        # 2 wd after the day of receipt (Monday, not counted): Tue, Wed
        assert case.deadline_at == datetime(2026, 2, 4, 18, 0, tzinfo=ALMATY)
        t = await do(s, rt, await open_task(s, case), clerk, "registered", MONDAY)
        assert t.due_at == datetime(2026, 2, 2, 11, 0, tzinfo=ALMATY)  # head: 1 hour
        t = await do(s, rt, t, head, "assigned", MONDAY, data={"assignee": "e"})
        assert t.due_at == datetime(2026, 2, 2, 18, 0, tzinfo=ALMATY)  # check: 1 wd
        t = await do(s, rt, t, ex, "documents_ok", MONDAY)
        # re-issue on a change of name: 2 wd, the day of receipt (Monday) not counted → Wednesday 18:00
        assert t.due_at == datetime(2026, 2, 4, 18, 0, tzinfo=ALMATY)

    run(body)


def test_s6_testing_is_scheduled_notified_and_held():
    async def body(s, rt):
        clerk, head, ex = (op("c", "aktobe-construction", "clerk"), op("h", "aktobe-construction", "head"),
                           op("e", "aktobe-construction", "executor"))
        s.add_all([clerk, head, ex])
        case = await open_(s, rt, "S6", "aktobe")
        t = await do(s, rt, await open_task(s, case), clerk, "registered", MONDAY)
        t = await do(s, rt, t, head, "assigned", MONDAY, data={"assignee": "e"})
        assert t.due_at == CALENDAR.deadline(MONDAY, 25, "working_days")
        with pytest.raises(ApiError):
            await do(s, rt, t, ex, "scheduled", MONDAY, data={})
        testing_at = datetime(2026, 3, 10, 10, 0, tzinfo=ALMATY)
        t = await do(s, rt, t, ex, "scheduled", MONDAY, data={"testing_at": testing_at.isoformat()})
        notice = case.draft_result
        assert notice["kind"] == "testing_notice" and notice["testing_at"] == "2026-03-10T10:00:00+05:00"
        with pytest.raises(ApiError, match="SIGNATURE_REQUIRED"):
            await do(s, rt, t, head, "signed", MONDAY)
        t = await do(s, rt, t, head, "signed", MONDAY,
                     signed={"kind": "testing_notice", "document": notice, "signature": "cms"})
        assert t.step_key == "notify"
        t = await do(s, rt, t, ex, "notified", MONDAY)
        assert "2026-03-10T10:00:00+05:00" in rt.outbox.sent[-1]["data"]["note"]
        # the applicant gets the notice as a signed document
        assert rt.outbox.sent[-1]["data"]["notice"] == {"kind": "testing_notice", "document": notice, "signature": "cms"}
        assert t.step_key == "testing" and t.due_at == testing_at
        t = await do(s, rt, t, ex, "passed", testing_at)
        await do(s, rt, t, ex, "prepared", testing_at)
        assert case.draft_result["kind"] == "attestat" and case.draft_result["testing_at"].startswith("2026-03-10")

    run(body)


def test_overdue_task_raises_one_alert_for_the_head_and_tells_the_portal():
    async def body(s, rt):
        case = await open_(s, rt, "S2", "almaty")
        t = await open_task(s, case)
        assert t.due_at == MONDAY + timedelta(minutes=5)
        assert await engine.check_overdue(s, rt, MONDAY + timedelta(minutes=4)) == []
        alerts = await engine.check_overdue(s, rt, MONDAY + timedelta(minutes=30))
        assert len(alerts) == 1 and alerts[0].role == "head" and alerts[0].task_id == t.id
        assert t.overdue_at == MONDAY + timedelta(minutes=30)
        assert "Срок этапа нарушен" in rt.outbox.sent[-1]["data"]["note"]
        assert await engine.check_overdue(s, rt, MONDAY + timedelta(hours=3)) == []  # reported once
        assert len(list(await s.scalars(select(Alert)))) == 1

    run(body)
