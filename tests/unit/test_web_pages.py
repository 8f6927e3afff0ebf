"""The web pages' own logic: messages in both languages, the form generated from a JSON Schema and
read back, the signature upload, redirects kept on the site."""
from __future__ import annotations

import base64
import re
from pathlib import Path

from starlette.datastructures import FormData

from shared import regulations
from services.web import forms
from services.web.arm import overdue
from services.web.common import MESSAGES, read_signature, safe_next

TEMPLATES = Path(__file__).parents[2] / "services" / "web" / "templates"


def test_both_languages_have_the_same_messages_and_every_template_key():
    assert set(MESSAGES["ru"]) == set(MESSAGES["kk"])
    assert all(MESSAGES["kk"].values())
    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"t\('([a-z_]+\.[a-z_]+)'\)", template.read_text()))
    assert used and used <= set(MESSAGES["ru"]), used - set(MESSAGES["ru"])


def _as_form(fields: list[dict]) -> FormData:
    items = []
    for f in fields:
        if f["kind"] == "group":
            items += _as_form(f["fields"]).multi_items()
        elif f["type"] == "multiselect":
            items += [(f["name"], v) for v in f["value"]]
        elif f["type"] == "checkbox":
            items += [(f["name"], "1")] if f["value"] else []
        elif f["value"] not in (None, ""):
            items.append((f["name"], str(f["value"])))
    return FormData(items)


def test_every_catalogue_form_round_trips_its_example_and_passes_its_schema():
    for entry in regulations.services().values():
        schema, example = entry.form_schema, entry.example
        generated = forms.fields(schema, example)
        assert forms.parse(schema, _as_form(generated)) == example, entry.code
        assert forms.problems(schema, example) == []


def test_form_problems_name_the_field():
    schema = regulations.services()["S2"].form_schema
    example = regulations.services()["S2"].example
    bad = {**example, "vehicle": {**example["vehicle"], "vin": "short"}}
    assert any(p.startswith("vehicle.vin:") for p in forms.problems(schema, bad))


def test_signature_upload_accepts_base64_text_or_der():
    der = b"\x30\x82\x01\x00" + bytes(range(200))
    b64 = base64.b64encode(der).decode()
    assert read_signature(None, der) == b64
    assert read_signature(None, (b64[:40] + "\n" + b64[40:] + "\n").encode()) == b64
    assert read_signature(f" {b64}\n", None) == b64


def test_next_stays_on_the_site():
    assert safe_next("/cabinet/requests/1", "/") == "/cabinet/requests/1"
    for bad in ("//evil.example/", "https://evil.example/", "\\\\evil", None, ""):
        assert safe_next(bad, "/cabinet") == "/cabinet"


def test_overdue_is_past_due_and_open():
    assert overdue({"status": "OPEN", "due_at": "2020-01-01T10:00:00+05:00"})
    assert not overdue({"status": "OPEN", "due_at": "2999-01-01T10:00:00+05:00"})
    assert not overdue({"status": "DONE", "due_at": "2020-01-01T10:00:00+05:00"})
    assert not overdue({"status": "OPEN", "due_at": None})


def test_the_con_desk_pages_have_every_string_in_both_languages():
    """Every key the ЦОН desk's templates use (also those with arguments) in Russian and Kazakh, non-empty,
    and the Kazakh text is not the Russian one copied over."""
    used = set()
    for template in TEMPLATES.glob("con_*.html"):
        used |= set(re.findall(r"t\('([a-z_]+\.[a-zA-Z_]+)'[,)]", template.read_text()))
    used |= {"login.title_con", "login.username_con", "nav.con_desk", "index.con", "index.con_text",
             "con.kind_acceptance", "con.kind_refusal", "status.NOT_ACCEPTED", "status.HANDED_OUT"}
    assert len(used) > 50
    for lang in ("ru", "kk"):
        missing = {k for k in used if not MESSAGES[lang].get(k)}
        assert not missing, (lang, missing)
    con_keys = {k for k in MESSAGES["ru"] if k.startswith("con.")}
    assert con_keys and con_keys <= set(MESSAGES["kk"])
    differ = {k for k in con_keys if MESSAGES["ru"][k] != MESSAGES["kk"][k]}
    assert len(differ) > len(con_keys) - 5  # a few are the same word (Оператор, Телефон, Норма, мин)


def test_the_con_receipt_page_shows_every_receipt_field_in_both_languages():
    from types import SimpleNamespace

    from services.web.common import Translator, env

    body = {"number": "CON-2026-0000001", "kind": "refusal", "accepted_at": "2026-03-02T10:00:00+00:00",
            "service": {"code": "S2", "title_ru": "Услуга", "title_kk": "Қызмет", "subtype": "issue", "region": "almaty"},
            "documents": [{"code": "inspection_card", "title_ru": "Карта", "filename": "a.pdf", "sha256": "0" * 64}],
            "documents_count": 1, "operator": {"full_name": "ОПЕРАТОР", "username": "con-ala"},
            "con": {"name_ru": "НАО", "office": "ЦОН", "address": "ул."},
            "applicant": {"iin_bin": "860717450455", "kind": "IIN", "name": "ИВАНОВА", "contacts": {"phone": "+7"}},
            "representative": {"iin": "921201450129", "name": "СЕРИКОВА", "power_of_attorney_number": "P-1",
                               "contacts": {}},
            "desk_times": [{"kind": "queue", "limit_minutes": 15, "source": "seed 001 п. 10"}],
            "refusal": {"code": "DOCUMENTS_INCOMPLETE", "message_ru": "Неполный пакет", "message_kk": "Толық емес",
                        "missing_documents": [{"code": "vehicle_registration", "title_ru": "Свидетельство",
                                               "title_kk": "Куәлік"}], "source": "seed"}}
    r = {"number": body["number"], "kind": "refusal", "status": "NOT_ACCEPTED", "application_number": None,
         "refusal_code": None, "receipt": body, "result": None, "result_rejected": False, "handout": None,
         "handed_out_at": None, "timeline": [{"at": body["accepted_at"], "status": "NOT_ACCEPTED", "step": "process 5",
                                              "actor": "con-ala", "note": None}]}
    request = SimpleNamespace(url=SimpleNamespace(path="/con/receipts/x", query=""))
    for lang in ("ru", "kk"):
        html = env.get_template("con_receipt.html").render(request=request, t=Translator(lang), lang=lang, area="con",
                                                           user={"sub": "con-ala"}, r=r, body=body, form={})
        for text in ("CON-2026-0000001", "ИВАНОВА", "СЕРИКОВА", "P-1", "seed 001 п. 10", "ОПЕРАТОР",
                     MESSAGES[lang]["con.receipt_refusal"], MESSAGES[lang]["status.NOT_ACCEPTED"],
                     body["refusal"][f"message_{lang}"], "Карта", "a.pdf"):
            assert text in html, (lang, text)
        assert 'id="handout-form"' not in html  # nothing to hand out on a refusal


def _render(template: str, lang: str, **context) -> str:
    from types import SimpleNamespace

    from services.web.common import Translator, env

    request = SimpleNamespace(url=SimpleNamespace(path="/x", query=""), query_params={})
    return env.get_template(template).render(request=request, t=Translator(lang), lang=lang, **context)


def test_the_applicants_pages_say_where_deadlines_fees_and_documents_come_from():
    """A deadline is the seed's (its paragraph named) or the simulator's estimate; fees and the
    documents are the simulator's choice — the catalogue, the form, the payment and the request say so."""
    from services.portal.catalogue import catalogue

    services = [e.public() for e in catalogue().values()]
    s2 = next(s for s in services if s["code"] == "S2")
    almaty = next(v for v in s2["variants"] if v["region"] == "almaty")
    mangistau = next(v for v in s2["variants"] if v["region"] == "mangistau")
    assert not almaty["deadline_estimated"] and mangistau["deadline_estimated"]  # the seeds' facts
    for lang in ("ru", "kk"):
        m = MESSAGES[lang]
        seed = m["provenance.seed"].format(source=almaty["deadline_source"])
        html = _render("services.html", lang, area="cabinet", services=services, user={})
        assert seed in html and m["provenance.estimated"] in html and m["provenance.simulator"] in html
        assert f'{almaty["result_deadline"]["amount"]} {m["unit." + almaty["result_deadline"]["unit"]]}' in html
        html = _render("apply.html", lang, area="cabinet", service=s2, chosen={}, problems=[], error=None, fields=[],
                       user={})
        assert seed in html and m["provenance.estimated"] in html
        assert all(f'id="doc-source-{d["code"]}" title="{m["provenance.simulator_hint"]}"' in html
                   for d in s2["required_documents"])
        html = _render("pay.html", lang, area="cabinet", service=s2, variant=almaty, uploaded=[], draft_json="{}",
                       user={})
        assert re.search(r'id="fee-source"[^>]*>' + re.escape(m["provenance.simulator"]), html)
        request = {"request_id": "r-1", "application_number": "KZ-1", "service_code": "S2", "region": "almaty",
                   "subtype": "issue", "status": "IN_PROCESSING", "created_at": "2026-03-02T10:00:00+05:00",
                   "expected_result_at": "2026-03-04T10:00:00+05:00", "expected_result_estimated": False,
                   "timeline": [{"at": "2026-03-02T10:00:00+05:00", "status": "SUBMITTED", "step": "1. Приём",
                                 "step_kk": "1. Қабылдау", "actor": "portal", "note": "принято", "note_kk": "қабылданды"}],
                   "document": {}, "result_ready": False, "result_rejected": None}
        html = _render("request.html", lang, area="cabinet", r=request, process_id=None, services=services, user={})
        assert re.search(r'data-source="seed" id="expected-source">' + re.escape(seed), html)
        assert ("қабылданды" in html and "1. Қабылдау" in html) if lang == "kk" else ("принято" in html)
        html = _render("request.html", lang, area="cabinet", services=services, user={}, process_id=None,
                       r={**request, "region": "mangistau", "expected_result_estimated": True})
        assert re.search(r'data-source="estimated" id="expected-source"', html)


def test_the_workstation_speaks_kazakh_too():
    """Step titles from the process definitions and overdue alerts in Kazakh (provider_arm names a task's
    step and words its alerts in Russian)."""
    from services.web.arm import alert_text_kk
    from services.web.common import Translator

    process = next(p for p in regulations.all_processes().values() if p.service_code == "S2" and p.region == "almaty")
    step = process.steps[0]
    assert step.title_kk and step.title_kk != step.title_ru
    task = {"task_id": 7, "status": "OPEN", "role": step.role, "assignee": None, "overdue": True,
            "step": {"no": step.no, "key": step.key, "title_ru": step.title_ru, "title_kk": step.title_kk},
            "application": {"number": "KZ-7", "process_id": process.id, "applicant": "860717450455"},
            "due_at": "2026-03-02T10:00:00+05:00", "overdue_at": None}
    alert = {"task_id": 7, "created_at": "2026-03-02T11:00:00+05:00", "text_ru": "Просрочен этап"}
    alert["text_kk"] = alert_text_kk(alert, task, Translator("kk"))
    assert "KZ-7" in alert["text_kk"] and step.title_kk in alert["text_kk"] and "02.03.2026 10:00" in alert["text_kk"]
    for lang, title in (("kk", step.title_kk), ("ru", step.title_ru)):
        html = _render("arm_tasks.html", lang, area="arm", tasks=[task], user={"sub": "ala-clerk"}, head=False)
        assert f"{step.no}. {title}" in html and 'class="overdue"' in html and MESSAGES[lang]["arm.overdue"] in html
        html = _render("arm_overdue.html", lang, area="arm", tasks=[task], alerts=[alert], user={}, head=True)
        assert f"{step.no}. {title}" in html
        assert (alert["text_kk"] if lang == "kk" else "Просрочен этап") in html
