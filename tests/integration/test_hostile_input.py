"""Hostile input, on a stack of its own (what these calls do must not disturb the other tests):

* a corpus of inputs that used to end in a 500, or worse — each must get its exact 4xx and
  catalogue code, and no error body may carry a stack trace, SQL or a path;
* the access limits, on this stack's small ones: lockout after wrong passwords (counted per account,
  and per browser when the login comes through the web pages), the registration rate, the
  applicant's daily quota, files taken for what their bytes are; the submission's own contract
  (one file per required document, a fresh ``created_at``);
* schemathesis against every service's OpenAPI (the pages of ``web`` too, with each area's session
  cookie), with authentication, a bounded number of examples per operation: no server errors.
"""
from __future__ import annotations

import base64
import json
import re
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from egov import demo
from shared.errors import CATALOGUE
from shared.iin import random_iin

from .conftest import running_system

pytestmark = pytest.mark.integration

APPLICANT = demo.APPLICANTS[0]
#: the ЦОН operator the hunt works as (the lockout test locks another one)
CON_OPERATOR = "con-ala"
#: schemathesis examples per operation (make test stays short; raise it for a longer hunt); fewer for
#: the pages (each call is two hops) and the registries' admin API (many similar operations)
EXAMPLES = 25
FEWER_EXAMPLES = {"web": 10, "registries": 10, "con": 15}
#: nothing a caller sends may bring these back in an error body
LEAKS = re.compile(r"Traceback|File \"|/work/|site-packages|sqlalchemy|SELECT \S.* FROM |INSERT INTO |asyncpg|aiosqlite",
                   re.I)


#: this stack's limits, small enough to reach in a test: failed logins per address, registrations
#: per address, an applicant's upload bytes per day (the per-account lockout keeps its 5 in 5 minutes)
FAILURES_PER_ADDRESS, REGISTRATIONS, DAILY_BYTES = 10, 3, 300_000


@pytest.fixture(scope="module")
def sut(tmp_path_factory):
    # every call that fails on purpose comes from an address of its own (X-Forwarded-For, believed from
    # the loopback proxy), so that these small limits hold back only the test that aims at them
    env = {"EGOV_LOGIN_FAILURES_PER_ADDRESS": f"{FAILURES_PER_ADDRESS}/5minutes",
           "EGOV_PORTAL_REGISTRATIONS": f"{REGISTRATIONS}/hour",
           "EGOV_PORTAL_DAILY_ATTACHMENT_BYTES": str(DAILY_BYTES)}
    with running_system(tmp_path_factory.mktemp("egov-hostile"), env=env) as system:
        yield system


@pytest.fixture(scope="module")
def auth(sut) -> dict:
    """Credentials for every kind of caller: an applicant, an operator (the head), the gateway's admin,
    a system's Basic credentials at the gateway, the CA operator."""
    c, pki = sut.client, sut.settings.pki_dir
    portal_password = (pki / "systems" / "portal" / "password").read_text().strip()
    return {
        "portal_password": portal_password,
        "applicant": {"Authorization": f"Bearer {c.token(APPLICANT['username'], APPLICANT['password'])}"},
        "operator": {"Authorization": f"Bearer {c.operator_token('ala-head')}"},
        "admin": {"Authorization": "Bearer " + (sut.settings.data_dir / "secrets" / "gateway-admin.token").read_bytes().hex()},
        "system": {"Authorization": "Basic " + base64.b64encode(f"portal:{portal_password}".encode()).decode()},
        "ca": {"Authorization": "Basic " + base64.b64encode(
            ("nca-operator:" + (sut.settings.data_dir / "secrets" / "nca-operator.password").read_text().strip())
            .encode()).decode()},
        "registries": {"Authorization": "Bearer " + (sut.settings.data_dir / "secrets" / "registries-admin.token")
                       .read_bytes().hex()},
        "con": {"Authorization": f"Bearer {_con_token(sut, CON_OPERATOR)}"},
    }


def _con_token(sut, username: str) -> str:
    op = next(o for o in demo.con_operators() if o["username"] == username)
    r = httpx.post(sut.url("con") + "/api/v1/auth/token", data={"username": username, "password": op["password"]})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def assert_refused(r: httpx.Response, status: int, code: str) -> dict:
    assert r.status_code == status, (r.status_code, r.text[:500])
    body = r.json()["error"]
    assert body["code"] == code and body["message_ru"] and body["message_kk"], body
    assert not LEAKS.search(r.text), r.text
    return body


# --- the corpus ---------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    b'{"document": {"n": NaN}, "signature": "x"}',
    b'{"document": {"n": Infinity}, "signature": "x"}',
    b'{"document": {"n": -Infinity}, "signature": "x"}',
    b'{"document": {"n": 1e400}, "signature": "x"}',
    b'{"document": {"n": 9223372036854775808}, "signature": "x"}',
    b'{"document": {"n": 9007199254740993}, "signature": "x"}',
    b'{"document": ' + b'[' * 5000 + b']' * 5000 + b', "signature": "x"}',
    b'{"document": {}, "signature": "x"',  # not JSON at all
    '{"document": {"n": "\udc80"}, "signature": "x"}'.encode("utf-8", "surrogatepass"),
])
def test_numbers_and_json_jcs_cannot_hold_are_form_invalid(sut, auth, raw):
    r = sut.client.http.post(sut.url("portal") + "/api/v1/requests", content=raw,
                             headers={**auth["applicant"], "Content-Type": "application/json"})
    assert_refused(r, 422, "FORM_INVALID")


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", str(2**63), str(-(2**63) - 1),
                                    str(2**53 + 1), '"\\udc80"'])
def test_the_gateway_refuses_numbers_jcs_cannot_hold(sut, number):
    env = {"messageInfo": {"serviceId": "ELICENSE_SUBMIT", "messageType": "REQUEST",
                           "sender": {"senderId": "portal", "password": "x"}},
           "messageData": {"data": {"n": 1}}, "signature": "x"}
    raw = json.dumps(env).replace('"n": 1', f'"n": {number}').encode()
    r = httpx.post(sut.url("gateway") + "/shep/v1/async/messages", content=raw,
                   headers={"Content-Type": "application/json"})
    assert_refused(r, 422, "FORM_INVALID")


def test_bodies_past_the_limit_are_refused_before_they_are_read(sut, auth):
    def endless(n):  # streamed: neither side holds it in memory
        chunk = b" " * 65536
        for _ in range(n):
            yield chunk

    for service, path, headers in (("gateway", "/shep/v1/async/messages", {}),
                                   ("portal", "/api/v1/requests", auth["applicant"]),
                                   ("nca", "/ocsp", {}), ("nca", "/tsa", {})):
        r = httpx.post(sut.url(service) + path, content=endless(64 * 16),  # 64 MiB offered
                       headers={**headers, "Content-Type": "application/json"}, timeout=30)
        assert_refused(r, 413, "REQUEST_TOO_LARGE")


@pytest.mark.parametrize("task_id", ["1180591620717411303424", "-1180591620717411303424", "0", "abc"])
def test_task_ids_out_of_range(sut, auth, task_id):
    r = httpx.get(sut.url("provider_arm") + f"/api/v1/tasks/{task_id}", headers=auth["operator"])
    assert_refused(r, 422, "VALIDATION_ERROR")
    r = httpx.post(sut.url("provider_arm") + f"/api/v1/tasks/{task_id}/complete", json={"decision": "x"},
                   headers=auth["operator"])
    assert_refused(r, 422, "VALIDATION_ERROR")


def test_the_gateway_admin_api_refuses_what_it_cannot_store(sut, auth):
    gw = sut.url("gateway") + "/shep/v1/admin"
    r = httpx.get(gw + "/registry", headers={"Authorization": "Bearer жжж".encode()})
    assert_refused(r, 401, "ADMIN_AUTH_FAILED")
    r = httpx.put(gw + "/services/PROBE", json={"title": "probe", "recipient_id": ""}, headers=auth["admin"])
    assert_refused(r, 422, "VALIDATION_ERROR")
    r = httpx.put(gw + "/services/PROBE", json={"title": "probe", "recipient_id": "nobody"}, headers=auth["admin"])
    assert r.status_code in (401, 404) and r.json()["error"]["code"] in ("SENDER_UNKNOWN", "NOT_FOUND")
    r = httpx.put(gw + "/services/" + "x" * 65, json={"title": "probe"}, headers=auth["admin"])
    assert_refused(r, 422, "VALIDATION_ERROR")


def test_sync_timeout_property_must_be_a_number(sut):
    env = {"messageInfo": {"serviceId": "X", "messageType": "REQUEST", "sender": {"senderId": "portal"},
                           "properties": [{"key": "timeoutSeconds", "value": "abc"}]},
           "messageData": {"data": {}}, "signature": "x"}
    assert_refused(httpx.post(sut.url("gateway") + "/shep/v1/sync", json=env), 422, "ENVELOPE_INVALID")


def test_assignee_as_an_object_is_task_data_invalid(sut, auth, tmp_path):
    c = sut.client
    token = c.token(APPLICANT["username"], APPLICANT["password"])
    doc = c.prepare_document(token, APPLICANT["username"])
    rid = c.submit(token, doc, c.signer(APPLICANT["username"]).sign(_canonical(doc))).json()["request_id"]
    number = c.wait_status(token, rid, {"IN_PROCESSING"})["application_number"]
    clerk = c.operator_token("ala-clerk")
    assert c.complete(clerk, c.wait_task(clerk, number, "register")["task_id"], "registered").status_code == 200
    head = c.operator_token("ala-head")
    task = c.wait_task(head, number, "assign")
    for bad in ({"assignee": {"$ne": None}}, {"assignee": ["ala-specialist"]}, {"assignee": "x" * 500}, {}):
        assert_refused(c.complete(head, task["task_id"], "assigned", data=bad), 422, "TASK_DATA_INVALID")


def test_a_submission_message_without_its_document_is_rejected_not_retried(sut):
    """An ELICENSE_SUBMIT without ``document`` used to raise KeyError and be redelivered forever:
    now ИС ГБД ЕЛ refuses it for good (ENVELOPE_INVALID) and the gateway dead-letters it."""
    from shared import envelope
    from shared.signing import Signer

    keys = sut.settings.pki_dir / "systems" / "portal"
    env = envelope.build(service_id="ELICENSE_SUBMIT", message_type="REQUEST", sender_id="portal",
                         data={"request_id": str(uuid.uuid4()), "signature": "x"}, correlation_id=str(uuid.uuid4()))
    envelope.sign(env, Signer.from_dir(keys))
    env["messageInfo"]["sender"]["password"] = (keys / "password").read_text().strip()
    r = httpx.post(sut.url("gateway") + "/shep/v1/async/messages", json=env)
    assert r.status_code == 200, r.text
    mid = r.json()["messageId"]
    creds = ("portal", env["messageInfo"]["sender"]["password"])
    for _ in range(100):
        status = httpx.get(sut.url("gateway") + f"/shep/v1/async/messages/{mid}/status", auth=creds).json()
        if status["messageState"] != "ON_DELIVERY":
            break
        import time

        time.sleep(0.2)
    assert status["messageState"] == "NOT_DELIVERED" and status["error"]["errorCode"] == "ENVELOPE_INVALID", status


def _canonical(doc):
    from shared.envelope import canonical

    return canonical(doc)


# --- access: lockout, rates, quotas, files by their content --------------------------------------


def _from(address: str) -> dict:
    """The headers of a call from ``address`` (a browser behind the web pages, or behind a proxy)."""
    return {"X-Forwarded-For": address}


def _register(sut, address: str) -> tuple[str, str]:
    iin, password = random_iin(), "Fresh-Applicant-2026!"
    r = httpx.post(sut.url("portal") + "/api/v1/auth/register", json={"iin_bin": iin, "password": password},
                   headers=_from(address))
    assert r.status_code == 201, r.text
    return iin, password


def _account(sut, service: str) -> tuple[str, str, str]:
    """The token URL and the credentials of an account no other test of this module logs in with."""
    if service == "portal":
        return (sut.url("portal") + "/api/v1/auth/token", *_register(sut, "192.0.2.1"))
    if service == "provider_arm":
        op = next(o for o in demo.operators() if o["username"] == "mng-inspector")
        return sut.url("provider_arm") + "/api/v1/auth/token", op["username"], op["password"]
    op = next(o for o in demo.con_operators() if o["username"] == "con-mng")
    return sut.url("con") + "/api/v1/auth/token", op["username"], op["password"]


@pytest.mark.parametrize("service, n", [("portal", 1), ("provider_arm", 2), ("con", 3)])
def test_wrong_passwords_lock_the_account_even_against_the_right_one(sut, service, n):
    url, username, password = _account(sut, service)
    for _ in range(5):
        r = httpx.post(url, data={"username": username, "password": "not-the-password"},
                       headers=_from(f"192.0.2.{10 + n}"))
        assert_refused(r, 401, "AUTH_FAILED")
    # the account is locked, wherever the right password now comes from
    r = httpx.post(url, data={"username": username, "password": password}, headers=_from(f"192.0.2.{20 + n}"))
    assert_refused(r, 429, "AUTH_LOCKED")
    assert int(r.headers["Retry-After"]) > 0


def test_failed_logins_through_the_pages_count_per_browser_not_against_the_web(sut):
    """Every login through the web pages reaches the portal from the web's own address: the web passes
    the browser's on (X-Forwarded-For), and the portal believes it from the web (a trusted proxy), so
    one browser guessing passwords locks out itself, not every user of the pages."""
    login, guesser, neighbour = sut.url("web") + "/cabinet/login", "198.51.100.20", "198.51.100.21"
    right = {"username": APPLICANT["username"], "password": APPLICANT["password"]}
    for i in range(FAILURES_PER_ADDRESS):  # one browser, many made-up accounts: the address's limit
        r = httpx.post(login, data={"username": f"guess-{i}", "password": "wrong-password"}, headers=_from(guesser))
        assert r.status_code == 401, r.text[:300]
    r = httpx.post(login, data=right, headers=_from(guesser))
    assert r.status_code == 429 and CATALOGUE["AUTH_LOCKED"].message_ru in r.text
    r = httpx.post(login, data=right, headers=_from(neighbour))  # another browser logs in
    assert r.status_code == 303 and "egov_applicant=" in r.headers.get("set-cookie", ""), r.text[:300]
    # the portal holds the guesser's address, not the web's (nor this test's)
    portal = sut.url("portal") + "/api/v1/auth/token"
    assert_refused(httpx.post(portal, data=right, headers=_from(guesser)), 429, "AUTH_LOCKED")
    assert httpx.post(portal, data=right).status_code == 200


def test_registrations_from_one_address_are_rate_limited(sut):
    for _ in range(REGISTRATIONS):
        _register(sut, "192.0.2.50")
    r = httpx.post(sut.url("portal") + "/api/v1/auth/register",
                   json={"iin_bin": random_iin(), "password": "Fresh-Applicant-2026!"}, headers=_from("192.0.2.50"))
    assert_refused(r, 429, "RATE_LIMITED")
    assert int(r.headers["Retry-After"]) > 0
    _register(sut, "192.0.2.51")  # another address is not held back


def _upload(sut, token: str, name: str, content: bytes, declared: str) -> httpx.Response:
    return httpx.post(sut.url("portal") + "/api/v1/attachments", files={"file": (name, content, declared)},
                      headers={"Authorization": f"Bearer {token}"})


def test_an_applicants_daily_upload_quota(sut):
    token = sut.client.token(*_register(sut, "192.0.2.60"))
    scan = b"%PDF-1.4 " + b"0" * (DAILY_BYTES * 2 // 3)
    assert _upload(sut, token, "scan.pdf", scan, "application/pdf").status_code == 201
    r = _upload(sut, token, "scan-2.pdf", scan, "application/pdf")
    assert_refused(r, 429, "QUOTA_EXCEEDED")
    assert int(r.headers["Retry-After"]) > 0


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(17)


@pytest.mark.parametrize("name, content, stored", [
    ("scan.pdf", PNG, "image/png"),  # a picture said to be a PDF is kept as the picture it is
    ("statement.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf"),
    ("setup.pdf", b"\x7fELF\x02\x01\x01\x00" + bytes(56), None),  # a Linux executable
    ("setup.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff", None),  # a Windows one
    ("archive.pdf", b"PK\x03\x04\x14\x00\x00\x00\x08\x00", None),
], ids=["png-said-pdf", "pdf", "elf-said-pdf", "exe-said-pdf", "zip-said-pdf"])
def test_an_attachment_is_what_its_bytes_say_not_what_its_header_says(sut, name, content, stored):
    token = sut.client.token(APPLICANT["username"], APPLICANT["password"])
    r = _upload(sut, token, name, content, "application/pdf")
    if stored is None:
        assert_refused(r, 415, "ATTACHMENT_TYPE")
    else:
        assert r.status_code == 201 and r.json()["content_type"] == stored, r.text


# --- the submission's contract --------------------------------------------------------------------


@pytest.fixture(scope="module")
def unsent(sut) -> tuple[str, dict]:
    """The applicant's token and an S2 document with its two attachments, not submitted (not paid:
    the portal leaves the payment to ИС ГБД ЕЛ)."""
    c = sut.client
    token = c.token(APPLICANT["username"], APPLICANT["password"])
    return token, c.prepare_document(token, APPLICANT["username"], pay=False)


def _submit_variant(sut, unsent, change) -> httpx.Response:
    token, doc = unsent
    doc = json.loads(json.dumps(doc))
    doc["nonce"] = str(uuid.uuid4())
    change(doc)
    c = sut.client
    return c.submit(token, doc, c.signer(APPLICANT["username"]).sign(_canonical(doc)))


def _one_file_for_both(doc):
    first, second = doc["attachments"]
    doc["attachments"] = [first, {**first, "code": second["code"]}]


def _both_files_for_one(doc):
    first, second = doc["attachments"]
    doc["attachments"] = [first, {**second, "code": first["code"]}]


def _created(hours: float):
    def change(doc):
        doc["created_at"] = (datetime.now(timezone.utc) + timedelta(hours=hours)).isoformat()
    return change


@pytest.mark.parametrize("change, code", [
    (_one_file_for_both, "DOCUMENTS_INCOMPLETE"),   # one attachment standing for two required documents
    (_both_files_for_one, "DOCUMENTS_INCOMPLETE"),  # two files for one document, none for the other
    (_created(-25), "DOCUMENT_STALE"),              # signed more than a day ago
    (_created(+1), "DOCUMENT_STALE"),               # dated ahead of the portal's clock
], ids=["one-file-two-documents", "two-files-one-document", "a-day-old", "future-dated"])
def test_the_portal_holds_the_submission_to_its_contract(sut, unsent, change, code):
    assert_refused(_submit_variant(sut, unsent, change), 422, code)


def test_half_a_character_in_a_whole_document_is_form_invalid(sut, unsent):
    """A lone surrogate (``"\\udc80"``) parses as JSON but is no Unicode text: no JCS, no signature
    over it — refused with the body, not a 500 when the document is canonicalised."""
    token, doc = unsent
    doc = json.loads(json.dumps(doc))
    doc["form"] = {**doc["form"], "note": "\udc80"}
    raw = json.dumps({"document": doc, "signature": "x"}).encode()  # ensure_ascii: the escape "\\udc80"
    assert b"\\udc80" in raw
    r = httpx.post(sut.url("portal") + "/api/v1/requests", content=raw,
                   headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert_refused(r, 422, "FORM_INVALID")


def test_a_document_within_its_age_and_with_a_file_per_document_is_taken(sut, unsent):
    """The control of the test above: the same document, an hour old, is accepted."""
    r = _submit_variant(sut, unsent, _created(-1))
    assert r.status_code in (200, 201, 202), r.text


# --- schemathesis --------------------------------------------------------------------------------

#: operations that would change what the rest of this module stands on (the registrations of the
#: demo systems, maintenance mode); everything else is fair game
EXCLUDED = re.compile(r"^(PUT|DELETE) /shep/v1/admin/(systems|services|routes|acl|maintenance)")


def _auth_for(service: str, path: str, auth: dict) -> dict:
    if service == "web":  # the pages: each area's session cookie, as a logged-in browser holds them
        return {"Cookie": f"egov_applicant={_bearer(auth['applicant'])}; egov_operator={_bearer(auth['operator'])}; "
                          f"egov_con={_bearer(auth['con'])}"}
    if service in ("portal", "provider_arm", "con", "registries"):
        return auth[{"portal": "applicant", "provider_arm": "operator"}.get(service, service)]
    if path.startswith("/shep/v1/admin"):
        return auth["admin"]
    if path.startswith("/shep/v1"):
        return auth["system"]
    if path.startswith("/api/v1/certificates") or path.startswith("/api/v1/revocations"):
        return auth["ca"]
    return {}


def _as_portal(body, password: str) -> None:
    """A generated envelope (or batch, or notification) sent as the portal with its right password,
    where its shape lets it: past the sender's authentication, so that the hunt reaches the checks
    behind it (and pays no argon2 for made-up senders, as an unknown sender now costs)."""
    if isinstance(body, dict):
        if isinstance(body.get("messages"), list):
            for env in body["messages"]:
                _as_portal(env, password)
        info = body.get("messageInfo")
        for holder in (info if isinstance(info, dict) else {}, body):
            if isinstance(holder.get("sender"), dict):
                holder["sender"].update(senderId="portal", password=password)


def _bearer(headers: dict) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def _address(n: int) -> str:
    """A browser's address of its own for each generated call (through X-Forwarded-For, which the
    services believe from the loopback proxy), so that the hunt's wrong logins and registrations are
    counted per call, not against the one address every other test of this module comes from."""
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


#: registries last: its admin API replaces the records the other services look up
@pytest.mark.parametrize("service", ["portal", "provider_arm", "gateway", "e_licensing", "nca", "con", "web",
                                     "registries"])
def test_schemathesis_finds_no_server_error(sut, auth, service):
    base = sut.url(service)
    schema = schemathesis.openapi.from_url(base + "/openapi.json")
    failures: list[str] = []
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        if EXCLUDED.match(label):
            continue
        headers = _auth_for(service, operation.path, auth)

        @settings(max_examples=FEWER_EXAMPLES.get(service, EXAMPLES), deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                              operation.as_strategy(GenerationMode.NEGATIVE)))
        def hunt(case):
            nonlocal calls
            calls += 1
            if service == "gateway":
                _as_portal(case.body, auth["portal_password"])
            response = case.call(base_url=base, headers={**headers, "X-Forwarded-For": _address(calls)},
                                 timeout=30, allow_redirects=False)
            try:
                case.validate_response(response, checks=[not_a_server_error])
            except Exception as exc:
                failures.append(f"{label}: {response.status_code} {response.text[:300]} — {str(exc)[:200]}")
            if response.status_code >= 400 and LEAKS.search(response.text):
                failures.append(f"{label}: the error body leaks internals: {response.text[:300]}")

        hunt()
    print(f"schemathesis on {service}: {calls} calls, {len(failures)} failures")
    assert calls > 0
    assert not failures, "\n".join(failures[:20])
