"""The whole S2 Almaty request driven through the web pages in a real browser (headless Chromium,
Playwright): the applicant logs in, fills the form generated from the JSON Schema, attaches, pays,
signs (the signature made with the project's own signing code and uploaded through the page); the
demo operators complete their tasks (their list by due time, a task past its due time highlighted and
in the head's overdue view, the list in Kazakh once), the head signs the draft result; the cabinet shows
COMPLETED and the result's verification report. Screenshots of every page go to ``shots``."""
from __future__ import annotations

import json
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Callable

import httpx
import rfc8785

from egov import demo
from services.web.common import MESSAGES
from shared import regulations
from shared.signing import Signer

APPLICANT = demo.APPLICANTS[0]
CHROMIUM = "/usr/bin/chromium"


class Shots:
    def __init__(self, directory: Path):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.n = 0
        self.taken: list[Path] = []

    def __call__(self, page, name: str) -> None:
        self.n += 1
        path = self.directory / f"{self.n:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)


def sign_file(signer: Signer, content: bytes, directory: Path, name: str) -> Path:
    """What `egov sign` prints (base64 CMS over the bytes), saved as the user would save it."""
    path = directory / name
    path.write_text(signer.sign(content) + "\n")
    return path


def reload_until(page, predicate, timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
        page.reload()
    raise AssertionError(f"not in {timeout}s: {what} (at {page.url})")


def operator_task(page, web: str, number: str, step: str):
    """Open the operator's task of ``step`` for the application, waiting for it to arrive."""
    row = f'tr[data-number="{number}"][data-step="{step}"]'
    page.goto(f"{web}/arm")
    reload_until(page, lambda: page.locator(row).count() > 0, what=f"task {step} of {number}")
    page.locator(row).get_by_role("link").click()
    page.wait_for_load_state()


def drive(browser, web: str, portal: str, data_dir: Path, shots: Shots, work: Path,
          make_overdue: Callable[[str, str], None]) -> dict:
    """Returns what it saw (application number, final status, verification result). ``make_overdue(number,
    step)`` puts the open task of that step an hour past its due time (as if the time had run out)."""
    seen: dict = {}
    s2 = next(s for s in httpx.get(f"{portal}/api/v1/services").json() if s["code"] == "S2")
    almaty = next(v for v in s2["variants"] if v["region"] == "almaty")
    ecp_step = almaty["steps"]["ecp"]
    iin = APPLICANT["username"]

    # --- the applicant ---------------------------------------------------------------------
    applicant = browser.new_context(locale="ru-RU")
    page = applicant.new_page()
    page.goto(f"{web}/cabinet")
    assert "/cabinet/login" in page.url  # no session yet: the login page
    page.fill("#username", iin)
    page.fill("#password", "wrong-password")
    page.click("#login")
    assert page.locator("#error-code").inner_text() == "AUTH_FAILED"
    assert page.locator("#error-step").inner_text() == "process 2"
    shots(page, "cabinet-login-refused")
    page.fill("#username", iin)
    page.fill("#password", APPLICANT["password"])
    page.click("#login")
    page.wait_for_url(re.compile(r".*/cabinet$"))
    cookie = next(c for c in applicant.cookies() if c["name"] == "egov_applicant")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert page.evaluate("document.cookie").find("egov_applicant") == -1  # not readable by scripts

    page.click("#lang-kk")  # the language switch
    assert page.locator("h1").inner_text() == "Менің өтініштерім"
    shots(page, "cabinet-home-kk")
    page.click("#lang-ru")
    assert page.locator("h1").inner_text() == "Мои заявки"

    page.click("#new-request")
    shots(page, "catalogue")
    # the fee is the simulator's choice, the Almaty deadline the seed's (seed 001 п. 11)
    assert page.locator('tr[data-code="S2"] td.fee [data-source="simulator"]').count() == 1
    assert almaty["deadline_source"] in page.locator('tr[data-code="S2"] li[data-region="almaty"]').inner_text()
    page.click("#apply-S2")
    page.select_option("#region", "almaty")
    page.select_option("#subtype", "issue")
    assert page.input_value("#f-vehicle\\.vin")  # the form is generated from the schema, prefilled by the example
    shots(page, "apply-form")
    for code in ("inspection_card", "vehicle_registration"):
        f = work / f"{code}.pdf"
        f.write_bytes(b"%PDF-1.4 " + code.encode() + b"\n%%EOF\n")
        page.set_input_files(f"#doc-{code}", str(f))
    page.click("#to-payment")
    page.locator("#attached li").nth(1).wait_for()
    assert page.locator("#attached li").count() == 2
    shots(page, "payment")
    page.click("#pay")

    # the signing page: the exact canonical bytes, the command, the upload
    canonical_text = page.locator("#canonical").inner_text()
    document = json.loads(canonical_text)
    assert rfc8785.dumps(document) == canonical_text.encode("utf-8")
    assert document["iin_bin"] == iin and document["payment_id"] and document["region"] == "almaty"
    assert "egov sign --key" in page.locator("#sign-command").inner_text()
    shots(page, "sign")
    # an AUTH key is not for signing: the portal's refusal is shown with its code and step
    wrong = sign_file(Signer.from_dir(demo.key_dir(data_dir, iin, "auth")), canonical_text.encode(), work, "wrong.sig")
    page.set_input_files("#signature_file", str(wrong))
    page.click("#submit")
    assert page.locator("#error-code").inner_text() == "ECP_WRONG_KEY_USAGE"
    assert page.locator("#error-step").inner_text() == ecp_step  # the regulation's diagram box
    shots(page, "sign-refused")
    good = sign_file(Signer.from_dir(demo.key_dir(data_dir, iin, "sign")),
                     page.locator("#canonical").inner_text().encode(), work, "document.sig")
    page.set_input_files("#signature_file", str(good))
    page.click("#submit")
    page.wait_for_url(re.compile(r".*/cabinet/requests/[0-9a-f-]+$"))
    request_url = page.url
    reload_until(page, lambda: page.locator("#application-number").inner_text().strip() != "", what="registration")
    number = page.locator("#application-number").inner_text().strip()
    seen["number"] = number
    assert page.locator("#expected-source").get_attribute("data-source") == "seed"  # not an estimate
    shots(page, "request-registered")

    # --- the operators ---------------------------------------------------------------------
    ops = {}
    for username in ("ala-clerk", "ala-head", "ala-specialist"):
        ctx = browser.new_context()
        p = ctx.new_page()
        p.goto(f"{web}/arm")
        p.fill("#username", username)
        p.fill("#password", next(o for o in demo.operators() if o["username"] == username)["password"])
        p.click("#login")
        p.wait_for_url(re.compile(r".*/arm$"))
        ops[username] = p
    clerk, head, spec = ops["ala-clerk"], ops["ala-head"], ops["ala-specialist"]

    # the clerk's tasks by due time; this application's task past its due time is highlighted
    row = f'tr[data-number="{number}"][data-step="register"]'
    clerk.goto(f"{web}/arm")
    reload_until(clerk, lambda: clerk.locator(row).count() > 0, what=f"task register of {number}")
    make_overdue(number, "register")
    clerk.reload()
    assert "overdue" in clerk.locator(row).get_attribute("class").split()
    assert clerk.locator(row).locator(".badge-overdue").count() == 1
    dues = clerk.locator("#tasks tbody tr").evaluate_all("rows => rows.map(r => r.dataset.due)")
    timed = [datetime.fromisoformat(d) for d in dues if d]
    assert timed == sorted(timed) and dues == [d for d in dues if d] + [d for d in dues if not d], dues
    shots(clerk, "arm-tasks-overdue")
    # the list in Kazakh: the step titles of the process definitions
    register = regulations.all_processes()[almaty["process_id"]].step("register")
    clerk.click("#lang-kk")
    assert clerk.locator("h1").inner_text() == MESSAGES["kk"]["nav.my_tasks"]
    assert clerk.locator(row).locator("td.step").inner_text() == f"{register.no}. {register.title_kk}"
    shots(clerk, "arm-tasks-kk")
    clerk.click("#lang-ru")
    assert clerk.locator(row).locator("td.step").inner_text() == f"{register.no}. {register.title_ru}"
    # and the head sees it among the provider's overdue tasks
    head.goto(f"{web}/arm/overdue")
    assert head.locator(f"#overdue {row}").count() == 1
    shots(head, "arm-overdue-one")

    operator_task(clerk, web, number, "register")
    shots(clerk, "arm-task-register")
    clerk.click("#decision-registered")
    clerk.wait_for_url(re.compile(r".*/arm\?done=\d+$"))

    operator_task(head, web, number, "assign")
    head.click("#decision-assigned")  # without the assignee: provider_arm refuses, the page says why
    assert head.locator("#error-code").inner_text() == "TASK_DATA_INVALID"
    shots(head, "arm-assign-refused")
    head.fill("#assignee", "ala-specialist")
    head.click("#decision-assigned")
    head.wait_for_url(re.compile(r".*/arm\?done=\d+$"))

    operator_task(spec, web, number, "check")
    spec.click("#decision-documents_ok")
    spec.wait_for_url(re.compile(r".*/arm\?done=\d+$"))
    operator_task(spec, web, number, "prepare")
    spec.click("#decision-prepared")
    spec.wait_for_url(re.compile(r".*/arm\?done=\d+$"))

    head.goto(f"{web}/arm")
    shots(head, "arm-tasks-head")
    operator_task(head, web, number, "sign")
    draft = head.locator("#canonical").inner_text().encode()
    assert rfc8785.dumps(json.loads(draft)) == draft
    shots(head, "arm-sign-draft")
    sig = sign_file(Signer.from_dir(demo.key_dir(data_dir, "ala-head", "sign")), draft, work, "draft.sig")
    head.set_input_files("#signature_file", str(sig))
    head.click("#decision-signed")
    head.wait_for_url(re.compile(r".*/arm\?done=\d+$"))
    head.goto(f"{web}/arm/overdue")
    assert head.locator(f'#overdue tr[data-number="{number}"]').count() == 0  # done since: no longer overdue
    shots(head, "arm-overdue")

    operator_task(clerk, web, number, "handover")
    clerk.click("#decision-handed_over")
    clerk.wait_for_url(re.compile(r".*/arm\?done=\d+$"))

    # --- the result in the cabinet ---------------------------------------------------------
    page.goto(request_url)
    reload_until(page, lambda: page.locator("#status").get_attribute("data-status") == "COMPLETED",
                 what="COMPLETED in the cabinet")
    seen["status"] = page.locator("#status").get_attribute("data-status")
    assert page.locator("#timeline tbody tr").count() >= 3
    assert page.locator("#diagram").evaluate("img => img.complete && img.naturalWidth > 0")
    shots(page, "request-completed")
    page.click("#result-link")
    seen["valid"] = page.locator("#verification").get_attribute("data-valid")
    assert seen["valid"] == "true", page.locator("#report").inner_text()
    shots(page, "result-verified")
    page.goto(f"{web}/cabinet/notifications")
    assert page.locator("#notifications li").count() >= 1
    shots(page, "notifications")

    # --- login by ЭЦП: sign the challenge with the AUTH key, upload it ----------------------
    fresh = browser.new_context()
    p = fresh.new_page()
    p.goto(f"{web}/cabinet/login/ecp")
    challenge = p.locator("#challenge").inner_text().encode()
    shots(p, "ecp-login")
    sig = sign_file(Signer.from_dir(demo.key_dir(data_dir, iin, "auth")), challenge, work, "challenge.sig")
    p.set_input_files("#signature_file", str(sig))
    p.click("#ecp-submit")
    p.wait_for_url(re.compile(r".*/cabinet$"))
    assert p.locator(f'tr:has-text("{number}")').count() == 1
    shots(p, "cabinet-after-ecp-login")
    return seen
