"""Every ЭЦП refusal of the portal, each produced by a real certificate or input in that state."""
from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from shared.envelope import canonical
from shared.pki.ca import DevCA
from shared.signing import Signer

from .test_chain import assert_error, new_applicant

pytestmark = pytest.mark.integration
NOW = datetime.now(timezone.utc)


def submit_signed_by(system, tmp_path, issue) -> httpx.Response:
    """A fresh applicant submits a document signed with the certificate ``issue(ca, iin)`` gives."""
    iin, _, token, _ = new_applicant(system, tmp_path)
    issued = issue(system.ca, iin)
    doc = system.client.prepare_document(token, iin)
    signer = Signer(issued.key_pem, issued.cert_pem, issued.chain_pem)
    return system.client.submit(token, doc, signer.sign(canonical(doc)))


@pytest.mark.parametrize("code, issue", [
    ("ECP_EXPIRED", lambda ca, iin: ca.issue_individual(iin, "ТЕСТОВ ТЕСТ", not_before=NOW - timedelta(days=400),
                                                        not_after=NOW - timedelta(days=1))),
    ("ECP_NOT_YET_VALID", lambda ca, iin: ca.issue_individual(iin, "ТЕСТОВ ТЕСТ", not_before=NOW + timedelta(days=1),
                                                              not_after=NOW + timedelta(days=365))),
    ("ECP_WRONG_KEY_USAGE", lambda ca, iin: ca.issue_individual(iin, "ТЕСТОВ ТЕСТ", usage="auth")),
    ("ECP_IIN_MISMATCH", lambda ca, iin: ca.issue_individual("860717450455", "ИВАНОВА АЙГУЛЬ")),
])
def test_certificate_in_a_refused_state(system, tmp_path, code, issue):
    assert_error(submit_signed_by(system, tmp_path, issue), 422, code, "process 4")


def test_certificate_of_an_untrusted_ca(system, tmp_path):
    rogue = DevCA.load_or_create(tmp_path / "rogue-ca")  # same names, other keys
    r = submit_signed_by(system, tmp_path, lambda ca, iin: rogue.issue_individual(iin, "ТЕСТОВ ТЕСТ"))
    assert_error(r, 422, "ECP_UNTRUSTED", "process 4")


def test_garbage_signature_is_malformed(system, tmp_path):
    iin, _, token, _ = new_applicant(system, tmp_path)
    doc = system.client.prepare_document(token, iin)
    r = system.client.submit(token, doc, base64.b64encode(b"not a CMS at all").decode())
    assert_error(r, 422, "ECP_MALFORMED", "process 4")


def test_revoked_certificate_is_refused_through_ocsp(system, tmp_path):
    iin, _, token, _ = new_applicant(system, tmp_path)
    issued = system.ca.issue_individual(iin, "ТЕСТОВ ТЕСТ")
    anonymous = httpx.post(f"{system.url('nca')}/api/v1/revocations",
                           json={"certificate": issued.cert_pem.decode(), "reason": "keyCompromise"})
    assert anonymous.status_code == 401  # only the CA operator revokes
    r = httpx.post(f"{system.url('nca')}/api/v1/revocations", auth=system.nca_operator,
                   json={"certificate": issued.cert_pem.decode(), "reason": "keyCompromise"})
    assert r.status_code == 201, r.text
    doc = system.client.prepare_document(token, iin)
    signer = Signer(issued.key_pem, issued.cert_pem, issued.chain_pem)
    assert_error(system.client.submit(token, doc, signer.sign(canonical(doc))), 422, "ECP_REVOKED", "process 4")


def test_revocation_unknown_when_the_nca_is_down_fails_closed(system, tmp_path):
    """Fail closed, but as an outage: 503 with Retry-After (try again), not a verdict on the signature;
    the same signed document goes through once the НУЦ answers again."""
    iin, _, token, _ = new_applicant(system, tmp_path)
    issued = system.ca.issue_individual(iin, "ТЕСТОВ ТЕСТ")  # never checked, so nothing cached
    doc = system.client.prepare_document(token, iin)
    signature = Signer(issued.key_pem, issued.cert_pem, issued.chain_pem).sign(canonical(doc))
    system.stack.stop("nca")
    try:
        r = system.client.submit(token, doc, signature)
        assert_error(r, 503, "ECP_REVOCATION_UNKNOWN", "process 4")
        assert int(r.headers["retry-after"]) >= 1
    finally:
        system.stack.start_service("nca")
        system.stack.wait_healthy(60)
    assert system.client.submit(token, doc, signature).status_code == 202
