"""The ЦОН flow (diagram No 1 of seed 003; seeds 000, 001, 004) replayed branch by branch on the running
system, for every S1/S2 variant (S1 Mangistau, S1 Zhambyl, S2 Almaty, S2 Mangistau, S2 Zhambyl), through
the ЦОН desk's API alone (its own catalogue and forms): the operator's lookups in ГБД ФЛ / ГБД ЮЛ / ЕНИС
(condition 1, refusals at process 4), the written consent, an incomplete package (a receipt of refusal),
the operator-signed submission through the gateway to ИС ГБД ЕЛ and the provider (processes 5–8), the
provider's refusal and the completed result, each handed out against the receipt (process 9) — to an
applicant in person and through a representative; the desk's time limits on its own clock; ИС ГБД ЕЛ's
checks on ЦОН submissions; no payment at condition 2 / process 5 (seed 000); paper results of portal
requests collected at the ЦОН, and the Aktobe results that stay electronic.

The requests that need the provider's operators are accepted together and worked together (one
module fixture, ``served``), so that the whole matrix costs about one request's time."""
from __future__ import annotations

import asyncio
import io
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import httpx
import jwt
import pypdfium2
import pytest
import zxingcpp
from pypdf import PdfReader
from sqlalchemy import select

from egov import demo
from services.e_licensing.models import Application
from shared import envelope
from shared.auth import load_secret
from shared.calendar import CALENDAR
from shared.db import Database
from shared.envelope import canonical
from shared.iin import make_bin, make_iin
from shared.regulations import find, services
from shared.regulations.con import con
from shared.signing import Signer
from shared.topics import MessageType, ServiceId, SystemId
from tests.scenarios.harness import World

from .conftest import PG_URL, running_system

pytestmark = pytest.mark.integration

AIGUL = "860717450455"            # ИВАНОВА АЙГУЛЬ — an individual applicant
MADINA = "921201450129"           # СЕРИКОВА МАДИНА — the representative in ЕНИС
MADINA_NAME = "СЕРИКОВА МАДИНА АСКАРОВНА"
DEMO_TRANS = "100340005775"       # ТОО «Демо Транс», its head АХМЕТОВ ЕРЛАН
POA_VALID = "2026-0001-N"         # Демо Транс → Мадина, S1/S2, in force
POA_REVOKED = "2025-0417-N"       # Айгуль → Мадина, revoked
REP_PHONE = {"phone": "+7 702 000 00 02"}
CONTACTS = {"phone": "+7 701 000 00 01", "email": "applicant@example.kz"}
DESKS = {"almaty": "con-ala", "mangistau": "con-mng", "zhambyl": "con-zhm"}
DOCUMENTS = {"S1": ("qualification_info", "vehicle_documents"), "S2": ("inspection_card", "vehicle_registration")}

#: the provider's staff of each variant: (username, step, decision, body); body None — the head signs
STAFF = {
    # seed 000 (first regulation) п. 7: clerk → head → executor → the Inspection's act → executor → head → clerk
    ("S1", "mangistau"): [("mng-clerk", "register", "registered", {}),
                          ("mng-head", "assign", "assigned", {"data": {"assignee": "mng-executor"}}),
                          ("mng-executor", "check", "documents_ok", {}), ("mng-inspector", "inspection", "conforms", {}),
                          ("mng-executor", "prepare", "prepared", {}), ("mng-head", "sign", "signed", None),
                          ("mng-clerk", "handover", "handed_over", {})],
    # seed 003 (second regulation) п. 5: clerk → head → department head → specialist → head → clerk
    ("S1", "zhambyl"): [("zhm-clerk", "register", "registered", {}), ("zhm-head", "review", "forwarded", {}),
                        ("zhm-dept-head", "assign", "assigned", {"data": {"assignee": "zhm-specialist"}}),
                        ("zhm-specialist", "check", "documents_ok", {}), ("zhm-specialist", "prepare", "prepared", {}),
                        ("zhm-head", "sign", "signed", None), ("zhm-clerk", "handover", "handed_over", {})],
    # seed 001/004 п. 9
    ("S2", "almaty"): [("ala-clerk", "register", "registered", {}),
                       ("ala-head", "assign", "assigned", {"data": {"assignee": "ala-specialist"}}),
                       ("ala-specialist", "check", "documents_ok", {}), ("ala-specialist", "prepare", "prepared", {}),
                       ("ala-head", "sign", "signed", None), ("ala-clerk", "handover", "handed_over", {})],
    # seed 000 (second regulation) п. 7
    ("S2", "mangistau"): [("mng-clerk", "register", "registered", {}), ("mng-head", "review", "forwarded", {}),
                          ("mng-dept-head", "assign", "assigned", {"data": {"assignee": "mng-executor"}}),
                          ("mng-executor", "check", "documents_ok", {}), ("mng-executor", "prepare", "prepared", {}),
                          ("mng-head", "sign", "signed", None), ("mng-clerk", "handover", "handed_over", {})],
    # seed 003 (first regulation) п. 5
    ("S2", "zhambyl"): [("zhm-clerk", "register", "registered", {}), ("zhm-head", "review", "forwarded", {}),
                        ("zhm-dept-head", "assign", "assigned", {"data": {"assignee": "zhm-specialist"}}),
                        ("zhm-specialist", "check", "documents_ok", {}), ("zhm-specialist", "prepare", "prepared", {}),
                        ("zhm-head", "sign", "signed", None), ("zhm-clerk", "handover", "handed_over", {})],
    # seed 002, приложение 5, п. 5 (portal only)
    ("S7", "aktobe"): [("akt-clerk", "register", "registered", {}),
                       ("akt-head", "assign", "assigned", {"data": {"assignee": "akt-executor"}}),
                       ("akt-executor", "check", "conforms", {}), ("akt-executor", "prepare", "prepared", {}),
                       ("akt-head", "sign", "signed", None), ("akt-head", "deliver", "delivered", {})],
}
#: where each variant's provider refuses: the Inspection's act "does not conform" in S1 Mangistau
#: (seed 000 п. 7 пп. 4), the check of the documents against п. 9 elsewhere (condition 2 / process 8)
REFUSAL_STEP = {("S1", "mangistau"): "inspection"}
VARIANTS = [("S1", "mangistau"), ("S1", "zhambyl"), ("S2", "almaty"), ("S2", "mangistau"), ("S2", "zhambyl")]


def staff(variant: tuple[str, str], refuse: bool) -> list[tuple]:
    at = REFUSAL_STEP.get(variant, "check")
    return [(u, step, "refuse", {"comment": "Не соответствует п. 9 Стандарта"}) if refuse and step == at else
            (u, step, decision, body) for u, step, decision, body in STAFF[variant]]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def sut(request, tmp_path_factory):
    if request.param == "postgresql" and not PG_URL:
        pytest.skip("EGOV_TEST_POSTGRES_URL is not set")
    with running_system(tmp_path_factory.mktemp(f"egov-con-{request.param}"), request.param) as s:
        yield s


class Desk:
    """A ЦОН operator at the desk, over the con service's API only."""

    def __init__(self, sut, username: str):
        self.sut = sut
        self.http = httpx.Client(base_url=sut.url("con") + "/api/v1", timeout=30)
        self.operator = next(o for o in demo.con_operators() if o["username"] == username)
        r = self.http.post("/auth/token", data={"username": username, "password": self.operator["password"]})
        assert r.status_code == 200, r.text
        self.token = r.json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"
        self.signer = Signer.from_dir(demo.key_dir(sut.settings.data_dir, username, "sign"))

    def ticket(self, minutes_ago: float = 0) -> str:
        """A queue ticket from the desk; ``minutes_ago`` > 0: one stamped that long ago with the desk's own
        key (the test's way to let the applicant wait in the queue)."""
        if not minutes_ago:
            r = self.http.post("/queue")
            assert r.status_code == 201, r.text
            return r.json()["ticket"]
        now = datetime.now(timezone.utc)
        secret = load_secret(self.sut.settings.data_dir / "secrets" / "con.key")
        return jwt.encode({"sub": self.operator["region"], "iss": "con-queue", "iat": now - timedelta(minutes=minutes_ago),
                           "exp": now + timedelta(hours=1)}, secret, algorithm="HS256")

    def lookup(self, iin_bin: str, region: str, service_code: str = "S2", **kw) -> httpx.Response:
        return self.http.post("/lookups", json={"service_code": service_code, "region": region, "iin_bin": iin_bin,
                                                "consent": True, **kw})

    def scan(self, code: str) -> dict:
        r = self.http.post("/attachments", files={"file": (f"{code}.pdf", b"%PDF-1.4 scan of " + code.encode(),
                                                           "application/pdf")})
        assert r.status_code == 201, r.text
        return {"attachment_id": r.json()["attachment_id"], "sha256": r.json()["sha256"], "code": code}

    def package(self, lookup: dict, service_code: str = "S2", *, codes: tuple[str, ...] | None = None,
                pay: bool = True, representative_contacts: dict | None = None) -> dict:
        payment_id = None
        if pay:
            r = self.http.post("/payments", json={"lookup_id": lookup["lookup_id"]})
            assert r.status_code == 201, r.text
            payment_id = r.json()["payment_id"]
        r = self.http.get(f"/services/{service_code}")  # the desk's own catalogue: the form and its example
        assert r.status_code == 200, r.text
        body = {"lookup_id": lookup["lookup_id"], "subtype": "issue", "form": r.json()["example"],
                "attachments": [self.scan(c) for c in (DOCUMENTS[service_code] if codes is None else codes)],
                "payment_id": payment_id, "applicant_contacts": CONTACTS}
        if representative_contacts:
            body["representative_contacts"] = representative_contacts
        r = self.http.post("/drafts", json=body)
        assert r.status_code == 200, r.text
        return r.json()

    def submit(self, document: dict, signer: Signer | None = None) -> httpx.Response:
        signature = (signer or self.signer).sign(canonical(document))
        return self.http.post("/applications", json={"document": document, "signature": signature})

    def receipt(self, number: str) -> dict:
        r = self.http.get(f"/receipts/{number}")
        assert r.status_code == 200, r.text
        return r.json()

    def handout(self, number: str, document_number: str | None, **kw) -> httpx.Response:
        return self.http.post(f"/receipts/{number}/handout", json={"identity_document_number": document_number or "",
                                                                   **kw})

    def wait(self, number: str, statuses: set[str], timeout: float = 90) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.http.get(f"/receipts/{number}")
            if r.status_code == 200 and r.json()["status"] in statuses:
                return r.json()
            time.sleep(0.3)
        raise AssertionError(f"receipt {number} did not reach {statuses}: {r.text}")


_DESKS: dict[tuple[str, str], Desk] = {}


def desk_of(sut, username: str) -> Desk:
    """The operator logged in once per running system (a login hashes the password: not free)."""
    key = (sut.url("con"), username)
    if key not in _DESKS:
        _DESKS[key] = Desk(sut, username)
    return _DESKS[key]


def error(r: httpx.Response, status: int, code: str, step: str | None = None) -> dict:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code, err
    if step is not None:
        assert err["step"] == step, err
    return err


def pdf_text(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF-")
    return " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


def qr_payload(pdf: bytes) -> str:
    """The QR code of the paper result, decoded from the rendered page (PDFium renders, zxing-cpp reads)."""
    doc = pypdfium2.PdfDocument(pdf)
    try:
        codes = zxingcpp.read_barcodes(doc[len(doc) - 1].render(scale=2).to_pil())
    finally:
        doc.close()
    assert [c.format for c in codes] == [zxingcpp.BarcodeFormat.QRCode], codes
    return codes[0].text


def admin(sut) -> dict:
    return {"Authorization": "Bearer " + (sut.settings.data_dir / "secrets" / "registries-admin.token").read_bytes().hex()}


def put_poa(sut, principal: str, scope: list[str], valid_from: str = "2026-01-01", valid_until: str = "2030-12-31") -> str:
    number = "T-" + uuid.uuid4().hex[:10]
    r = httpx.put(f"{sut.url('registries')}/api/v1/admin/powers-of-attorney/{number}", headers=admin(sut), json={
        "principal_iin_bin": principal, "representative_iin": MADINA, "scope": scope, "valid_from": valid_from,
        "valid_until": valid_until, "notary": "Нотариус (тест)"})
    assert r.status_code == 200, r.text
    return number


# --- the requests the provider works: accepted together, worked together --------------------------

@dataclass
class Case:
    """One request served at the desk from arrival to hand-out."""

    variant: tuple[str, str]
    who: str                          # "applicant" (in person) or "representative"
    refuse: bool
    applicant: str
    poa: str | None = None
    ticket_minutes_ago: float | None = None
    desk: Desk | None = None
    lookup: dict = field(default_factory=dict)
    accepted: dict = field(default_factory=dict)
    number: str | None = None         # the application number of ИС ГБД ЕЛ
    tasks: dict = field(default_factory=dict)
    not_ready: httpx.Response | None = None

    @property
    def id(self) -> str:
        return f"{self.variant[0]}-{self.variant[1]}-{self.who}"


@dataclass
class PortalCase:
    variant: tuple[str, str]
    username: str
    token: str
    request_id: str
    number: str | None = None
    tasks: dict = field(default_factory=dict)


def cases() -> list[Case]:
    out = []
    for variant in VARIANTS:
        in_person = DEMO_TRANS if variant[0] == "S1" else AIGUL  # S1: the carrier's head in person
        out.append(Case(variant, "applicant", False, in_person,
                        ticket_minutes_ago=0 if variant[1] in ("almaty", "zhambyl") else None))
        out.append(Case(variant, "representative", True, DEMO_TRANS, POA_VALID,
                        ticket_minutes_ago=20 if variant[1] == "almaty" else 25 if variant[1] == "zhambyl" else None))
    return out


CASE_IDS = [c.id for c in cases()]


def accept(desks: dict, case: Case) -> None:
    code, region = case.variant
    case.desk = desks[region]
    kw = {"queue_ticket": case.desk.ticket(case.ticket_minutes_ago)} if case.ticket_minutes_ago is not None else {}
    if case.who == "representative":
        kw.update(representative_iin=MADINA, power_of_attorney_number=case.poa)
    r = case.desk.lookup(case.applicant, region, code, **kw)
    assert r.status_code == 201, r.text
    case.lookup = r.json()
    doc = case.desk.package(case.lookup, code, representative_contacts=REP_PHONE if case.who == "representative" else None)
    r = case.desk.submit(doc)
    assert r.status_code == 201, r.text
    case.accepted = r.json()
    assert case.accepted["kind"] == "acceptance", case.accepted


def portal_document(c, token: str, code: str, region: str, iin_bin: str, *, pay: bool) -> dict:
    svc = next(s for s in c.portal("GET", "/services").json() if s["code"] == code)
    attachments = []
    for d in svc["required_documents"]:
        r = c.portal("POST", "/attachments", token, files={"file": (f"{d['code']}.pdf", b"%PDF-1.4 " + d["code"].encode(),
                                                                    "application/pdf")})
        assert r.status_code == 201, r.text
        attachments.append({"attachment_id": r.json()["attachment_id"], "sha256": r.json()["sha256"], "code": d["code"]})
    payment_id = None
    if pay:
        r = c.portal("POST", "/payments", token, json={"service_code": code, "region": region})
        assert r.status_code == 201, r.text
        payment_id = r.json()["payment_id"]
    return {"service_code": code, "region": region, "subtype": "issue", "iin_bin": iin_bin, "language": "ru",
            "form": svc["example"], "attachments": attachments, "payment_id": payment_id,
            "created_at": datetime.now(timezone.utc).isoformat(), "nonce": str(uuid.uuid4())}


def portal_submit(sut, username: str, token: str, code: str, region: str, *, pay: bool = True) -> PortalCase:
    c = sut.client
    doc = portal_document(c, token, code, region, username, pay=pay)
    r = c.submit(token, doc, c.signer(username).sign(canonical(doc)))
    assert r.status_code == 202, r.text
    return PortalCase((code, region), username, token, r.json()["request_id"])


def drive(c, runs: list[tuple[str, list[tuple]]], timeout: float = 150) -> dict[str, dict]:
    """Work several applications through their steps at once: each round asks every operator with a
    step to take for his tasks once, and completes what is there."""
    tokens: dict[str, str] = {}
    todo = {number: list(steps) for number, steps in runs}
    done = {number: {} for number, _ in runs}
    deadline = time.monotonic() + timeout
    while any(todo.values()):
        assert time.monotonic() < deadline, f"steps left: { {n: s[0][1] for n, s in todo.items() if s} }"
        progressed = False
        for username in sorted({steps[0][0] for steps in todo.values() if steps}):
            token = tokens.get(username) or tokens.setdefault(username, c.operator_token(username))
            for task in c.arm("GET", "/tasks", token).json():
                steps = todo.get(task["application"]["number"])
                if not steps or steps[0][0] != username or steps[0][1] != task["step"]["key"]:
                    continue
                _, step, decision, body = steps.pop(0)
                if body is None:  # the head signs the draft result with the organisation's ЭЦП
                    full = c.arm("GET", f"/tasks/{task['task_id']}", token).json()
                    body = {"signature": c.signer(username).sign(canonical(full["draft_result"]))}
                r = c.complete(token, task["task_id"], decision, **body)
                assert r.status_code == 200, r.text
                done[task["application"]["number"]][step] = task
                progressed = True
        if not progressed:
            time.sleep(0.3)
    return done


@dataclass
class Served:
    cases: dict[str, Case]
    revoked: Case
    portal: dict[str, PortalCase]
    aktobe: PortalCase
    unpaid: dict[str, object]
    foreign: dict[str, str]
    outage: httpx.Response
    after_outage: httpx.Response
    world: World


@pytest.fixture(scope="module")
def served(sut, tmp_path_factory) -> Served:
    desks = {region: desk_of(sut, username) for region, username in DESKS.items()}
    all_cases = cases()
    # a representative whose power of attorney is revoked after acceptance (S2 Almaty)
    revoked = Case(("S2", "almaty"), "representative", False, DEMO_TRANS, put_poa(sut, DEMO_TRANS, ["S2"]))
    unpaid: dict[str, object] = {}

    def at_the_desk(region: str) -> None:  # each office serves its own queue, the three at once
        for case in [*all_cases, revoked]:
            if case.variant[1] == region:
                accept(desks, case)
        for code, applicant in {"mangistau": [("S1", DEMO_TRANS), ("S2", AIGUL)],
                                "almaty": [("S2", AIGUL)]}.get(region, []):
            desk = desks[region]
            lk = desk.lookup(applicant, region, code).json()
            r = desk.submit(desk.package(lk, code, pay=False))
            assert r.status_code == 201, r.text
            unpaid[f"con-{code}-{region}"] = (desk, r.json())

    # through the portal: S2 Almaty results collected at the ЦОН in person and by a representative; S7
    # Aktobe, whose result stays electronic; unpaid S2 and S1 in Mangistau (seed 000's payment box)
    world = World(sut, demo.operators(), tmp_path_factory.mktemp("applicants"))

    def through_the_portal() -> dict:
        company = next(a for a in demo.APPLICANTS if a["username"] == DEMO_TRANS)
        aigul = next(a for a in demo.APPLICANTS if a["username"] == AIGUL)
        tokens = {AIGUL: sut.client.token(AIGUL, aigul["password"]),
                  DEMO_TRANS: sut.client.token(DEMO_TRANS, company["password"])}
        portal = {"applicant": portal_submit(sut, AIGUL, tokens[AIGUL], "S2", "almaty"),
                  "representative": portal_submit(sut, DEMO_TRANS, tokens[DEMO_TRANS], "S2", "almaty")}
        unpaid["portal-S2-mangistau"] = portal_submit(sut, AIGUL, tokens[AIGUL], "S2", "mangistau", pay=False)
        unpaid["portal-S1-mangistau"] = portal_submit(sut, DEMO_TRANS, tokens[DEMO_TRANS], "S1", "mangistau",
                                                      pay=False)
        who = world.applicant()
        run = world.submit(who, "S7", "aktobe", wait={"SUBMITTED", "REGISTERED", "IN_PROCESSING"})
        return {"portal": portal, "aktobe": PortalCase(("S7", "aktobe"), who.iin, who.token, run.request_id)}

    with ThreadPoolExecutor(4) as pool:
        desks_done = [pool.submit(at_the_desk, region) for region in DESKS]
        online = pool.submit(through_the_portal).result()
        for f in desks_done:
            f.result()
    portal, aktobe = online["portal"], online["aktobe"]
    foreign = send_foreign_submissions(sut, desks["almaty"])

    # every one registered (or refused at registration) before the provider begins
    c = sut.client
    for case in [*all_cases, revoked]:
        case.number = case.desk.wait(case.accepted["number"], {"REGISTERED", "IN_PROCESSING"})["application_number"]
    for p in [*portal.values(), aktobe]:
        p.number = c.wait_status(p.token, p.request_id, {"REGISTERED", "IN_PROCESSING"})["application_number"]
    for key, value in unpaid.items():
        if key.startswith("portal"):
            unpaid[key] = c.wait_status(value.token, value.request_id, {"REFUSED", "REGISTERED", "IN_PROCESSING"})
        else:
            desk, out = value
            unpaid[key] = desk.wait(out["number"], {"REFUSED", "REGISTERED", "IN_PROCESSING"})
    first = all_cases[0]
    first.not_ready = first.desk.handout(first.accepted["number"], first.lookup["applicant"]["document_number"])

    # the provider works them all; meanwhile the registries are down for a while, and the desk says so
    runs = [(case.number, staff(case.variant, case.refuse)) for case in [*all_cases, revoked]]
    runs += [(p.number, staff(p.variant, False)) for p in [*portal.values(), aktobe]]
    with ThreadPoolExecutor(1) as pool:
        worked = pool.submit(drive, c, runs)
        # the registries hang (their process stopped by SIGSTOP, not ended): the gateway's sync call
        # waits its limit and answers SYNC_TIMEOUT; nothing the provider does needs them
        registries = sut.stack.procs["registries"]
        registries.send_signal(signal.SIGSTOP)
        try:
            outage = desks["almaty"].lookup(AIGUL, "almaty")
        finally:
            registries.send_signal(signal.SIGCONT)
        # back: the operator retries the retryable refusal until the registries answer again
        deadline = time.monotonic() + 60
        while (after_outage := desks["almaty"].lookup(AIGUL, "almaty")).status_code in (503, 504):
            assert time.monotonic() < deadline, after_outage.text
            time.sleep(0.5)
        tasks = worked.result(timeout=200)
    for case in [*all_cases, revoked, *portal.values(), aktobe]:
        case.tasks = tasks[case.number]
    return Served({c.id: c for c in all_cases}, revoked, portal, aktobe, unpaid, foreign, outage, after_outage, world)


def assert_receipt(case: Case, receipt: dict, *, kind: str = "acceptance", codes: tuple[str, ...] | None = None) -> None:
    """Every field of the receipt the seeds list (000 п. 10, 001 п. 10, 003 п. 10)."""
    code, region = case.variant
    svc = services()[code]
    office = con().offices[region]
    accepted = datetime.fromisoformat(receipt["accepted_at"])
    assert receipt["kind"] == kind and receipt["number"].startswith("CON-")
    assert receipt["date"] == accepted.date().isoformat()
    assert receipt["title_ru"] == ("Расписка о приеме документов" if kind == "acceptance"
                                   else "Расписка об отказе в приеме документов")
    assert receipt["service"] == {"code": code, "title_ru": svc.title_ru, "title_kk": svc.title_kk,
                                  "subtype": "issue", "region": region}
    titles = {d.code: d.title_ru for d in svc.documents}
    codes = DOCUMENTS[code] if codes is None else codes
    assert [d["title_ru"] for d in receipt["documents"]] == [titles[c] for c in codes]
    assert receipt["documents_count"] == len(codes)
    assert receipt["operator"]["full_name"] == case.desk.operator["full_name"]
    assert receipt["con"] == {"name_ru": con().name_ru, "office": office["name_ru"], "address": office["address"]}
    name = "ТОО «Демо Транс»" if case.applicant == DEMO_TRANS else "ИВАНОВА АЙГУЛЬ СЕРИКОВНА"
    assert receipt["applicant"] == {"iin_bin": case.applicant, "kind": "BIN" if case.applicant == DEMO_TRANS else "IIN",
                                    "name": name, "contacts": CONTACTS}
    if case.who == "representative":
        assert receipt["representative"] == {"iin": MADINA, "name": MADINA_NAME, "contacts": REP_PHONE,
                                             "power_of_attorney_number": case.poa}
    else:
        assert receipt["representative"] is None
    if kind == "acceptance":
        process = find(code, region)
        subtype = "issue" if "issue" in {t.key for t in process.subtypes} else None
        due = process.result_due(accepted, subtype)
        assert receipt["result_issue"] == {
            "due_at": due.isoformat(), "date": due.date().isoformat(), "time": due.strftime("%H:%M"),
            "place": f"{office['name_ru']}, {office['address']}", "estimated": process.deadlines_estimated,
            "deadline_source": process.deadline_source}


# --- the catalogue -------------------------------------------------------------------------------

def test_the_desk_has_its_own_catalogue_of_s1_and_s2(sut):
    r = httpx.get(sut.url("con") + "/api/v1/services")
    assert r.status_code == 200, r.text
    cat = {e["code"]: e for e in r.json()}
    assert {code: [v["region"] for v in e["variants"]] for code, e in cat.items()} == {
        "S1": ["mangistau", "zhambyl"], "S2": ["almaty", "mangistau", "zhambyl"]}
    assert cat["S2"]["example"] == services()["S2"].example and cat["S2"]["form_schema"]["type"] == "object"
    error(httpx.get(sut.url("con") + "/api/v1/services/S3"), 422, "SERVICE_UNKNOWN")
    # the portal's services of Aktobe are not taken at the desk
    desk = desk_of(sut, "con-ala")
    error(desk.lookup(AIGUL, "aktobe", "S3"), 422, "SERVICE_UNKNOWN")


# --- the branches that stop at the desk, for every variant -----------------------------------------

@pytest.mark.parametrize("variant", VARIANTS, ids=[f"{c}-{r}" for c, r in VARIANTS])
def test_diagram_1_stops_at_the_desk(sut, variant):
    code, region = variant
    desk = desk_of(sut, DESKS[region])
    # condition 1 / process 4: the person is not in ГБД ФЛ, the power of attorney not in ЕНИС, or revoked
    error(desk.lookup(make_iin(date(1979, 5, 6), "M", 4711), region, code), 404, "PERSON_NOT_FOUND", "process 4")
    error(desk.lookup(DEMO_TRANS, region, code, representative_iin=MADINA, power_of_attorney_number="2026-9999-N"),
          404, "POWER_OF_ATTORNEY_NOT_FOUND", "process 4")
    error(desk.lookup(AIGUL, region, code, representative_iin=MADINA, power_of_attorney_number=POA_REVOKED),
          422, "POWER_OF_ATTORNEY_REVOKED", "process 4")
    # an incomplete package: a receipt of refusal — to the applicant in person or to a representative
    # (by turns over the variants; both are served to the end in test_diagram_1_served_…)
    for who in [("applicant", "representative")[VARIANTS.index(variant) % 2]]:
        case = Case(variant, who, False, DEMO_TRANS if who == "representative" or code == "S1" else AIGUL,
                    POA_VALID if who == "representative" else None, desk=desk)
        kw = {"representative_iin": MADINA, "power_of_attorney_number": POA_VALID} if who == "representative" else {}
        lk = desk.lookup(case.applicant, region, code, **kw)
        assert lk.status_code == 201, lk.text
        doc = desk.package(lk.json(), code, codes=DOCUMENTS[code][:1], pay=False,
                           representative_contacts=REP_PHONE if who == "representative" else None)
        r = desk.submit(doc)
        assert r.status_code == 201, r.text
        out = r.json()
        assert out["kind"] == "refusal" and out["status"] == "NOT_ACCEPTED" and out["request_id"] is None
        assert_receipt(case, out["receipt"], kind="refusal", codes=DOCUMENTS[code][:1])
        missing = services()[code].documents
        assert out["receipt"]["refusal"]["code"] == "DOCUMENTS_INCOMPLETE"
        assert [m["code"] for m in out["receipt"]["refusal"]["missing_documents"]] == [
            d.code for d in missing if d.required and d.code != DOCUMENTS[code][0]]
        assert desk.receipt(out["number"])["status"] == "NOT_ACCEPTED"
        # nothing to hand out against a receipt of refusal; the same signed form is not taken twice
        error(desk.handout(out["number"], lk.json()["applicant"]["document_number"]), 404, "RECEIPT_NOT_FOUND")
        error(desk.submit(doc), 409, "DUPLICATE_REQUEST")


def test_without_consent_nothing_is_asked(sut):
    desk = desk_of(sut, "con-ala")
    error(desk.http.post("/lookups", json={"service_code": "S2", "region": "almaty", "iin_bin": AIGUL}),
          400, "CON_CONSENT_REQUIRED", "process 2")
    # a valid power of attorney, but not given by this applicant
    error(desk.lookup(AIGUL, "almaty", representative_iin=MADINA, power_of_attorney_number=POA_VALID),
          404, "POWER_OF_ATTORNEY_NOT_FOUND", "process 4")


def test_desk_lookups_refuse_unknown_inactive_organisations_and_powers_out_of_force(sut):
    desk = desk_of(sut, "con-zhm")
    error(desk.lookup(make_bin(2019, 4, serial=91), "zhambyl", "S1"), 404, "ORGANISATION_NOT_FOUND", "process 4")
    for n, status in enumerate(("LIQUIDATED", "SUSPENDED")):
        bin_ = make_bin(2018, 3, serial=70 + n)
        r = httpx.put(f"{sut.url('registries')}/api/v1/admin/organisations/{bin_}", headers=admin(sut), json={
            "name": f"ТОО «{status.title()}»", "head_iin": "790302312018", "head_name": "АХМЕТОВ ЕРЛАН БОЛАТОВИЧ",
            "address": "г. Тараз, ул. Абая, 1", "status": status})
        assert r.status_code == 200 and r.json()["organisation"]["status"] == status, r.text
        err = error(desk.lookup(bin_, "zhambyl", "S1"), 422, "ORGANISATION_NOT_ACTIVE", "process 4")
        assert err["message_kk"]
    expired = put_poa(sut, DEMO_TRANS, ["S1", "S2"], "2020-01-01", "2020-12-31")
    error(desk.lookup(DEMO_TRANS, "zhambyl", "S2", representative_iin=MADINA, power_of_attorney_number=expired),
          422, "POWER_OF_ATTORNEY_EXPIRED", "process 4")
    only_s1 = put_poa(sut, DEMO_TRANS, ["S1"])
    error(desk.lookup(DEMO_TRANS, "zhambyl", "S2", representative_iin=MADINA, power_of_attorney_number=only_s1),
          422, "POWER_OF_ATTORNEY_SCOPE", "process 4")
    assert desk.lookup(DEMO_TRANS, "zhambyl", "S1", representative_iin=MADINA,
                       power_of_attorney_number=only_s1).status_code == 201
    # a queue ticket is the desk's, of this office: not a login token, not another office's ticket
    error(desk.lookup(AIGUL, "zhambyl", queue_ticket=desk.token), 422, "VALIDATION_ERROR")
    error(desk.lookup(AIGUL, "zhambyl", queue_ticket=desk_of(sut, "con-ala").ticket()), 422, "VALIDATION_ERROR")


def test_only_the_logged_in_operators_signature_is_accepted(sut):
    desk = desk_of(sut, "con-ala")
    lk = desk.lookup(AIGUL, "almaty").json()
    doc = desk.package(lk, pay=False)
    applicant = Signer.from_dir(demo.key_dir(sut.settings.data_dir, AIGUL, "sign"))
    error(desk.submit(doc, signer=applicant), 403, "ECP_NOT_CON_OPERATOR", "process 5")
    other = Signer.from_dir(demo.key_dir(sut.settings.data_dir, "con-zhm", "sign"))
    error(desk.submit(doc, signer=other), 403, "ECP_NOT_CON_OPERATOR", "process 5")


def send_foreign_submissions(sut, desk: Desk) -> dict[str, str]:
    """A channel "con" submission as the portal sends it (signed by a real ЦОН operator), and one the ЦОН
    sends signed by an employee of another BIN (the provider's clerk): sender → request id."""
    draft = desk.package(desk.lookup(AIGUL, "almaty").json(), pay=False)
    provider_employee = Signer.from_dir(demo.key_dir(sut.settings.data_dir, "ala-clerk", "sign"))
    sent = {}
    for sender, signer in ((SystemId.PORTAL, desk.signer), (SystemId.CON, provider_employee)):
        keys = sut.settings.pki_dir / "systems" / sender
        request_id, doc = str(uuid.uuid4()), dict(draft, nonce=uuid.uuid4().hex)
        env = envelope.build(service_id=ServiceId.ELICENSE_SUBMIT, message_type=MessageType.REQUEST, sender_id=sender,
                             correlation_id=request_id,
                             data={"request_id": request_id, "document": doc, "signature": signer.sign(canonical(doc)),
                                   "channel": "con", "receipt_number": "CON-2026-9999999",
                                   "applicant": {"iin_bin": AIGUL, "kind": "IIN"}})
        envelope.sign(env, Signer.from_dir(keys))
        env["messageInfo"]["sender"]["password"] = (keys / "password").read_text().strip()
        r = httpx.post(sut.url("gateway") + "/shep/v1/async/messages", json=env)
        assert r.status_code == 200, r.text
        sent[sender] = request_id
    return sent


def test_e_licensing_takes_a_con_document_only_from_the_con_signed_by_its_operator(served):
    # docs/con.md "How ИС ГБД ЕЛ trusts the operator's signature": a channel "con" submission sent by
    # another system, or signed by an employee of another BIN, is refused at registration, never numbered
    sut = served.world.system

    async def applications():
        db = Database(sut.settings.database_url("e_licensing"))
        try:
            async with db.read() as s:
                rows = await s.scalars(select(Application).where(Application.request_id.in_(served.foreign.values())))
                return {a.request_id: (a.status, a.refusal_code, a.number) for a in rows}
        finally:
            await db.dispose()

    deadline = time.monotonic() + 60
    while len(found := asyncio.run(applications())) < len(served.foreign):
        assert time.monotonic() < deadline, found
        time.sleep(0.5)
    assert set(found.values()) == {("REFUSED", "ECP_NOT_CON_OPERATOR", None)}


# --- from arrival to hand-out, for every variant, in person and through a representative -----------

def test_a_registry_outage_at_the_desk_is_retryable(served):
    # the registries hang: the lookup cannot be answered — a retryable refusal, not a verdict
    r = served.outage
    assert r.status_code in (503, 504) and r.json()["error"]["code"] in ("UNAVAILABLE", "SYNC_TIMEOUT"), r.text
    assert r.headers.get("retry-after")
    assert served.after_outage.status_code == 201, served.after_outage.text


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_diagram_1_served_from_arrival_to_hand_out(served, case_id):
    case = served.cases[case_id]
    desk, number = case.desk, case.accepted["number"]
    code, region = case.variant
    assert_receipt(case, case.accepted["receipt"])
    assert case.accepted["status"] == "SUBMITTED" and case.accepted["request_id"]
    assert case.number.startswith("EL-")
    if case.not_ready is not None:  # the status enquiry before the result came
        error(case.not_ready, 409, "CON_RESULT_NOT_READY", "process 9")

    # the desk's limits on its own clock (seed 001 п. 10; seed 003 п. 9, п. 10); Mangistau gives none
    desk_times = {t["kind"]: t for t in case.accepted["receipt"]["desk_times"]}
    timeline = desk.receipt(number)["timeline"]
    if region == "almaty":
        queue = desk_times.pop("queue")
        assert queue["limit_minutes"] == 15 and queue["source"] == "seed 001 п. 10" and queue["measured"]
        waited = case.ticket_minutes_ago
        assert waited <= queue["actual_minutes"] < waited + 5
        assert queue["within_limit"] is (waited <= 15)
        assert ("Превышено время ЦОН" in timeline[0]["note"]) is (waited > 15)
    if region == "zhambyl":
        acceptance = desk_times.pop("acceptance")
        assert acceptance["limit_minutes"] == 20 and acceptance["source"] == "seed 003 п. 10 пп. 2)"
        assert acceptance["measured"] and acceptance["actual_minutes"] < 5 and acceptance["within_limit"] is True
    assert desk_times == {}

    # the provider's hand-over to the ЦОН runs the ЦОН channel's limit (Zhambyl: the courier, 2 h for
    # S2, 4 h for S1 — seed 003), not the personal cabinet's 20 minutes
    handover = case.tasks["handover"]
    step = find(code, region).step("handover")
    assert datetime.fromisoformat(handover["due_at"]) == CALENDAR.deadline(
        datetime.fromisoformat(handover["created_at"]), *step.limit_for("issue", "con"))
    if region == "zhambyl":
        assert step.limit_for("issue", "con") == ((4 if code == "S1" else 2), "hours")

    done = desk.wait(number, {"COMPLETED", "REFUSED"})
    assert done["status"] == ("REFUSED" if case.refuse else "COMPLETED")
    result = done["result"]
    assert result["kind"] == ("refusal" if case.refuse else find(code, region).result_kind)
    # the paper document the ЦОН hands out, printed from the signed result: its text and its QR code
    pdf = desk.http.get(f"/receipts/{number}/result.pdf")
    assert pdf.status_code == 200, pdf.text
    text = pdf_text(pdf.content)
    if case.refuse:
        assert "Основание отказа: Не соответствует п. 9 Стандарта" in text and case.number in text
    else:
        permit = result["document"]["number"]
        assert permit in text
        verify = f"{served.world.system.url('e_licensing')}/api/v1/permits/{permit}"
        assert qr_payload(pdf.content) == f"{permit} {verify}" and verify in text

    # process 9: against the receipt and an identity document (and the power of attorney)
    applicant_doc = case.lookup["applicant"]["document_number"]
    rep_doc = (case.lookup["representative"] or {}).get("document_number")
    error(desk.handout(number, "000000000"), 403, "HANDOUT_IDENTITY_MISMATCH", "process 9")
    hand = {}
    if case.ticket_minutes_ago is not None:
        hand["queue_ticket"] = desk.ticket(case.ticket_minutes_ago)
    if case.who == "representative":
        # a power of attorney of another principal does not serve
        error(desk.handout(number, rep_doc, representative_iin=MADINA, power_of_attorney_number=POA_REVOKED),
              404, "POWER_OF_ATTORNEY_NOT_FOUND", "process 9")
        r = desk.handout(number, rep_doc, representative_iin=MADINA, power_of_attorney_number=case.poa, **hand)
        assert r.status_code == 200, r.text
        assert r.json()["handout"]["to"] == {"who": "representative", "iin": MADINA, "name": MADINA_NAME,
                                             "power_of_attorney_number": case.poa}
    else:
        r = desk.handout(number, applicant_doc, **hand)
        assert r.status_code == 200, r.text
        name = "ТОО «Демо Транс»" if case.applicant == DEMO_TRANS else "ИВАНОВА АЙГУЛЬ СЕРИКОВНА"
        assert r.json()["handout"]["to"] == {"who": "applicant", "iin_bin": case.applicant, "name": name}
    out = r.json()
    assert out["status"] == "HANDED_OUT" and out["handout"]["operator"] == desk.operator["full_name"]
    limits = {t["kind"]: t for t in out["handout"]["desk_times"]}
    if region == "zhambyl":  # seed 003 п. 10: the hand-out within 20 minutes, from the queue ticket
        assert limits["handout"]["limit_minutes"] == 20 and limits["handout"]["source"] == "seed 003 п. 10"
        assert limits["handout"]["within_limit"] is (case.ticket_minutes_ago <= 20)
        assert ("Превышено время ЦОН" in out["timeline"][-1]["note"]) is (case.ticket_minutes_ago > 20)
    else:
        assert limits == {}  # Almaty limits the queue at handing in only (seed 001 п. 10)
    error(desk.handout(number, applicant_doc), 409, "RESULT_ALREADY_HANDED_OUT")


def test_a_power_of_attorney_revoked_after_acceptance_is_refused_at_hand_out(served):
    case = served.revoked
    sut = served.world.system
    desk, number = case.desk, case.accepted["number"]
    assert case.accepted["receipt"]["representative"]["power_of_attorney_number"] == case.poa
    desk.wait(number, {"COMPLETED"})
    r = httpx.post(f"{sut.url('registries')}/api/v1/admin/powers-of-attorney/{case.poa}/revoke", headers=admin(sut))
    assert r.status_code == 200 and r.json()["power_of_attorney"]["revoked"] is True, r.text
    rep_doc = case.lookup["representative"]["document_number"]
    error(desk.handout(number, rep_doc, representative_iin=MADINA, power_of_attorney_number=case.poa),
          422, "POWER_OF_ATTORNEY_REVOKED", "process 9")
    assert desk.receipt(number)["status"] == "COMPLETED"
    # the company's head collects it in person instead
    r = desk.handout(number, case.lookup["applicant"]["document_number"])
    assert r.status_code == 200 and r.json()["handout"]["to"]["who"] == "applicant", r.text


@pytest.mark.parametrize("who", ["applicant", "representative"])
def test_a_paper_result_of_a_portal_request_is_collected_at_the_con(served, who):
    # seed 001 п. 3 (the certificate "в бумажном виде"), 003 п. 3 and п. 9: a request made through the
    # portal gets its paper result at the ЦОН — the cabinet is told where and from when; the ЦОН has it
    # under P-<application number> and hands it out against the applicant's identity document (ГБД ФЛ),
    # or a representative's and his power of attorney (ЕНИС)
    p = served.portal[who]
    sut = served.world.system
    c = sut.client
    view = c.wait_status(p.token, p.request_id, {"COMPLETED"})
    desk = desk_of(sut, "con-ala")
    pickup = desk.wait(f"P-{p.number}", {"COMPLETED"})
    assert pickup["kind"] == "pickup" and pickup["result"]["kind"] == "certificate"
    pdf = desk.http.get(f"/receipts/P-{p.number}/result.pdf").content
    permit = pickup["result"]["document"]["number"]
    assert permit in pdf_text(pdf) and qr_payload(pdf).startswith(f"{permit} http")
    # the cabinet's notice: the place and the date of the pickup (the next working day after the result)
    office = con().offices["almaty"]
    notices = [n for n in c.portal("GET", "/notifications", p.token).json() if n["request_id"] == p.request_id
               and "на бумажном носителе" in n["text_ru"]]
    assert len(notices) == 1, notices
    notice = notices[0]
    day = CALENDAR.deadline(datetime.fromisoformat(notice["created_at"]), 1, "working_days").astimezone(CALENDAR.tz)
    assert f"{office['name_ru']}, {office['address']}, с {day:%d.%m.%Y}," in notice["text_ru"], notice
    assert f"{day:%d.%m.%Y} бастап" in notice["text_kk"]
    assert view["application_number"] == p.number

    error(desk.handout(f"P-{p.number}", "000000000"), 403, "HANDOUT_IDENTITY_MISMATCH")
    if who == "applicant":
        lk = desk.lookup(AIGUL, "almaty").json()
        r = desk.handout(f"P-{p.number}", lk["applicant"]["document_number"])
        assert r.status_code == 200, r.text
        assert r.json()["handout"]["to"] == {"who": "applicant", "iin_bin": AIGUL, "name": "ИВАНОВА АЙГУЛЬ СЕРИКОВНА"}
    else:
        lk = desk.lookup(DEMO_TRANS, "almaty", representative_iin=MADINA, power_of_attorney_number=POA_VALID).json()
        rep_doc = lk["representative"]["document_number"]
        error(desk.handout(f"P-{p.number}", rep_doc, representative_iin=MADINA, power_of_attorney_number=POA_REVOKED),
              404, "POWER_OF_ATTORNEY_NOT_FOUND", "process 9")
        r = desk.handout(f"P-{p.number}", rep_doc, representative_iin=MADINA, power_of_attorney_number=POA_VALID)
        assert r.status_code == 200, r.text
        assert r.json()["handout"]["to"] == {"who": "representative", "iin": MADINA, "name": MADINA_NAME,
                                             "power_of_attorney_number": POA_VALID}
    assert r.json()["status"] == "HANDED_OUT"


def test_an_aktobe_result_stays_electronic(served):
    # seed 002: the Aktobe services' results are electronic documents in the personal cabinet — no
    # paper notice, nothing to collect at the ЦОН (the S2 pickups of the same batch came there)
    p = served.aktobe
    sut = served.world.system
    c = sut.client
    assert c.wait_status(p.token, p.request_id, {"COMPLETED"})["application_number"] == p.number
    for portal in served.portal.values():
        desk_of(sut, "con-ala").wait(f"P-{portal.number}", {"COMPLETED", "HANDED_OUT"})
    result = c.portal("GET", f"/requests/{p.request_id}/result", p.token)
    assert result.status_code == 200 and result.json()["kind"] == "accreditation_certificate", result.text
    notes = [n["text_ru"] for n in c.portal("GET", "/notifications", p.token).json() if n["request_id"] == p.request_id]
    assert notes and not any("бумажном" in n or "ЦОН" in n for n in notes), notes
    error(desk_of(sut, "con-ala").http.get(f"/receipts/P-{p.number}"), 404, "RECEIPT_NOT_FOUND")


@pytest.mark.parametrize("key", ["portal-S2-mangistau", "portal-S1-mangistau", "con-S1-mangistau",
                                 "con-S2-mangistau", "con-S2-almaty"])
def test_without_a_pshep_payment_the_request_is_refused_at_condition_2(served, key):
    # seed 000, portal diagram: process 4 — payment at ПШЭП; condition 2 — ИС ГБД ЕЛ checks the payment
    # fact; process 5 — refused: no payment. The same check for the ЦОН's submissions
    view = served.unpaid[key]
    assert view["status"] == "REFUSED" and not view["application_number"], view
    refusal = next(e for e in view["timeline"] if e["status"] == "REFUSED")
    if key.startswith("portal"):
        assert refusal["step"] == "process 5" and "PAYMENT_NOT_FOUND" in refusal["note"], refusal
    else:
        assert view["refusal_code"] == "PAYMENT_NOT_FOUND" and view["kind"] == "acceptance"
