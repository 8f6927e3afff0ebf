"""One signed S2 Almaty request travels the whole chain on real parts, and the first refusals."""
from __future__ import annotations

import base64
import io
import json
import subprocess
import uuid

import httpx
import pytest

from egov import demo
from shared.envelope import canonical
from shared.iin import random_iin
from shared.regulations import providers
from shared.signing import Signer

pytestmark = pytest.mark.integration

APPLICANT = demo.APPLICANTS[0]


def new_applicant(system, tmp_path, *, register: bool = True) -> tuple[str, str, str, Signer]:
    """A fresh applicant registered through the portal, with a certificate from the НУЦ."""
    iin = random_iin("M")
    password = "Applicant-" + uuid.uuid4().hex[:8]
    issued = system.ca.issue_individual(iin, "ТЕСТОВ АЛИБЕК НУРЛАНОВИЧ", usage="sign")
    issued.write(tmp_path / iin)
    c = system.client
    if register:
        r = c.portal("POST", "/auth/register", json={"iin_bin": iin, "password": password, "full_name": "ТЕСТОВ АЛИБЕК"})
        assert r.status_code == 201, r.text
    token = c.token(iin, password)
    return iin, password, token, Signer.from_dir(tmp_path / iin)


def assert_error(r: httpx.Response, status: int, code: str, step: str | None = "any") -> dict:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code
    assert err["message_ru"] and err["message_kk"] and err["trace_id"]
    if step != "any":
        assert err["step"] == step
    return err


def test_s2_almaty_from_registration_to_signed_result(system, tmp_path):
    c = system.client
    iin, _, token, signer = new_applicant(system, tmp_path)
    doc = c.prepare_document(token, iin)
    r = c.submit(token, doc, signer.sign(canonical(doc)))
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "SUBMITTED"
    assert r.json()["expected_result_estimated"] is False  # seed 001 п. 11 states the deadline
    request_id = r.json()["request_id"]

    view = c.wait_status(token, request_id, {"REGISTERED", "IN_PROCESSING"})
    number = view["application_number"]
    assert number.startswith("EL-")
    c.run_almaty_s2(number)
    view = c.wait_status(token, request_id, {"COMPLETED"})

    steps = [e["step"] for e in view["timeline"]]
    # the Almaty regulation's portal diagram (seed 001): 3 the signed form, 5 on to АРМ РШЭП, condition 3 the provider
    assert steps[:3] == ["process 3", "process 5", "condition 3"]
    assert [s.split(".")[0] for s in steps[3:]] == ["1", "2", "3", "4", "5", "6"]
    # every step of the timeline reads in Kazakh too: its note, and the provider's steps their title
    assert all(e["note"] and e["note_kk"] for e in view["timeline"]), view["timeline"]
    assert all(e["step_kk"] for e in view["timeline"][3:])
    actors = {e["actor"] for e in view["timeline"]}
    assert {"СЕЙТКАЛИЕВА ДИНАРА МАРАТОВНА (clerk)", "ЖУМАБЕКОВ АСКАР ТАЛГАТОВИЧ (head)",
            "ОМАРОВ НУРЛАН ЕРЖАНОВИЧ (specialist)"} <= actors

    result = c.portal("GET", f"/requests/{request_id}/result", token).json()
    assert result["kind"] == "certificate"
    assert result["document"]["holder"]["iin_bin"] == iin
    assert result["document"]["provider"]["bin"] == providers()["almaty-transport"].bin

    # anyone can check the result with openssl against the development НУЦ root
    (tmp_path / "result.json").write_bytes(canonical(result["document"]))
    (tmp_path / "result.p7s").write_bytes(base64.b64decode(result["signature"]))
    v = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(tmp_path / "result.p7s"),
                        "-content", str(tmp_path / "result.json"), "-CAfile", str(system.settings.pki_dir / "roots.pem"),
                        "-out", "/dev/null"], capture_output=True, text=True)
    assert v.returncode == 0, v.stderr
    assert "Verification successful" in v.stderr

    # the certificate is a paper document issued at the ЦОН (seed 001 п. 3): the cabinet says where and
    # from when, and the paper form prints with its number and where to check it
    notices = [n["text_ru"] for n in c.portal("GET", "/notifications", token).json() if n["request_id"] == request_id]
    assert any("на бумажном носителе" in t and "ул. Толе би, 155" in t for t in notices), notices
    r = c.portal("GET", f"/requests/{request_id}/result.pdf", token)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF-")
    from pypdf import PdfReader

    printed = PdfReader(io.BytesIO(r.content)).pages[0].extract_text()
    assert result["document"]["number"] in printed and f"permits/{result['document']['number']}" in printed

    # ИС ГБД ЕЛ keeps the certificate in its registry
    permit = httpx.get(f"{system.url('e_licensing')}/api/v1/permits/{result['document']['number']}").json()
    assert permit["number"] == result["document"]["number"] and permit["status"] == "ACTIVE"
    assert permit["holder"]["name"] == result["document"]["holder"]["name"] and permit["signature"]["valid"]
    assert iin not in json.dumps(permit)  # a public registry shows no IIN
    # what a public registry shows, and nothing more (no versions, no provider, no subtype)
    assert set(permit) == {"number", "kind", "service_code", "title_ru", "title_kk", "holder", "status",
                           "valid_from", "valid_until", "signature"}, sorted(permit)
    assert set(permit["holder"]) == {"name"}
    # the number is the holder's to give: a neighbour of it is not a number at all
    number = result["document"]["number"]
    guess = number[:-3] + ("0" if number[-3] != "0" else "1") + number[-2:]
    assert httpx.get(f"{system.url('e_licensing')}/api/v1/permits/{guess}").status_code == 404

    notes = c.portal("GET", "/notifications", token).json()
    assert any(n["request_id"] == request_id and "готов" in n["text_ru"] for n in notes)


def test_reasoned_refusal_is_a_signed_result(system, tmp_path):
    c = system.client
    iin, _, token, signer = new_applicant(system, tmp_path)
    doc = c.prepare_document(token, iin)
    request_id = c.submit(token, doc, signer.sign(canonical(doc))).json()["request_id"]
    number = c.wait_status(token, request_id, {"REGISTERED", "IN_PROCESSING"})["application_number"]
    c.run_almaty_s2(number, refuse="Диагностическая карта не соответствует транспортному средству")
    view = c.wait_status(token, request_id, {"REFUSED"})
    result = c.portal("GET", f"/requests/{request_id}/result", token).json()
    assert result["kind"] == "refusal"
    assert "Диагностическая карта" in result["document"]["reason"]
    assert view["status"] == "REFUSED"


def test_request_signed_by_openssl_is_accepted(system, tmp_path):
    c = system.client
    iin, _, token, _ = new_applicant(system, tmp_path)
    doc = c.prepare_document(token, iin)
    (tmp_path / "doc.json").write_bytes(canonical(doc))
    keys = tmp_path / iin
    out = subprocess.run(["openssl", "cms", "-sign", "-binary", "-outform", "DER", "-md", "sha256",
                          "-signer", str(keys / "cert.pem"), "-inkey", str(keys / "key.pem"),
                          "-certfile", str(keys / "chain.pem"), "-in", str(tmp_path / "doc.json")],
                         capture_output=True, check=True).stdout
    r = c.submit(token, doc, base64.b64encode(out).decode())
    assert r.status_code == 202, r.text


def test_wrong_password_is_auth_failed(system):
    r = system.client.login(APPLICANT["username"], "not-the-password")
    assert_error(r, 401, "AUTH_FAILED", "process 2")


def test_register_checks_the_iin(system):
    r = system.client.portal("POST", "/auth/register", json={"iin_bin": "860717450456", "password": "Password-123"})
    assert_error(r, 422, "IIN_BIN_INVALID")
    r = system.client.portal("POST", "/auth/register", json={"iin_bin": APPLICANT["username"], "password": "Password-123"})
    assert_error(r, 409, "ALREADY_REGISTERED")


def test_someone_elses_certificate_is_iin_mismatch(system, tmp_path):
    c = system.client
    iin, _, token, _ = new_applicant(system, tmp_path)
    doc = c.prepare_document(token, iin)
    other = c.signer(APPLICANT["username"])  # a valid certificate, but another person's
    assert_error(c.submit(token, doc, other.sign(canonical(doc))), 422, "ECP_IIN_MISMATCH", "process 4")


def test_changed_document_is_bad_signature(system, tmp_path):
    c = system.client
    iin, _, token, signer = new_applicant(system, tmp_path)
    doc = c.prepare_document(token, iin)
    signature = signer.sign(canonical(doc))
    doc["form"]["vehicle"]["year"] = 2020
    assert_error(c.submit(token, doc, signature), 422, "ECP_BAD_SIGNATURE", "process 4")


def test_document_of_another_applicant_is_refused(system, tmp_path):
    c = system.client
    _, _, token, _ = new_applicant(system, tmp_path)
    victim = APPLICANT["username"]
    doc = c.prepare_document(token, victim)
    signature = c.signer(victim).sign(canonical(doc))  # even with the victim's own key
    assert_error(c.submit(token, doc, signature), 403, "IIN_BIN_NOT_OWNER")


def test_unpaid_and_replayed_requests_are_refused(system, tmp_path):
    c = system.client
    iin, _, token, signer = new_applicant(system, tmp_path)
    doc = c.prepare_document(token, iin, pay=False)
    # accepted by the portal; ИС ГБД ЕЛ asks ПШЭП and refuses it ("process 5"), tests/integration/test_registries.py
    rid = c.submit(token, doc, signer.sign(canonical(doc))).json()["request_id"]
    assert c.wait_status(token, rid, {"REFUSED", "REGISTERED"})["status"] == "REFUSED"
    doc = c.prepare_document(token, iin)
    signature = signer.sign(canonical(doc))
    assert c.submit(token, doc, signature).status_code == 202
    # the same signed document again: the nonce is replayed
    assert_error(c.submit(token, doc, signature), 409, "DUPLICATE_REQUEST")
    doc2 = dict(doc, payment_id=c.portal("POST", "/payments", token, json={"service_code": "S2", "region": "almaty"}).json()["payment_id"])
    assert_error(c.submit(token, doc2, signer.sign(canonical(doc2))), 409, "DUPLICATE_REQUEST")


def test_another_applicant_cannot_read_the_request(system, tmp_path):
    c = system.client
    iin, _, token, signer = new_applicant(system, tmp_path)
    doc = c.prepare_document(token, iin)
    request_id = c.submit(token, doc, signer.sign(canonical(doc))).json()["request_id"]
    other = c.token(demo.APPLICANTS[1]["username"], demo.APPLICANTS[1]["password"])
    assert_error(c.portal("GET", f"/requests/{request_id}", other), 404, "NOT_FOUND")
    assert_error(c.portal("GET", f"/requests/{request_id}/result", other), 404, "NOT_FOUND")
    assert request_id not in {r["request_id"] for r in c.portal("GET", "/requests", other).json()}
    assert_error(c.portal("GET", f"/requests/{request_id}"), 401, "AUTH_REQUIRED")


def test_operator_acts_only_in_role(system, tmp_path):
    c = system.client
    iin, _, token, signer = new_applicant(system, tmp_path)
    doc = c.prepare_document(token, iin)
    request_id = c.submit(token, doc, signer.sign(canonical(doc))).json()["request_id"]
    number = c.wait_status(token, request_id, {"REGISTERED", "IN_PROCESSING"})["application_number"]
    clerk = c.operator_token("ala-clerk")
    task = c.wait_task(clerk, number, "register")
    specialist = c.operator_token("ala-specialist")
    # another role's task does not exist for the specialist: neither to read nor to complete
    assert_error(c.arm("GET", f"/tasks/{task['task_id']}", specialist), 404, "NOT_FOUND")
    assert_error(c.complete(specialist, task["task_id"], "registered"), 404, "NOT_FOUND")
    head = c.operator_token("ala-head")  # the head oversees every task of the provider
    assert c.arm("GET", f"/tasks/{task['task_id']}", head).status_code == 200
    assert_error(c.complete(clerk, task["task_id"], "approve"), 422, "DECISION_NOT_ALLOWED")
