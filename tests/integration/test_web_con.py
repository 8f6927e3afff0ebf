"""The ЦОН desk pages (``/con``) in a real browser (headless Chromium, Playwright): the operator con-ala
logs in, looks up ИВАНОВА АЙГУЛЬ for S2 Almaty (first without the consent: the desk's refusal with its
code and diagram step), takes the fee, uploads the two scans, signs the draft with the operator's own
SIGN key (the project's Signer; uploaded through the page) and sees the receipt of acceptance with its
number; then the status by the receipt's number. Screenshots: ``tests/artifacts/web-con/sqlite/``."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import rfc8785

from egov import demo
from shared.signing import Signer

from .conftest import running_system
from .test_web import ARTIFACTS, chromium  # noqa: F401  (the browser fixture)
from .web_browser import CHROMIUM, Shots, sign_file

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no headless Chromium at {CHROMIUM}"),
]

AIGUL = "860717450455"
OPERATOR = "con-ala"


@pytest.fixture(scope="module")
def con_system(tmp_path_factory):
    with running_system(tmp_path_factory.mktemp("egov-web-con"), "sqlite") as s:
        yield s


def test_the_con_operator_accepts_a_package_in_the_browser(con_system, chromium, tmp_path):  # noqa: F811
    web, data_dir = con_system.url("web"), con_system.settings.data_dir
    shots_dir = ARTIFACTS / "web-con" / "sqlite"
    shutil.rmtree(shots_dir, ignore_errors=True)
    shots = Shots(shots_dir)
    password = next(o for o in demo.con_operators() if o["username"] == OPERATOR)["password"]

    ctx = chromium.new_context(locale="ru-RU")
    page = ctx.new_page()
    page.goto(web)
    page.click("#con-link")
    assert "/con/login" in page.url  # no session yet
    page.fill("#username", OPERATOR)
    page.fill("#password", "wrong")
    page.click("#login")
    assert page.locator("#error-code").inner_text() == "AUTH_FAILED"
    assert page.locator("#error-step").inner_text() == "process 1"
    shots(page, "con-login-refused")
    page.fill("#username", OPERATOR)
    page.fill("#password", password)
    page.click("#login")
    page.wait_for_url(re.compile(r".*/con$"))
    cookie = next(c for c in ctx.cookies() if c["name"] == "egov_con")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert page.locator("#operator").inner_text().strip()
    shots(page, "con-desk")

    # process 2: without the written consent nothing is asked — in Kazakh, then in Russian
    page.click("#lang-kk")
    page.select_option("#service_code", "S2")
    page.select_option("#region", "almaty")
    page.fill("#iin_bin", AIGUL)
    page.click("#lookup")
    assert page.locator("#error-code").inner_text() == "CON_CONSENT_REQUIRED"
    assert page.locator("#error-step").inner_text() == "process 2"
    shots(page, "con-lookup-no-consent-kk")
    page.click("#lang-ru")
    page.wait_for_url(re.compile(r".*/con$"))

    page.select_option("#service_code", "S2")
    page.select_option("#region", "almaty")
    page.fill("#iin_bin", AIGUL)
    page.check("#consent")
    page.click("#lookup")
    assert page.locator("#applicant-name").inner_text() == "ИВАНОВА АЙГУЛЬ СЕРИКОВНА"
    assert json.loads(page.locator("#form_json").input_value())["vehicle"]["vin"]  # the service's example
    shots(page, "con-package")

    page.click("#pay")
    assert page.locator("#payment-id").inner_text().strip()
    for code in ("inspection_card", "vehicle_registration"):
        f = tmp_path / f"{code}.pdf"
        f.write_bytes(b"%PDF-1.4 scan of " + code.encode() + b"\n%%EOF\n")
        page.set_input_files(f"#doc-{code}", str(f))
    page.fill("#applicant_phone", "+7 701 000 00 01")
    page.fill("#applicant_email", "applicant@example.kz")
    shots(page, "con-package-filled")
    page.click("#to-sign")

    # process 5: the exact bytes, the command, the operator's own signature uploaded
    canonical_text = page.locator("#canonical").inner_text()
    document = json.loads(canonical_text)
    assert rfc8785.dumps(document) == canonical_text.encode("utf-8")
    assert document["channel"] == "con" and document["iin_bin"] == AIGUL and document["payment_id"]
    assert len(document["attachments"]) == 2 and document["operator"]["username"] == OPERATOR
    assert f"pki/demo/{OPERATOR}/sign/key.pem" in page.locator("#sign-command").inner_text()
    shots(page, "con-sign")
    # the applicant's key is not the operator's: ECP_NOT_CON_OPERATOR at process 5
    wrong = sign_file(Signer.from_dir(demo.key_dir(data_dir, AIGUL, "sign")), canonical_text.encode(), tmp_path, "wrong.sig")
    page.set_input_files("#signature_file", str(wrong))
    page.click("#submit")
    assert page.locator("#error-code").inner_text() == "ECP_NOT_CON_OPERATOR"
    assert page.locator("#error-step").inner_text() == "process 5"
    shots(page, "con-sign-refused")
    good = sign_file(Signer.from_dir(demo.key_dir(data_dir, OPERATOR, "sign")),
                     page.locator("#canonical").inner_text().encode(), tmp_path, "document.sig")
    page.set_input_files("#signature_file", str(good))
    page.click("#submit")
    page.wait_for_url(re.compile(r".*/con/receipts/[A-Za-z0-9-]+$"))

    number = page.locator("#receipt-number").inner_text().strip()
    assert number and page.url.endswith(f"/con/receipts/{number}")
    assert page.locator("#receipt").get_attribute("data-kind") == "acceptance"
    assert page.locator("#documents-count").inner_text() == "2"
    assert page.locator("#receipt-documents li").count() == 2
    assert "ИВАНОВА АЙГУЛЬ СЕРИКОВНА" in page.locator("#receipt-applicant").inner_text()
    assert page.locator("#result-issue").inner_text().strip()
    assert page.locator("#receipt-operator").inner_text().strip()
    assert page.locator("#handout-form").count() == 1
    shots(page, "con-receipt")

    # the status enquiry by the receipt's number
    page.goto(f"{web}/con")
    page.fill("#receipt-number", number)
    page.click("#status-submit")
    page.wait_for_url(re.compile(rf".*/con/receipts/{re.escape(number)}$"))
    assert page.locator("#receipt-number").inner_text().strip() == number
    # the hand-out before the result: the desk's refusal, shown with its code
    page.fill("#identity_document_number", "000000000")
    page.click("#handout-submit")
    assert page.locator("#error-code").inner_text() == "CON_RESULT_NOT_READY"
    shots(page, "con-handout-not-ready")
    assert len(shots.taken) >= 9 and all(p.stat().st_size > 1000 for p in shots.taken)
