"""Every regional variant's process replayed step by step on a fixed clock, each step's due time
worked out by hand from the seed's text in the comment beside it — never recomputed from the
definition's limits by the code under test.

The engine runs on an in-memory database with the clock injected (``tests/unit/test_engine.py``).
Working time (REFERENCE.md §6): Mon–Fri 09:00–13:00 and 14:00–18:00, Asia/Almaty. "N рабочих дней"
from a moment of a working day ends at 18:00 of the N-th working day, that day being the first
(unless the seed excludes the day of receipt). February 2026 has no holidays: Mon 2, Tue 3, Wed 4,
Thu 5, Fri 6, Mon 9 … Fri 27 are its 20 working days. In March, Sunday 8 March is moved to Monday 9
March, so Mon 2 – Fri 6 and Tue 10 – … are working days.

A deadline whose variant's ``[deadlines] source`` is "simulator" is the simulator's estimate (the
sum of the seed's step limits, as the variant's file says), worked out the same way."""
from __future__ import annotations

from datetime import datetime

from services.provider_arm import engine
from shared.calendar import ALMATY

from .test_engine import do, op, open_task, run


def feb(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 2, day, hour, minute, tzinfo=ALMATY)


def mar(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=ALMATY)


async def open_case(s, rt, code: str, region: str, now: datetime, subtype: str = "issue", channel: str = "portal",
                    form: dict | None = None):
    doc = {"service_code": code, "region": region, "subtype": subtype, "iin_bin": "860717450455", "language": "ru",
           "form": form or {}}
    return await engine.open_case(s, rt, {"request_id": f"r-{code}-{region}-{subtype}-{channel}",
                                          "application_number": f"EL-{code}-{region}", "document": doc,
                                          "signature": "sig", "channel": channel}, now)


class Replay:
    """Walks one case: each ``step`` asserts the open task's step and due time, then acts."""

    def __init__(self, s, rt, case):
        self.s, self.rt, self.case = s, rt, case
        self.task = None

    async def step(self, key: str, due: datetime | None, operator, decision: str, now: datetime, **kw):
        task = self.task or await open_task(self.s, self.case)
        assert (task.step_key, task.due_at) == (key, due), f"{key}: {task.step_key} due {task.due_at}, not {due}"
        if kw.pop("sign", False):
            kw["signed"] = {"kind": self.case.draft_result["kind"], "document": self.case.draft_result,
                            "signature": "cms"}
        self.task = await do(self.s, self.rt, task, operator, decision, now, **kw)
        return self.task


def test_s1_mangistau_licence_with_the_inspection():
    # seed 000, first regulation, п. 7. Received Mon 2 Feb 10:00.
    async def body(s, rt):
        staff = [op("c", "mangistau-transport", "clerk"), op("h", "mangistau-transport", "head"),
                 op("e", "mangistau-transport", "executor"), op("i", "mangistau-transport", "inspection")]
        s.add_all(staff)
        clerk, head, ex, insp = staff
        case = await open_case(s, rt, "S1", "mangistau", feb(2, 10))
        # simulator's estimate for a new licence: 15 working days from Mon 2 Feb: 2–6, 9–13, 16–20 → Fri 20 Feb
        assert case.deadline_at == feb(20, 18)
        r = Replay(s, rt, case)
        # пп. 1) the clerk registers — 15 minutes: 10:00 + 15 min
        await r.step("register", feb(2, 10, 15), clerk, "registered", feb(2, 10, 10))
        # пп. 2) the head reviews and names the executor — 1 working day, from Mon 10:10 → Mon 18:00
        await r.step("assign", feb(2, 18), head, "assigned", feb(2, 16), data={"assignee": "e"})
        # пп. 3) the executor checks the package — 2 working days from Mon 16:00: Mon, Tue → Tue 3 Feb 18:00
        await r.step("check", feb(3, 18), ex, "documents_ok", feb(3, 11))
        # пп. 4) the Inspection's pre-licence control — 10 working days from Tue 3 Feb 11:00: Tue 3 – Fri 6 (4),
        # Mon 9 – Fri 13 (9), Mon 16 (10) → Mon 16 Feb 18:00
        await r.step("inspection", feb(16, 18), insp, "conforms", feb(13, 12, 30))
        # пп. 5) the executor prepares the licence — 1 working day from Fri 13 Feb 12:30 → Fri 13 Feb 18:00
        await r.step("prepare", feb(13, 18), ex, "prepared", feb(13, 16))
        # пп. 6) the head signs — 30 minutes: 16:00 → 16:30
        await r.step("sign", feb(13, 16, 30), head, "signed", feb(13, 16, 20), sign=True)
        # пп. 7) the clerk hands it over — 15 minutes: 16:20 → 16:35
        assert await r.step("handover", feb(13, 16, 35), clerk, "handed_over", feb(13, 16, 30)) is None
        assert case.status == "COMPLETED" and case.result["document"]["kind"] == "licence"

    run(body)


def test_s1_mangistau_duplicate_skips_the_inspection_and_takes_three_hours_across_lunch():
    # seed 000 п. 7: пп. 3) excludes the duplicate from pre-licence control; пп. 5) a duplicate is
    # prepared in 3 hours. Received Mon 2 Feb 10:00.
    async def body(s, rt):
        staff = [op("c", "mangistau-transport", "clerk"), op("h", "mangistau-transport", "head"),
                 op("e", "mangistau-transport", "executor")]
        s.add_all(staff)
        clerk, head, ex = staff
        case = await open_case(s, rt, "S1", "mangistau", feb(2, 10), "duplicate", form={"licence_number": "X-1"})
        # simulator's estimate for a duplicate: 4 working days: Mon 2 – Thu 5 → Thu 5 Feb 18:00
        assert case.deadline_at == feb(5, 18)
        r = Replay(s, rt, case)
        await r.step("register", feb(2, 10, 15), clerk, "registered", feb(2, 10, 5))
        await r.step("assign", feb(2, 18), head, "assigned", feb(2, 11), data={"assignee": "e"})
        await r.step("check", feb(3, 18), ex, "documents_ok", feb(2, 12, 30))
        # no inspection; 3 working hours from 12:30: 12:30–13:00 (½ h), lunch, 14:00–16:30 → Mon 16:30
        await r.step("prepare", feb(2, 16, 30), ex, "prepared", feb(2, 16))
        await r.step("sign", feb(2, 16, 30), head, "signed", feb(2, 16, 10), sign=True)
        assert await r.step("handover", feb(2, 16, 25), clerk, "handed_over", feb(2, 16, 20)) is None

    run(body)


def test_s1_zhambyl_licence_through_the_portal_and_through_the_con():
    # seed 003 п. 5: clerk 1 hour; head 3 hours; head of the department 2 hours; the specialist reviews
    # and prepares the licence in 13 working days (one procedure, пп. 4)); head signs 3 hours; the
    # result to the personal cabinet in 20 minutes, or by courier to the ЦОН in 4 hours (пп. 6)).
    async def body(s, rt):
        staff = [op("c", "zhambyl-transport", "clerk"), op("h", "zhambyl-transport", "head"),
                 op("d", "zhambyl-transport", "department_head"), op("sp", "zhambyl-transport", "specialist")]
        s.add_all(staff)
        clerk, head, dept, spec = staff
        handover = {}
        for channel in ("portal", "con"):
            case = await open_case(s, rt, "S1", "zhambyl", feb(2, 10), channel=channel)
            # simulator's estimate: 15 working days from Mon 2 Feb → Fri 20 Feb 18:00
            assert case.deadline_at == feb(20, 18)
            r = Replay(s, rt, case)
            # 1 hour: 10:00 → 11:00
            await r.step("register", feb(2, 11), clerk, "registered", feb(2, 10, 30))
            # 3 hours from 10:30: 10:30–13:00 (2½ h), 14:00–14:30 → 14:30
            await r.step("review", feb(2, 14, 30), head, "forwarded", feb(2, 14))
            # 2 hours from 14:00 → 16:00
            await r.step("assign", feb(2, 16), dept, "assigned", feb(2, 15), data={"assignee": "sp"})
            # 13 working days from Mon 2 Feb 15:00: 2–6 (5), 9–13 (10), 16, 17, 18 (13) → Wed 18 Feb 18:00
            await r.step("check", feb(18, 18), spec, "documents_ok", feb(16, 10))
            # the preparation is the same procedure: due when the review was, Wed 18 Feb 18:00
            await r.step("prepare", feb(18, 18), spec, "prepared", feb(17, 11))
            # 3 hours from Tue 17 Feb 11:00: 11:00–13:00 (2 h), 14:00–15:00 → 15:00
            await r.step("sign", feb(17, 15), head, "signed", feb(17, 14, 30), sign=True)
            handover[channel] = (await open_task(s, case)).due_at
        # the cabinet: 20 minutes from 14:30 → 14:50; the ЦОН: 4 hours from 14:30: 14:30–18:00 (3½ h), then
        # Wed 09:00–09:30 → Wed 18 Feb 09:30
        assert handover == {"portal": feb(17, 14, 50), "con": feb(18, 9, 30)}

    run(body)


def test_s2_zhambyl_certificate_received_late_in_the_day():
    # seed 003 п. 5 (S2): clerk 15 minutes; head 2 hours; head of the department 1 hour; the specialist
    # reviews and prepares the certificate in 1 working day; head signs 2 hours; the cabinet 20 minutes,
    # the courier to the ЦОН 2 hours. Received Mon 2 Feb 16:50.
    async def body(s, rt):
        staff = [op("c", "zhambyl-transport", "clerk"), op("h", "zhambyl-transport", "head"),
                 op("d", "zhambyl-transport", "department_head"), op("sp", "zhambyl-transport", "specialist")]
        s.add_all(staff)
        clerk, head, dept, spec = staff
        handover = {}
        for channel in ("portal", "con"):
            case = await open_case(s, rt, "S2", "zhambyl", feb(2, 16, 50), channel=channel)
            # simulator's estimate: 2 working days: Mon, Tue → Tue 3 Feb 18:00
            assert case.deadline_at == feb(3, 18)
            r = Replay(s, rt, case)
            # 15 minutes from 16:50 → 17:05
            await r.step("register", feb(2, 17, 5), clerk, "registered", feb(2, 17))
            # 2 hours from 17:00: 17:00–18:00 (1 h), Tue 09:00–10:00 → Tue 3 Feb 10:00
            await r.step("review", feb(3, 10), head, "forwarded", feb(3, 9, 30))
            # 1 hour from 09:30 → 10:30
            await r.step("assign", feb(3, 10, 30), dept, "assigned", feb(3, 10), data={"assignee": "sp"})
            # 1 working day from Tue 10:00 → Tue 3 Feb 18:00; the preparation within the same term
            await r.step("check", feb(3, 18), spec, "documents_ok", feb(3, 12))
            await r.step("prepare", feb(3, 18), spec, "prepared", feb(3, 15))
            # 2 hours from 15:00 → 17:00
            await r.step("sign", feb(3, 17), head, "signed", feb(3, 16, 30), sign=True)
            handover[channel] = (await open_task(s, case)).due_at
        # the cabinet: 16:30 + 20 min → 16:50; the ЦОН: 2 hours from 16:30: 16:30–18:00, Wed 09:00–09:30
        assert handover == {"portal": feb(3, 16, 50), "con": feb(4, 9, 30)}

    run(body)


def test_s2_mangistau_certificate_with_a_late_resolution():
    # seed 000, second regulation, п. 7: clerk 15 minutes; head 1 working day; head of the department 1
    # working day; the executor reviews and prepares the result in 2 working days; head signs 15 minutes;
    # the clerk sends it 15 minutes. Received Mon 2 Feb 10:00.
    async def body(s, rt):
        staff = [op("c", "mangistau-transport", "clerk"), op("h", "mangistau-transport", "head"),
                 op("d", "mangistau-transport", "department_head"), op("e", "mangistau-transport", "executor")]
        s.add_all(staff)
        clerk, head, dept, ex = staff
        case = await open_case(s, rt, "S2", "mangistau", feb(2, 10))
        # simulator's estimate: 5 working days: Mon 2 – Fri 6 → Fri 6 Feb 18:00
        assert case.deadline_at == feb(6, 18)
        r = Replay(s, rt, case)
        await r.step("register", feb(2, 10, 15), clerk, "registered", feb(2, 10, 12))
        # 1 working day from Mon 10:12 → Mon 18:00
        await r.step("review", feb(2, 18), head, "forwarded", feb(2, 17))
        # 1 working day from Mon 17:00 → Mon 18:00 (the resolution comes late, Tue 09:30)
        await r.step("assign", feb(2, 18), dept, "assigned", feb(3, 9, 30), data={"assignee": "e"})
        # 2 working days from Tue 09:30: Tue, Wed → Wed 4 Feb 18:00, the preparation within it
        await r.step("check", feb(4, 18), ex, "documents_ok", feb(4, 10))
        await r.step("prepare", feb(4, 18), ex, "prepared", feb(4, 11))
        await r.step("sign", feb(4, 11, 15), head, "signed", feb(4, 11, 10), sign=True)
        assert await r.step("handover", feb(4, 11, 25), clerk, "handed_over", feb(4, 11, 20)) is None

    run(body)


def test_s2_almaty_certificate_registered_at_the_end_of_the_morning():
    # seed 001 п. 9: clerk 5 minutes; the head's resolution (no time given); the specialist checks the
    # documents 1 working day, prepares the result 15 minutes; the head signs 15 minutes; the result is
    # handed over 10 minutes. п. 11: the certificate within 2 working days "без учета приема документов".
    # Received Mon 2 Feb 12:55.
    async def body(s, rt):
        staff = [op("c", "almaty-transport", "clerk"), op("h", "almaty-transport", "head"),
                 op("sp", "almaty-transport", "specialist")]
        s.add_all(staff)
        clerk, head, spec = staff
        case = await open_case(s, rt, "S2", "almaty", feb(2, 12, 55))
        # the seed's deadline: Monday (acceptance) not counted; Tue, Wed → Wed 4 Feb 18:00
        assert case.deadline_at == feb(4, 18)
        r = Replay(s, rt, case)
        # 5 minutes from 12:55 end with the morning: 13:00
        await r.step("register", feb(2, 13), clerk, "registered", feb(2, 12, 58))
        await r.step("assign", None, head, "assigned", feb(2, 15), data={"assignee": "sp"})
        # 1 working day from Mon 15:00 → Mon 18:00 (checked late, Tue 10:00)
        await r.step("check", feb(2, 18), spec, "documents_ok", feb(3, 10))
        await r.step("prepare", feb(3, 10, 15), spec, "prepared", feb(3, 10, 10))
        await r.step("sign", feb(3, 10, 25), head, "signed", feb(3, 10, 20), sign=True)
        assert await r.step("handover", feb(3, 10, 30), clerk, "handed_over", feb(3, 10, 25)) is None

    run(body)


def aktobe(s):
    staff = [op("c", "aktobe-construction", "clerk"), op("h", "aktobe-construction", "head"),
             op("e", "aktobe-construction", "executor")]
    s.add_all(staff)
    return staff


def test_s3_aktobe_licence_counted_without_the_day_of_receipt():
    # seed 002 п. 5 (S3): clerk 15 minutes; head 1 hour; the executor checks the package 1 working day;
    # prepares the licence in 4 working days "(день приема заявлений и документов не входит в срок)";
    # the head signs (no time given) and the result goes to the personal cabinet. Received Mon 2 Feb 10:00.
    async def body(s, rt):
        clerk, head, ex = aktobe(s)
        case = await open_case(s, rt, "S3", "aktobe", feb(2, 10))
        # Monday not counted: Tue 3, Wed 4, Thu 5, Fri 6 → Fri 6 Feb 18:00
        assert case.deadline_at == feb(6, 18)
        r = Replay(s, rt, case)
        await r.step("register", feb(2, 10, 15), clerk, "registered", feb(2, 10, 10))
        # 1 hour from 10:10 → 11:10
        await r.step("assign", feb(2, 11, 10), head, "assigned", feb(2, 11), data={"assignee": "e"})
        # 1 working day from Mon 11:00 → Mon 18:00
        await r.step("check", feb(2, 18), ex, "documents_ok", feb(2, 17))
        # the 4 days from the day of receipt, that day excluded → Fri 6 Feb 18:00
        await r.step("prepare", feb(6, 18), ex, "prepared", feb(5, 12))
        await r.step("sign", None, head, "signed", feb(5, 15), sign=True)
        assert await r.step("deliver", None, head, "delivered", feb(5, 15, 5)) is None
        assert case.status == "COMPLETED"

    run(body)


def test_s4_aktobe_reissue_received_on_friday_evening():
    # seed 002 п. 5 (S4): a re-issue on re-registration of an individual entrepreneur is prepared in 2
    # working days, the day of receipt not counted. Received Fri 6 Feb 19:00, after hours: the day of
    # receipt is Mon 9 Feb.
    async def body(s, rt):
        clerk, head, ex = aktobe(s)
        case = await open_case(s, rt, "S4", "aktobe", feb(6, 19), "reissue_entrepreneur",
                               form={"licence_number": "X-1"})
        # Mon 9 not counted: Tue 10, Wed 11 → Wed 11 Feb 18:00
        assert case.deadline_at == feb(11, 18)
        r = Replay(s, rt, case)
        # 15 minutes from the next working moment, Mon 09:00 → 09:15
        await r.step("register", feb(9, 9, 15), clerk, "registered", feb(9, 9, 10))
        await r.step("assign", feb(9, 10, 10), head, "assigned", feb(9, 10), data={"assignee": "e"})
        await r.step("check", feb(9, 18), ex, "documents_ok", feb(9, 14))
        await r.step("prepare", feb(11, 18), ex, "prepared", feb(10, 16))

    run(body)


def test_s5_aktobe_incomplete_package_refused_within_the_days_check():
    # seed 002 п. 5 пп. 3) абз. 1 (S5): on an incomplete package the executor "подготавливает
    # мотивированный ответ об отказе в дальнейшем рассмотрении заявления и направляет на подпись
    # руководителю - 1 рабочий день": the refusal is drafted within the check's day. Received Mon 2 Feb
    # 10:00; check from 11:00 → Mon 18:00; the refusal found at 15:00 is due Mon 18:00 too (not the 4 days of
    # a licence, Fri 6 Feb).
    async def body(s, rt):
        clerk, head, ex = aktobe(s)
        case = await open_case(s, rt, "S5", "aktobe", feb(2, 10))
        r = Replay(s, rt, case)
        await r.step("register", feb(2, 10, 15), clerk, "registered", feb(2, 10, 10))
        await r.step("assign", feb(2, 11, 10), head, "assigned", feb(2, 11), data={"assignee": "e"})
        await r.step("check", feb(2, 18), ex, "refuse", feb(2, 15), comment="нет копии лицензии субподрядчика")
        await r.step("prepare", feb(2, 18), ex, "prepared", feb(2, 16))
        assert case.draft_result["kind"] == "refusal"
        # the refusal's term of the service: 4 working days, receipt day excluded → Fri 6 Feb 18:00
        assert case.deadline_at == feb(6, 18)

    run(body)


def test_s5_aktobe_reasoned_refusal_at_the_preparation():
    # seed 002 п. 5 пп. 3) абз. 2 (S5): after a complete package the executor prepares "лицензию … либо
    # мотивированный ответ об отказе согласно пункта 10 Стандарта" within the 4 days → Fri 6 Feb 18:00.
    async def body(s, rt):
        clerk, head, ex = aktobe(s)
        case = await open_case(s, rt, "S5", "aktobe", feb(2, 10))
        r = Replay(s, rt, case)
        await r.step("register", feb(2, 10, 15), clerk, "registered", feb(2, 10, 10))
        await r.step("assign", feb(2, 11, 10), head, "assigned", feb(2, 11), data={"assignee": "e"})
        await r.step("check", feb(2, 18), ex, "documents_ok", feb(2, 12))
        await r.step("prepare", feb(6, 18), ex, "refuse", feb(4, 10), comment="не соответствует требованиям")
        await r.step("sign", None, head, "signed", feb(4, 11), sign=True)
        assert await r.step("deliver", None, head, "delivered", feb(4, 11, 5)) is None
        assert case.status == "REFUSED" and case.result["document"]["kind"] == "refusal"
        assert case.deadline_at == feb(6, 18)

    run(body)


def test_s6_aktobe_attestat_with_the_testing_recorded_late():
    # seed 002, S6 п. 5: clerk 15 minutes; head 1 working day; the executor reviews the documents and
    # draws up the testing schedule in 25 working days; the head signs it 1 working day; the executor
    # sends the notices 1 working day; the testing "в установленное время"; the attestat or the refusal
    # prepared 1 working day and signed 1 working day. Received Mon 2 Feb 10:00.
    async def body(s, rt):
        clerk, head, ex = aktobe(s)
        case = await open_case(s, rt, "S6", "aktobe", feb(2, 10))
        # simulator's estimate: 31 working days: February's 20 (→ Fri 27), Mar 2–6 (25), Tue 10 – Fri 13 (29),
        # Mon 16 (30), Tue 17 (31) → Tue 17 Mar 18:00
        assert case.deadline_at == mar(17, 18)
        r = Replay(s, rt, case)
        await r.step("register", feb(2, 10, 15), clerk, "registered", feb(2, 10, 10))
        await r.step("assign", feb(2, 18), head, "assigned", feb(2, 11), data={"assignee": "e"})
        # 25 working days from Mon 2 Feb 11:00: February's 20 (→ Fri 27 Feb), Mar 2, 3, 4, 5, 6 → Fri 6 Mar 18:00
        testing_at = mar(10, 10)
        await r.step("review", mar(6, 18), ex, "scheduled", feb(3, 10), data={"testing_at": testing_at.isoformat()})
        # the result after the testing: 1 + 1 working days from Tue 10 Mar 10:00 → Tue 10, Wed 11 → Wed 11 Mar 18:00
        assert case.deadline_at == mar(11, 18)
        # the head signs the schedule and notices — 1 working day from Tue 3 Feb 10:00 → Tue 18:00
        await r.step("sign_schedule", feb(3, 18), head, "signed", feb(4, 10), sign=True)
        # the notices — 1 working day from Wed 4 Feb 10:00 → Wed 18:00
        await r.step("notify", feb(4, 18), ex, "notified", feb(4, 11))
        # the testing is due at its scheduled time; its outcome recorded late, Thu 12 Mar 09:30
        await r.step("testing", testing_at, ex, "passed", mar(12, 9, 30))
        # the deadline stays the scheduled testing's: Wed 11 Mar 18:00
        assert case.deadline_at == mar(11, 18)
        # 1 working day from Thu 12 Mar 09:30 → Thu 18:00, then the signature likewise
        await r.step("prepare", mar(12, 18), ex, "prepared", mar(12, 12))
        await r.step("sign", mar(12, 18), head, "signed", mar(12, 15), sign=True)
        assert await r.step("deliver", None, head, "delivered", mar(12, 15, 5)) is None

    run(body)


def test_s7_aktobe_accreditation_across_lunch():
    # seed 002, S7 п. 5: clerk 10 minutes; head 10 minutes; the executor checks and prepares the
    # certificate 10 minutes; the head signs and sends it 10 minutes. Received Mon 2 Feb 12:45.
    async def body(s, rt):
        clerk, head, ex = aktobe(s)
        case = await open_case(s, rt, "S7", "aktobe", feb(2, 12, 45))
        # simulator's estimate: 40 working minutes from 12:45: 12:45–13:00 (15), 14:00–14:25 → 14:25
        assert case.deadline_at == feb(2, 14, 25)
        r = Replay(s, rt, case)
        await r.step("register", feb(2, 12, 55), clerk, "registered", feb(2, 12, 50))
        # 10 minutes from 12:50 → 13:00
        await r.step("assign", feb(2, 13), head, "assigned", feb(2, 12, 58), data={"assignee": "e"})
        # 10 minutes from 12:58: 12:58–13:00 (2), 14:00–14:08 → 14:08; the preparation in the same term
        await r.step("check", feb(2, 14, 8), ex, "conforms", feb(2, 14, 5))
        await r.step("prepare", feb(2, 14, 8), ex, "prepared", feb(2, 14, 7))
        # 10 minutes from 14:07 → 14:17, sending in the same term
        await r.step("sign", feb(2, 14, 17), head, "signed", feb(2, 14, 15), sign=True)
        assert await r.step("deliver", feb(2, 14, 17), head, "delivered", feb(2, 14, 16)) is None

    run(body)


def test_every_note_to_the_applicant_is_in_kazakh_too():
    # the seeds render the service in Kazakh or Russian (003, 004 are the Kazakh texts): every status
    # the provider tells the cabinet carries its step and its note in both languages
    async def body(s, rt):
        staff = [op("c", "almaty-transport", "clerk"), op("h", "almaty-transport", "head"),
                 op("sp", "almaty-transport", "specialist")]
        s.add_all(staff)
        clerk, head, spec = staff
        case = await open_case(s, rt, "S2", "almaty", feb(2, 10))
        r = Replay(s, rt, case)
        await r.step("register", feb(2, 10, 5), clerk, "registered", feb(2, 10, 1))
        await r.step("assign", None, head, "assigned", feb(2, 11), data={"assignee": "sp"})
        await r.step("check", feb(2, 18), spec, "refuse", feb(2, 12), comment="карта просрочена")
        told = [m["data"] for m in rt.outbox.sent]
        assert all(d.get("note") and d.get("note_kk") for d in told)
        assert told[0]["note_kk"] == "Өтініш көрсетілетін қызметті берушінің РШЭП АЖО-на келіп түсті"
        # a decision reads as its title in the definition, with the operator's reasons
        assert told[-1]["note"] == "мотивированный отказ: карта просрочена"
        assert told[-1]["note_kk"] == "дәлелді бас тарту: карта просрочена"
        assert told[-1]["step_kk"].startswith("3. ")

    run(body)
