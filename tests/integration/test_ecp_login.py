"""Login by ЭЦП: a one-time challenge signed with an AUTH key; SIGN and AUTH keys keep to their jobs."""
from __future__ import annotations

import pytest

from egov import demo
from shared.envelope import canonical

from .test_chain import assert_error

pytestmark = pytest.mark.integration

APPLICANT = demo.APPLICANTS[0]
COMPANY = demo.APPLICANTS[2]


def ecp_login(c, username: str, usage: str):
    ch = c.portal("POST", "/auth/challenge").json()
    signature = c.signer(username, usage).sign(canonical(ch["sign"]))
    return c.portal("POST", "/auth/token/ecp", json={"challenge_id": ch["challenge_id"], "signature": signature}), ch, signature


def test_auth_key_logs_in_and_a_challenge_is_used_once(system):
    c = system.client
    r, ch, signature = ecp_login(c, APPLICANT["username"], "auth")
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert c.portal("GET", "/requests", token).status_code == 200
    replay = c.portal("POST", "/auth/token/ecp", json={"challenge_id": ch["challenge_id"], "signature": signature})
    assert_error(replay, 401, "AUTH_FAILED")


def test_employee_auth_key_opens_the_organisations_cabinet(system):
    r, _, _ = ecp_login(system.client, COMPANY["username"], "auth")
    assert r.status_code == 200, r.text


def test_sign_key_is_refused_for_login(system):
    r, _, _ = ecp_login(system.client, APPLICANT["username"], "sign")
    assert_error(r, 422, "ECP_WRONG_KEY_USAGE", "process 2")


def test_auth_key_is_refused_for_signing_a_request(system):
    c = system.client
    token = c.token(APPLICANT["username"], APPLICANT["password"])
    doc = c.prepare_document(token, APPLICANT["username"])
    r = c.submit(token, doc, c.signer(APPLICANT["username"], "auth").sign(canonical(doc)))
    assert_error(r, 422, "ECP_WRONG_KEY_USAGE", "process 4")
