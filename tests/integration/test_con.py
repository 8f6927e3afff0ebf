"""The ЦОН flow (diagram No 1 of seed 003; seeds 000, 001, 004) replayed branch by branch on the running
system: the operator's lookups in ГБД ФЛ / ЕНИС (condition 1, refusals at process 4), the written consent,
an incomplete package (a receipt of refusal), the operator-signed submission through the gateway to
ИС ГБД ЕЛ and the provider (processes 5–8), the provider's refusal, and the result handed out against the
receipt and an identity document (process 9) — S2 Almaty, S2 Zhambyl through a representative, S2 Mangistau,
and S1 in Mangistau and Zhambyl for a company through its representative."""
from __future__ import annotations

import io

import time
from datetime import date, datetime, timedelta, timezone

import httpx
import pytest
from pypdf import PdfReader

from egov import demo
from shared.calendar import CALENDAR
from shared.envelope import canonical
from shared.iin import make_iin
from shared.regulations import find
from shared.signing import Signer

from .conftest import PG_URL, running_system

pytestmark = pytest.mark.integration

AIGUL = "860717450455"            # ИВАНОВА АЙГУЛЬ — an individual applicant
MADINA = "921201450129"           # СЕРИКОВА МАДИНА — the representative in ЕНИС
DEMO_TRANS = "100340005775"       # ТОО «Демо Транс»
POA_VALID = "2026-0001-N"         # Демо Транс → Мадина, S1/S2, in force
POA_REVOKED = "2025-0417-N"       # Айгуль → Мадина, revoked


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def sut(request, tmp_path_factory):
    if request.param == "postgresql" and not PG_URL:
        pytest.skip("EGOV_TEST_POSTGRES_URL is not set")
    with running_system(tmp_path_factory.mktemp(f"egov-con-{request.param}"), request.param) as s:
        yield s


class Desk:
    """A ЦОН operator at the desk, over the con service's API."""

    def __init__(self, sut, username: str):
        self.sut = sut
        self.http = httpx.Client(base_url=sut.url("con") + "/api/v1", timeout=30)
        op = next(o for o in demo.con_operators() if o["username"] == username)
        r = self.http.post("/auth/token", data={"username": username, "password": op["password"]})
        assert r.status_code == 200, r.text
        self.http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        self.signer = Signer.from_dir(demo.key_dir(sut.settings.data_dir, username, "sign"))

    def lookup(self, iin_bin: str, region: str, service_code: str = "S2", **kw) -> httpx.Response:
        return self.http.post("/lookups", json={"service_code": service_code, "region": region, "iin_bin": iin_bin,
                                                "consent": True, **kw})

    def scan(self, code: str) -> dict:
        r = self.http.post("/attachments", files={"file": (f"{code}.pdf", b"%PDF-1.4 scan of " + code.encode(),
                                                           "application/pdf")})
        assert r.status_code == 201, r.text
        return {"attachment_id": r.json()["attachment_id"], "sha256": r.json()["sha256"], "code": code}

    def package(self, lookup: dict, *, codes=("inspection_card", "vehicle_registration"), pay: bool = True,
                representative_contacts: dict | None = None, service_code: str = "S2") -> dict:
        payment_id = None
        if pay:
            r = self.http.post("/payments", json={"lookup_id": lookup["lookup_id"]})
            assert r.status_code == 201, r.text
            payment_id = r.json()["payment_id"]
        example = next(s for s in httpx.get(self.sut.url("portal") + "/api/v1/services").json()
                       if s["code"] == service_code)["example"]
        body = {"lookup_id": lookup["lookup_id"], "subtype": "issue", "form": example,
                "attachments": [self.scan(c) for c in codes], "payment_id": payment_id,
                "applicant_contacts": {"phone": "+7 701 000 00 01", "email": "applicant@example.kz"}}
        if representative_contacts:
            body["representative_contacts"] = representative_contacts
        r = self.http.post("/drafts", json=body)
        assert r.status_code == 200, r.text
        return r.json()

    def submit(self, document: dict, signer: Signer | None = None, **kw) -> httpx.Response:
        signature = (signer or self.signer).sign(canonical(document))
        return self.http.post("/applications", json={"document": document, "signature": signature, **kw})

    def receipt(self, number: str) -> dict:
        r = self.http.get(f"/receipts/{number}")
        assert r.status_code == 200, r.text
        return r.json()

    def wait(self, number: str, statuses: set[str], timeout: float = 90) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.receipt(number)
            if r["status"] in statuses:
                return r
            time.sleep(0.3)
        raise AssertionError(f"receipt {number} did not reach {statuses}: {r}")


def error(r: httpx.Response, status: int, code: str, step: str | None = None) -> dict:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code, err
    if step is not None:
        assert err["step"] == step, err
    return err


def test_s2_almaty_accepted_at_the_desk_completed_and_handed_out(sut):
    desk = Desk(sut, "con-ala")
    lk = desk.lookup(AIGUL, "almaty")
    assert lk.status_code == 201, lk.text
    lk = lk.json()
    assert lk["applicant"]["name"] == "ИВАНОВА АЙГУЛЬ СЕРИКОВНА" and lk["representative"] is None
    doc = desk.package(lk)
    now = datetime.now(timezone.utc)
    r = desk.submit(doc, queued_at=(now - timedelta(minutes=9)).isoformat(), served_at=(now - timedelta(minutes=2)).isoformat())
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["kind"] == "acceptance" and out["status"] == "SUBMITTED" and out["request_id"]
    receipt = out["receipt"]
    # every field of the receipt the seeds list
    assert receipt["number"] == out["number"] and receipt["accepted_at"] and receipt["date"]
    assert receipt["service"]["code"] == "S2" and "сертификата" in receipt["service"]["title_ru"]
    assert receipt["documents_count"] == 2
    assert {d["title_ru"] for d in receipt["documents"]} == {"Диагностическая карта технического осмотра",
                                                             "Свидетельство о регистрации транспортного средства"}
    issue = receipt["result_issue"]
    assert issue["date"] and issue["time"] and "ЦОН" in issue["place"] and issue["due_at"]
    assert receipt["operator"]["full_name"] == "АБДРАХМАНОВА ЖАНАР ЕРЛАНОВНА"
    assert receipt["applicant"] == {"iin_bin": AIGUL, "kind": "IIN", "name": "ИВАНОВА АЙГУЛЬ СЕРИКОВНА",
                                    "contacts": {"phone": "+7 701 000 00 01", "email": "applicant@example.kz"}}
    queue = next(t for t in receipt["desk_times"] if t["kind"] == "queue")
    assert queue["limit_minutes"] == 15 and queue["source"] == "seed 001 п. 10" and queue["within_limit"] is True

    registered = desk.wait(out["number"], {"REGISTERED", "IN_PROCESSING"})
    number = registered["application_number"]
    assert number and number.startswith("EL-")
    # the status enquiry: not ready yet
    error(desk.http.post(f"/receipts/{out['number']}/handout", json={"identity_document_number": "0"}),
          409, "CON_RESULT_NOT_READY", "process 9")
    sut.client.run_almaty_s2(number)
    done = desk.wait(out["number"], {"COMPLETED"})
    assert done["result"]["kind"] != "refusal" and done["result"]["signature"]
    assert any(e["status"] == "COMPLETED" for e in done["timeline"])
    # the paper document the ЦОН hands out, printed from the signed result
    pdf = desk.http.get(f"/receipts/{out['number']}/result.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert done["result"]["document"]["number"] in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()

    # process 9: against the receipt and the applicant's identity document (its number in ГБД ФЛ)
    error(desk.http.post(f"/receipts/{out['number']}/handout", json={"identity_document_number": "000000000"}),
          403, "HANDOUT_IDENTITY_MISMATCH", "process 9")
    doc_no = lk["applicant"]["document_number"]
    r = desk.http.post(f"/receipts/{out['number']}/handout", json={"identity_document_number": doc_no})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "HANDED_OUT" and r.json()["handout"]["to"]["who"] == "applicant"
    error(desk.http.post(f"/receipts/{out['number']}/handout", json={"identity_document_number": doc_no}),
          409, "RESULT_ALREADY_HANDED_OUT")
    error(desk.http.get("/receipts/CON-0000-0000000"), 404, "RECEIPT_NOT_FOUND")


def test_without_consent_nothing_is_asked_and_an_unknown_person_is_refused_at_process_4(sut):
    desk = Desk(sut, "con-ala")
    error(desk.http.post("/lookups", json={"service_code": "S2", "region": "almaty", "iin_bin": AIGUL}),
          400, "CON_CONSENT_REQUIRED", "process 2")
    stranger = make_iin(date(1979, 5, 6), "M", 4711)
    error(desk.lookup(stranger, "almaty"), 404, "PERSON_NOT_FOUND", "process 4")


def test_power_of_attorney_not_found_or_revoked_is_refused_at_process_4(sut):
    desk = Desk(sut, "con-ala")
    error(desk.lookup(AIGUL, "almaty", representative_iin=MADINA, power_of_attorney_number=POA_REVOKED),
          422, "POWER_OF_ATTORNEY_REVOKED", "process 4")
    error(desk.lookup(AIGUL, "almaty", representative_iin=MADINA, power_of_attorney_number="2026-9999-N"),
          404, "POWER_OF_ATTORNEY_NOT_FOUND", "process 4")
    # a valid power of attorney, but not given by this applicant
    error(desk.lookup(AIGUL, "almaty", representative_iin=MADINA, power_of_attorney_number=POA_VALID),
          404, "POWER_OF_ATTORNEY_NOT_FOUND", "process 4")


def test_an_incomplete_package_gets_a_receipt_of_refusal_and_nothing_is_submitted(sut):
    desk = Desk(sut, "con-ala")
    lk = desk.lookup(AIGUL, "almaty").json()
    doc = desk.package(lk, codes=("inspection_card",), pay=False)
    r = desk.submit(doc)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["kind"] == "refusal" and out["status"] == "NOT_ACCEPTED" and out["request_id"] is None
    refusal = out["receipt"]["refusal"]
    assert refusal["code"] == "DOCUMENTS_INCOMPLETE"
    assert [m["code"] for m in refusal["missing_documents"]] == ["vehicle_registration"]
    assert out["receipt"]["title_ru"] == "Расписка об отказе в приеме документов"
    assert desk.receipt(out["number"])["status"] == "NOT_ACCEPTED"
    # the same signed form is not accepted twice
    r = desk.submit(doc)
    assert r.status_code in (400, 409) and r.json()["error"]["code"] == "DUPLICATE_REQUEST", r.text


def test_only_the_logged_in_operators_signature_is_accepted(sut):
    desk = Desk(sut, "con-ala")
    lk = desk.lookup(AIGUL, "almaty").json()
    doc = desk.package(lk, pay=False)
    applicant = Signer.from_dir(demo.key_dir(sut.settings.data_dir, AIGUL, "sign"))
    error(desk.submit(doc, signer=applicant), 403, "ECP_NOT_CON_OPERATOR", "process 5")
    other = Signer.from_dir(demo.key_dir(sut.settings.data_dir, "con-zhm", "sign"))
    error(desk.submit(doc, signer=other), 403, "ECP_NOT_CON_OPERATOR", "process 5")


def test_s2_almaty_refused_by_the_provider_and_the_refusal_handed_out(sut):
    desk = Desk(sut, "con-ala")
    lk = desk.lookup(AIGUL, "almaty").json()
    out = desk.submit(desk.package(lk)).json()
    assert out["kind"] == "acceptance", out
    number = desk.wait(out["number"], {"REGISTERED", "IN_PROCESSING"})["application_number"]
    sut.client.run_almaty_s2(number, refuse="Диагностическая карта не соответствует п. 9 Стандарта")
    refused = desk.wait(out["number"], {"REFUSED"})
    assert refused["result"]["kind"] == "refusal"
    r = desk.http.post(f"/receipts/{out['number']}/handout",
                       json={"identity_document_number": lk["applicant"]["document_number"]})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "HANDED_OUT"


def test_s2_almaty_without_payment_is_refused_by_e_licensing_at_the_desk(sut):
    desk = Desk(sut, "con-ala")
    lk = desk.lookup(AIGUL, "almaty").json()
    out = desk.submit(desk.package(lk, pay=False)).json()
    refused = desk.wait(out["number"], {"REFUSED"})
    assert refused["refusal_code"] == "PAYMENT_NOT_FOUND"


def test_s2_zhambyl_through_a_representative_with_the_courier_to_the_con_limit(sut):
    desk = Desk(sut, "con-zhm")
    lk = desk.lookup(DEMO_TRANS, "zhambyl", representative_iin=MADINA, power_of_attorney_number=POA_VALID)
    assert lk.status_code == 201, lk.text
    lk = lk.json()
    assert lk["representative"]["power_of_attorney"]["number"] == POA_VALID
    doc = desk.package(lk, representative_contacts={"phone": "+7 702 000 00 02"})
    out = desk.submit(doc).json()
    assert out["kind"] == "acceptance", out
    rep = out["receipt"]["representative"]
    assert rep["iin"] == MADINA and rep["power_of_attorney_number"] == POA_VALID and rep["contacts"]["phone"]
    assert out["receipt"]["applicant"]["name"] == "ТОО «Демо Транс»"
    acceptance = next(t for t in out["receipt"]["desk_times"] if t["kind"] == "acceptance")
    assert acceptance["limit_minutes"] == 20 and acceptance["source"].startswith("seed 003 п. 10")

    number = desk.wait(out["number"], {"REGISTERED", "IN_PROCESSING"})["application_number"]
    c = sut.client
    clerk, head, dept, spec = (c.operator_token(f"zhm-{r}") for r in ("clerk", "head", "dept-head", "specialist"))
    t = c.wait_task(clerk, number, "register")
    assert c.complete(clerk, t["task_id"], "registered").status_code == 200
    t = c.wait_task(head, number, "review")
    assert c.complete(head, t["task_id"], "forwarded").status_code == 200
    t = c.wait_task(dept, number, "assign")
    assert c.complete(dept, t["task_id"], "assigned", data={"assignee": "zhm-specialist"}).status_code == 200
    t = c.wait_task(spec, number, "check")
    assert c.complete(spec, t["task_id"], "documents_ok").status_code == 200
    t = c.wait_task(spec, number, "prepare")
    assert c.complete(spec, t["task_id"], "prepared").status_code == 200
    t = c.wait_task(head, number, "sign")
    full = c.arm("GET", f"/tasks/{t['task_id']}", head).json()
    r = c.complete(head, t["task_id"], "signed", signature=c.signer("zhm-head").sign(canonical(full["draft_result"])))
    assert r.status_code == 200, r.text
    t = c.wait_task(clerk, number, "handover")
    # the courier to the ЦОН: 2 hours (not the 20 minutes to the personal cabinet) — seed 003
    step = find("S2", "zhambyl").step("handover")
    created = datetime.fromisoformat(t["created_at"])
    assert datetime.fromisoformat(t["due_at"]) == CALENDAR.deadline(created, *step.limit_for("issue", "con"))
    assert c.complete(clerk, t["task_id"], "handed_over").status_code == 200
    desk.wait(out["number"], {"COMPLETED"})

    # process 9 for a representative: his identity document and the power of attorney
    error(desk.http.post(f"/receipts/{out['number']}/handout",
                         json={"identity_document_number": lk["representative"]["document_number"]}),
          403, "HANDOUT_IDENTITY_MISMATCH")
    now = datetime.now(timezone.utc)
    r = desk.http.post(f"/receipts/{out['number']}/handout", json={
        "identity_document_number": lk["representative"]["document_number"], "representative_iin": MADINA,
        "power_of_attorney_number": POA_VALID, "served_at": (now - timedelta(minutes=5)).isoformat()})
    assert r.status_code == 200, r.text
    handout = r.json()["handout"]
    assert handout["to"]["who"] == "representative"
    limit = next(t for t in handout["desk_times"] if t["kind"] == "handout")
    assert limit["limit_minutes"] == 20 and limit["source"] == "seed 003 п. 10" and limit["within_limit"] is True


@pytest.mark.parametrize("check", ["documents_ok", "refuse"])
def test_s2_mangistau_at_the_desk_certificate_or_reasoned_refusal_handed_out(sut, check):
    # seed 000 (S2), diagram No 1: the ЦОН in Aktau accepts, the provider works п. 7 (clerk → head →
    # department head → executor → head signs → clerk), the result — certificate or reasoned refusal —
    # comes back to the ЦОН and is handed out against the receipt
    desk = Desk(sut, "con-mng")
    lk = desk.lookup(AIGUL, "mangistau")
    assert lk.status_code == 201, lk.text
    lk = lk.json()
    r = desk.submit(desk.package(lk))
    assert r.status_code == 201, r.text
    out = r.json()
    number = desk.wait(out["number"], {"REGISTERED", "IN_PROCESSING"})["application_number"]
    c = sut.client
    steps = [("mng-clerk", "register", "registered", {}), ("mng-head", "review", "forwarded", {}),
             ("mng-dept-head", "assign", "assigned", {"data": {"assignee": "mng-executor"}}),
             ("mng-executor", "check", check, {"comment": "Нет диагностической карты"} if check == "refuse" else {}),
             ("mng-executor", "prepare", "prepared", {}), ("mng-head", "sign", "signed", None),
             ("mng-clerk", "handover", "handed_over", {})]
    for username, step, decision, body in steps:
        token = c.operator_token(username)
        task = c.wait_task(token, number, step)
        if body is None:  # the head signs the draft with the organisation's ЭЦП
            full = c.arm("GET", f"/tasks/{task['task_id']}", token).json()
            body = {"signature": c.signer(username).sign(canonical(full["draft_result"]))}
        assert c.complete(token, task["task_id"], decision, **body).status_code == 200
    done = desk.wait(out["number"], {"COMPLETED", "REFUSED"})
    assert done["status"] == ("COMPLETED" if check == "documents_ok" else "REFUSED")
    assert done["result"]["kind"] == ("certificate" if check == "documents_ok" else "refusal")
    # process 9: handed out against the receipt and the applicant's identity document
    r = desk.http.post(f"/receipts/{out['number']}/handout",
                       json={"identity_document_number": lk["applicant"]["document_number"]})
    assert r.status_code == 200 and r.json()["status"] == "HANDED_OUT", r.text


S1_STAFF = {
    # seed 000 (first regulation) п. 7: clerk → head → executor → the Inspection's act → executor → head → clerk
    "mangistau": [("mng-clerk", "register", "registered", {}),
                  ("mng-head", "assign", "assigned", {"data": {"assignee": "mng-executor"}}),
                  ("mng-executor", "check", "documents_ok", {}), ("mng-inspector", "inspection", "conforms", {}),
                  ("mng-executor", "prepare", "prepared", {}), ("mng-head", "sign", "signed", None),
                  ("mng-clerk", "handover", "handed_over", {})],
    # seed 003 (second regulation) п. 5: clerk → head → department head → specialist → head → clerk
    "zhambyl": [("zhm-clerk", "register", "registered", {}), ("zhm-head", "review", "forwarded", {}),
                ("zhm-dept-head", "assign", "assigned", {"data": {"assignee": "zhm-specialist"}}),
                ("zhm-specialist", "check", "documents_ok", {}), ("zhm-specialist", "prepare", "prepared", {}),
                ("zhm-head", "sign", "signed", None), ("zhm-clerk", "handover", "handed_over", {})],
}


@pytest.mark.parametrize("region", ["mangistau", "zhambyl"])
def test_s1_licence_for_a_company_through_its_representative_from_arrival_to_hand_out(sut, region):
    # diagram No 1 for S1: the carrier ТОО «Демо Транс» sends its representative with a power of attorney
    # (ЕНИС); the ЦОН pays the state duty at ПШЭП, attaches the scans, signs and submits; the licence
    # comes back to the ЦОН, prints on paper and is handed out to the representative
    desk = Desk(sut, {"mangistau": "con-mng", "zhambyl": "con-zhm"}[region])
    lk = desk.lookup(DEMO_TRANS, region, "S1", representative_iin=MADINA, power_of_attorney_number=POA_VALID)
    assert lk.status_code == 201, lk.text
    lk = lk.json()
    assert lk["applicant"]["name"] == "ТОО «Демо Транс»" and lk["representative"]["iin"] == MADINA
    doc = desk.package(lk, codes=("qualification_info", "vehicle_documents"), service_code="S1",
                       representative_contacts={"phone": "+7 702 000 00 02"})
    out = desk.submit(doc).json()
    assert out["kind"] == "acceptance", out
    receipt = out["receipt"]
    assert receipt["service"]["code"] == "S1" and receipt["documents_count"] == 2
    assert receipt["representative"]["iin"] == MADINA and receipt["applicant"]["name"] == "ТОО «Демо Транс»"
    number = desk.wait(out["number"], {"REGISTERED", "IN_PROCESSING"})["application_number"]
    c = sut.client
    for username, step, decision, body in S1_STAFF[region]:
        token = c.operator_token(username)
        task = c.wait_task(token, number, step)
        if body is None:  # the head signs the draft licence with the organisation's ЭЦП
            full = c.arm("GET", f"/tasks/{task['task_id']}", token).json()
            body = {"signature": c.signer(username).sign(canonical(full["draft_result"]))}
        r = c.complete(token, task["task_id"], decision, **body)
        assert r.status_code == 200, r.text
    done = desk.wait(out["number"], {"COMPLETED"})
    assert done["result"]["kind"] == "licence"
    pdf = desk.http.get(f"/receipts/{out['number']}/result.pdf")
    assert done["result"]["document"]["number"] in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    r = desk.http.post(f"/receipts/{out['number']}/handout", json={
        "identity_document_number": lk["representative"]["document_number"], "representative_iin": MADINA,
        "power_of_attorney_number": POA_VALID})
    assert r.status_code == 200 and r.json()["handout"]["to"]["who"] == "representative", r.text


def test_a_paper_result_of_a_portal_request_is_collected_at_the_con(sut):
    # seed 001 п. 3 (the certificate "в бумажном виде"), 003 п. 3: a request made through the portal gets
    # its paper result at the ЦОН — the cabinet is told where and from when; the ЦОН has it under
    # P-<application number> and hands it out against the applicant's identity document (ГБД ФЛ)
    c = sut.client
    aigul = next(a for a in demo.APPLICANTS if a["username"] == AIGUL)
    token = c.token(AIGUL, aigul["password"])
    doc = c.prepare_document(token, AIGUL)
    r = c.submit(token, doc, c.signer(AIGUL).sign(canonical(doc)))
    assert r.status_code == 202, r.text
    request_id = r.json()["request_id"]
    number = c.wait_status(token, request_id, {"REGISTERED", "IN_PROCESSING"})["application_number"]
    c.run_almaty_s2(number)
    c.wait_status(token, request_id, {"COMPLETED"})
    desk = Desk(sut, "con-ala")
    pickup = desk.wait(f"P-{number}", {"COMPLETED"})
    assert pickup["kind"] == "pickup" and pickup["result"]["kind"] == "certificate"
    pdf = desk.http.get(f"/receipts/P-{number}/result.pdf")
    assert pickup["result"]["document"]["number"] in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    error(desk.http.post(f"/receipts/P-{number}/handout", json={"identity_document_number": "000000000"}),
          403, "HANDOUT_IDENTITY_MISMATCH")
    lk = desk.lookup(AIGUL, "almaty").json()
    r = desk.http.post(f"/receipts/P-{number}/handout", json={"identity_document_number": lk["applicant"]["document_number"]})
    assert r.status_code == 200 and r.json()["status"] == "HANDED_OUT", r.text
    assert r.json()["handout"]["to"] == {"who": "applicant", "iin_bin": AIGUL, "name": "ИВАНОВА АЙГУЛЬ СЕРИКОВНА"}
