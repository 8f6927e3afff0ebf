"""What the seeds say, computed by hand from their text — not recomputed from the limits by the code
under test. Each expected time is worked out in the comment beside it. February 2026 in Almaty:
Mon 2, Tue 3, Wed 4, Thu 5, Fri 6, Mon 9 … are working days (no holidays), 9:00–18:00."""
from __future__ import annotations

from datetime import datetime

from services.portal import catalogue
from shared import regulations
from shared.calendar import ALMATY

from .test_engine import do, op, open_, open_task, run

MON_10 = datetime(2026, 2, 2, 10, 0, tzinfo=ALMATY)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 2, day, hour, minute, tzinfo=ALMATY)


def aktobe_staff(s):
    staff = (op("c", "aktobe-construction", "clerk"), op("h", "aktobe-construction", "head"),
             op("e", "aktobe-construction", "executor"))
    s.add_all(staff)
    return staff


def test_aktobe_preparation_is_counted_from_the_day_of_receipt_not_from_a_late_check():
    # seed 002 п. 5 пп. 3): a re-issue on a change of name is prepared in "2 рабочих дня (день приема
    # заявлений и документов не входит в срок оказания государственной услуги)". Received Monday 2 Feb
    # 10:00: Monday is not counted; the 2 days are Tue 3 and Wed 4 → Wed 4 Feb 18:00. The check is done
    # late, on Tuesday 15:00: the term of the preparation still ends Wednesday 18:00 (counted from the
    # step's own start it would end Thursday 5 Feb).
    async def body(s, rt):
        clerk, head, ex = aktobe_staff(s)
        case = await open_(s, rt, "S3", "aktobe", "reissue_name_change", {"licence_number": "X-1"}, now=MON_10)
        assert case.deadline_at == at(4, 18)
        t = await do(s, rt, await open_task(s, case), clerk, "registered", MON_10)
        t = await do(s, rt, t, head, "assigned", MON_10, data={"assignee": "e"})
        t = await do(s, rt, t, ex, "documents_ok", at(3, 15))
        assert t.step_key == "prepare" and t.due_at == at(4, 18)

    run(body)


def test_aktobe_issue_received_on_friday_evening_counts_from_tuesday():
    # Received Friday 6 Feb 19:00, after working hours: the day of receipt is Monday 9 Feb, not counted;
    # a new licence takes 4 working days: Tue 10, Wed 11, Thu 12, Fri 13 → Fri 13 Feb 18:00.
    async def body(s, rt):
        aktobe_staff(s)
        case = await open_(s, rt, "S4", "aktobe", "issue", now=at(6, 19))
        assert case.deadline_at == at(13, 18)

    run(body)


def test_aktobe_reasoned_refusal_under_p10_is_decided_at_the_preparation():
    # seed 002 п. 5 пп. 3): the executor "подготавливает лицензию … либо мотивированный ответ об отказе
    # согласно пункта 10 Стандарта" within the 4 days: a refusal there, after a complete package.
    async def body(s, rt):
        clerk, head, ex = aktobe_staff(s)
        case = await open_(s, rt, "S5", "aktobe", "issue", now=MON_10)
        t = await do(s, rt, await open_task(s, case), clerk, "registered", MON_10)
        t = await do(s, rt, t, head, "assigned", MON_10, data={"assignee": "e"})
        t = await do(s, rt, t, ex, "documents_ok", MON_10)
        t = await do(s, rt, t, ex, "refuse", at(3, 11), comment="не соответствует квалификационным требованиям")
        assert t.step_key == "sign"
        assert case.outcome == "refusal" and case.draft_result["kind"] == "refusal"
        assert case.draft_result["reason"] == "не соответствует квалификационным требованиям"

    run(body)


def test_almaty_refusal_received_at_half_past_five_is_due_the_next_day():
    # seed 001 п. 11: a reasoned refusal "в течение 1 (одного) рабочего дня", counted "без учета приема
    # документов": received Monday 2 Feb 17:30, Monday is not counted → Tue 3 Feb 18:00 (not Monday
    # 18:00, half an hour later). The certificate: 2 working days → Tue 3, Wed 4 → Wed 4 Feb 18:00.
    async def body(s, rt):
        staff = (op("c", "almaty-transport", "clerk"), op("h", "almaty-transport", "head"),
                 op("sp", "almaty-transport", "specialist"))
        s.add_all(staff)
        clerk, head, spec = staff
        case = await open_(s, rt, "S2", "almaty", now=at(2, 17, 30))
        assert case.deadline_at == at(4, 18)
        t = await do(s, rt, await open_task(s, case), clerk, "registered", at(2, 17, 35))
        t = await do(s, rt, t, head, "assigned", at(2, 17, 40), data={"assignee": "sp"})
        await do(s, rt, t, spec, "refuse", at(3, 9, 30), comment="диагностическая карта просрочена")
        assert case.deadline_at == at(3, 18)

    run(body)


def test_the_applicant_sees_which_deadlines_the_seed_gives_and_which_are_estimated():
    # Only the Almaty regulation states the service's deadlines (seed 001 п. 11); the others refer to
    # п. 4 of the Стандарт, which is not among the seeds: their deadlines are derived, "estimated".
    variants = {(code, v["region"]): v for code, e in catalogue.catalogue().items() for v in [
        x for x in e.public()["variants"]]}
    assert variants[("S2", "almaty")]["deadline_estimated"] is False
    assert variants[("S2", "almaty")]["deadline_source"] == "seed 001 п. 11"
    estimated = {k for k, v in variants.items() if v["deadline_estimated"]}
    assert estimated == set(variants) - {("S2", "almaty")}
    # the invented documents and fee say whose choice they are
    s2 = catalogue.catalogue()["S2"].public()
    assert s2["fee"]["source"] == "simulator"
    assert {d["source"] for d in s2["required_documents"]} == {"simulator"}


def test_mangistau_issues_a_duplicate_of_the_certificate():
    # seed 000, portal diagram, condition 4: "основаниям для выдачи международного сертификата или
    # дубликата международного сертификата" — a duplicate is a kind of request there.
    assert "duplicate" in catalogue.find("S2", "mangistau")[1].subtypes
    assert [t.key for t in regulations.find("S2", "mangistau").subtypes] == ["issue", "duplicate"]


def test_s6_result_is_due_after_the_testing_whether_passed_or_failed():
    # seed 002 приложение 4 п. 5: the testing is held "в установленное время" (the schedule's), then the
    # attestat or the refusal is prepared (1 working day) and signed (1 working day). Testing scheduled
    # for Tue 10 Mar 2026 10:00 (Mon 9 Mar is the holiday of 8 March moved off Sunday): the 2 working
    # days are Tue 10 and Wed 11 → Wed 11 Mar 18:00, for a pass and for a fail alike — not the 29
    # working days of a refusal counted from the receipt in February.
    for outcome in ("passed", "refuse"):
        async def body(s, rt):
            clerk, head, ex = aktobe_staff(s)
            case = await open_(s, rt, "S6", "aktobe", now=MON_10)
            t = await do(s, rt, await open_task(s, case), clerk, "registered", MON_10)
            t = await do(s, rt, t, head, "assigned", MON_10, data={"assignee": "e"})
            testing_at = datetime(2026, 3, 10, 10, 0, tzinfo=ALMATY)
            t = await do(s, rt, t, ex, "scheduled", at(3, 10), data={"testing_at": testing_at.isoformat()})
            assert case.deadline_at == datetime(2026, 3, 11, 18, 0, tzinfo=ALMATY)
            t = await do(s, rt, t, head, "signed", at(4, 10),
                         signed={"kind": "testing_notice", "document": case.draft_result, "signature": "cms"})
            t = await do(s, rt, t, ex, "notified", at(4, 11))
            held = datetime(2026, 3, 10, 12, 0, tzinfo=ALMATY)
            await do(s, rt, t, ex, outcome, held, comment="не сдал тестирование" if outcome == "refuse" else None)
            assert case.deadline_at == datetime(2026, 3, 11, 18, 0, tzinfo=ALMATY)

        run(body)


def test_a_request_written_in_kazakh_gets_its_result_in_kazakh():
    # The seeds render the service in the language of the request (003 and 004 are the Kazakh texts).
    from services.provider_arm import engine

    async def body(s, rt):
        staff = (op("c", "almaty-transport", "clerk"), op("h", "almaty-transport", "head"),
                 op("sp", "almaty-transport", "specialist"))
        s.add_all(staff)
        clerk, head, spec = staff
        results = {}
        for language, rid in (("kk", "r-kk"), ("ru", "r-ru")):
            doc = {"service_code": "S2", "region": "almaty", "subtype": "issue", "iin_bin": "860717450455",
                   "language": language, "form": {}}
            case = await engine.open_case(s, rt, {"request_id": rid, "application_number": f"EL-{rid}",
                                                  "document": doc, "signature": "sig"}, MON_10)
            t = await do(s, rt, await open_task(s, case), clerk, "registered", MON_10)
            t = await do(s, rt, t, head, "assigned", MON_10, data={"assignee": "sp"})
            t = await do(s, rt, t, spec, "refuse", MON_10, comment="карта просрочена")
            await do(s, rt, t, spec, "prepared", MON_10)
            results[language] = case.draft_result
        assert results["kk"]["title"] == "Мемлекеттік қызмет көрсетуден дәлелді бас тарту"
        assert results["kk"]["provider_name"] == regulations.providers()["almaty-transport"].name_kk
        assert results["ru"]["title"] == "Мотивированный отказ в оказании государственной услуги"
        assert results["ru"]["provider_name"] == regulations.providers()["almaty-transport"].name_ru

    run(body)


def test_a_kazakh_certificate_is_titled_in_kazakh():
    # seed 004 п. 4 (the Almaty regulation's Kazakh text): "Халықаралық техникалық байқау сертификаты"
    from services.provider_arm import engine

    async def body(s, rt):
        staff = (op("c", "almaty-transport", "clerk"), op("h", "almaty-transport", "head"),
                 op("sp", "almaty-transport", "specialist"))
        s.add_all(staff)
        clerk, head, spec = staff
        doc = {"service_code": "S2", "region": "almaty", "subtype": "issue", "iin_bin": "860717450455",
               "language": "kk", "form": {}}
        case = await engine.open_case(s, rt, {"request_id": "r", "application_number": "EL-r", "document": doc,
                                              "signature": "sig"}, MON_10)
        t = await do(s, rt, await open_task(s, case), clerk, "registered", MON_10)
        t = await do(s, rt, t, head, "assigned", MON_10, data={"assignee": "sp"})
        t = await do(s, rt, t, spec, "documents_ok", MON_10)
        await do(s, rt, t, spec, "prepared", MON_10)
        assert case.draft_result["title"] == "Халықаралық техникалық байқау сертификаты"
        assert case.draft_result["title_ru"] == "Международный сертификат технического осмотра"

    run(body)


def test_mangistau_review_and_preparation_share_the_two_days_of_one_procedure():
    # seed 000 (S2) п. 7 пп. 4): the executor reviews the documents and prepares the result — one
    # procedure, "2 рабочих дня". The executor gets the case Tue 3 Feb 11:00: Tue is day 1, Wed day 2 →
    # both the review and the preparation are due Wed 4 Feb 18:00. Reviewed Wed 16:00: the preparation
    # is still due Wed 18:00 (two days from the review's end would have been Thu 5 Feb 18:00).
    async def body(s, rt):
        staff = (op("c", "mangistau-transport", "clerk"), op("h", "mangistau-transport", "head"),
                 op("d", "mangistau-transport", "department_head"), op("e", "mangistau-transport", "executor"))
        s.add_all(staff)
        clerk, head, dept, ex = staff
        case = await open_(s, rt, "S2", "mangistau", now=MON_10)
        t = await do(s, rt, await open_task(s, case), clerk, "registered", at(2, 10, 15))
        t = await do(s, rt, t, head, "forwarded", at(2, 15))
        t = await do(s, rt, t, dept, "assigned", at(3, 11), data={"assignee": "e"})
        assert t.step_key == "check" and t.due_at == at(4, 18)
        t = await do(s, rt, t, ex, "documents_ok", at(4, 16))
        assert t.step_key == "prepare" and t.due_at == at(4, 18)

    run(body)


def test_almaty_hands_a_con_request_result_to_the_con_a_day_before_the_deadline():
    # seed 001 п. 11: for documents accepted at the ЦОН "услугодатель представляет результат … за день до
    # окончания срока оказания услуги". Accepted Mon 2 Feb 10:00 (Monday not counted): the certificate is
    # due Wed 4 Feb 18:00, so the hand-over to the ЦОН is due a working day earlier, Tue 3 Feb 18:00 —
    # even when the head signs late, on Wednesday morning (the portal's hand-over would be 10 minutes
    # after the signature, Wed 10:10).
    from services.provider_arm import engine

    async def body(s, rt):
        staff = (op("c", "almaty-transport", "clerk"), op("h", "almaty-transport", "head"),
                 op("sp", "almaty-transport", "specialist"))
        s.add_all(staff)
        clerk, head, spec = staff
        dues = {}
        for channel in ("con", "portal"):
            doc = {"service_code": "S2", "region": "almaty", "subtype": "issue", "iin_bin": "860717450455",
                   "language": "ru", "form": {}}
            case = await engine.open_case(s, rt, {"request_id": f"r-{channel}", "application_number": f"EL-{channel}",
                                                  "document": doc, "signature": "sig", "channel": channel}, MON_10)
            assert case.deadline_at == at(4, 18)
            t = await do(s, rt, await open_task(s, case), clerk, "registered", MON_10)
            t = await do(s, rt, t, head, "assigned", MON_10, data={"assignee": "sp"})
            t = await do(s, rt, t, spec, "documents_ok", MON_10)
            t = await do(s, rt, t, spec, "prepared", MON_10)
            t = await do(s, rt, t, head, "signed", at(4, 10),
                         signed={"kind": "certificate", "document": case.draft_result, "signature": "cms"})
            dues[channel] = t.due_at
        assert dues == {"con": at(3, 18), "portal": at(4, 10, 10)}

    run(body)
