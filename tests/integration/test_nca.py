"""The НУЦ status and time services as a real process, checked with openssl and the RevocationChecker.

The nca runs on a free port; the development CA is created beforehand with that port in its
base URL, so the certificates the tests issue point their OCSP / CRL URLs at it. The CRL
fallback is shown with a certificate whose AIA OCSP URL points at a dead port while its CRL
distribution point is the live nca (re-signed by the issuing CA with those two URLs changed).
The last test stops the process and expects ECP_REVOCATION_UNKNOWN (fail closed).

Issuance and revocation need the CA operator's credentials (HTTP Basic, made like the bootstrap
makes them); the process runs with a short lockout (3 failures, 2 seconds) so that the lockout
test does not hold the others up.
"""
from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from egov.bootstrap import seed_nca
from egov.launcher import free_port
from services.nca import operators
from services.nca.models import Revocation
from shared.db import Database
from shared.db.migrate import upgrade
from shared.pki.ca import DevCA, Issued
from shared.pki.cms import SignatureError, sign_detached, verify_detached
from shared.pki.revocation import RevocationChecker
from shared.settings import CommonSettings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]



class NcaProcess:
    """``uvicorn services.nca.main:app`` on a free port with its own data directory."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = settings = CommonSettings(data_dir=data_dir, nca_url=self.url)
        upgrade("nca", settings.database_url("nca"))
        # what the bootstrap does: the CA, the operator's password, its hash in the nca database
        self.ca = DevCA.load_or_create(settings.pki_dir / "ca", base_url=self.url)
        self.auth = (operators.OPERATOR, operators.ensure_password(data_dir))
        asyncio.run(seed_nca(settings))
        self.pki = data_dir / "pki" / "ca"
        self.log = open(data_dir / "nca.log", "ab")
        env = {**os.environ, "EGOV_DATA_DIR": str(data_dir), "EGOV_NCA_URL": self.url,
               "EGOV_NCA_MAX_FAILED_LOGINS": "3", "EGOV_NCA_LOCKOUT_SECONDS": "2"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "services.nca.main:app", "--host", "127.0.0.1",
             "--port", str(self.port), "--no-access-log"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_healthy(30)

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nca exited: {(self.data_dir / 'nca.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("nca did not become healthy")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def revoke(self, cert: x509.Certificate, reason: str = "keyCompromise", auth="operator") -> httpx.Response:
        """Revoke ``cert`` (sent as PEM: the tests' certificates are issued in-process, not recorded)."""
        return httpx.post(f"{self.url}/api/v1/revocations", auth=self.auth if auth == "operator" else auth,
                          json={"certificate": cert.public_bytes(serialization.Encoding.PEM).decode(),
                                "reason": reason})

    def post(self, path: str, body: dict, auth="operator") -> httpx.Response:
        return httpx.post(f"{self.url}{path}", json=body, auth=self.auth if auth == "operator" else auth)

    def plant(self, *rows: Revocation) -> None:
        """Write revocation rows straight into the nca database, past every check of the API."""
        async def run():
            db = Database(self.settings.database_url("nca"))
            try:
                async with db.session() as s:
                    s.add_all(rows)
            finally:
                await db.dispose()
        asyncio.run(run())


@pytest.fixture(scope="module")
def nca(tmp_path_factory):
    process = NcaProcess(tmp_path_factory.mktemp("nca"))
    try:
        yield process
    finally:
        process.stop()


def openssl(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, cwd=cwd, timeout=30)


def ocsp_status(nca: NcaProcess, cert_file: Path) -> str:
    r = openssl("ocsp", "-issuer", str(nca.pki / "issuing.pem"), "-cert", str(cert_file),
                "-url", f"{nca.url}/ocsp", "-CAfile", str(nca.pki / "root.pem"))
    assert "Response verify OK" in r.stderr + r.stdout, r.stderr + r.stdout
    return r.stdout


def with_urls(ca: DevCA, issued: Issued, *, ocsp_url: str, crl_url: str) -> x509.Certificate:
    """``issued``'s certificate re-signed by the issuing CA with other OCSP and CRL URLs."""
    old = issued.cert
    builder = (x509.CertificateBuilder().subject_name(old.subject).issuer_name(old.issuer)
               .public_key(old.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(old.not_valid_before_utc).not_valid_after(old.not_valid_after_utc))
    for ext in old.extensions:
        value = ext.value
        if isinstance(value, x509.CRLDistributionPoints):
            value = x509.CRLDistributionPoints([x509.DistributionPoint(
                [x509.UniformResourceIdentifier(crl_url)], None, None, None)])
        elif isinstance(value, x509.AuthorityInformationAccess):
            value = x509.AuthorityInformationAccess([x509.AccessDescription(
                x509.AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url))])
        builder = builder.add_extension(value, critical=ext.critical)
    return builder.sign(ca.issuing_key, hashes.SHA256())


def sign_and_verify(nca: NcaProcess, issued: Issued, cert: x509.Certificate, checker: RevocationChecker):
    data = "өтініш".encode()
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    cms = sign_detached(data, issued.key_pem, cert_pem, nca.ca.chain_pem())
    return verify_detached(cms, data, nca.ca.roots(), revocation_checker=checker)


def test_health_and_metrics(nca):
    r = httpx.get(f"{nca.url}/health")
    assert r.status_code == 200 and r.json()["checks"] == {"database": "ok", "ca_key": "ok"}
    assert httpx.get(f"{nca.url}/metrics").status_code == 200


def test_openssl_ocsp_good_then_revoked_and_crl_lists_it(nca, tmp_path):
    issued = nca.ca.issue_individual("900101300123", "Тестов Тест Тестович")
    issued.write(tmp_path)
    assert ": good" in ocsp_status(nca, tmp_path / "cert.pem")

    r = nca.revoke(issued.cert, "keyCompromise")
    assert r.status_code == 201, r.text
    assert r.json()["serial_number"] == format(issued.cert.serial_number, "x")
    assert nca.revoke(issued.cert).status_code == 200  # revoking again keeps the first record
    listed = httpx.get(f"{nca.url}/api/v1/revocations").json()
    assert [x["reason"] for x in listed if x["serial_number"] == format(issued.cert.serial_number, "x")] == [
        "keyCompromise"]

    out = ocsp_status(nca, tmp_path / "cert.pem")
    assert ": revoked" in out and "Reason: keyCompromise" in out, out

    crl = httpx.get(f"{nca.url}/crl/issuing.crl")
    assert crl.status_code == 200 and crl.headers["content-type"] == "application/pkix-crl"
    (tmp_path / "issuing.crl").write_bytes(crl.content)
    text = openssl("crl", "-inform", "DER", "-in", str(tmp_path / "issuing.crl"), "-noout", "-text").stdout
    assert format(issued.cert.serial_number, "X").rjust(2, "0") in text.replace(":", "").upper()
    assert "Key Compromise" in text and "Next Update" in text
    verify = openssl("crl", "-inform", "DER", "-in", str(tmp_path / "issuing.crl"), "-noout",
                     "-CAfile", str(nca.pki / "issuing.pem"))
    assert "verify OK" in verify.stderr + verify.stdout


def test_bad_revocation_requests_are_refused(nca):
    r = nca.post("/api/v1/revocations", {"serial_number": "not-hex"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR"
    r = nca.post("/api/v1/revocations", {"serial_number": "abc", "reason": "boredom"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR"
    r = nca.post("/api/v1/revocations", {"serial_number": "abc", "certificate": "x"})  # one of them, not both
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR"
    r = nca.post("/api/v1/revocations", {"serial_number": "1f3a9c"})  # never issued by this CA
    assert r.status_code == 404 and r.json()["error"]["code"] == "CERTIFICATE_NOT_FOUND"
    stranger = DevCA.load_or_create(nca.data_dir / "rogue-ca").issue_system("rogue").cert  # same names, other keys
    r = nca.revoke(stranger)
    assert r.status_code == 422 and r.json()["error"]["code"] == "CERTIFICATE_INVALID"
    r = nca.post("/api/v1/revocations", {"certificate": "not a certificate"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "CERTIFICATE_INVALID"


# --- the CA operator -------------------------------------------------------------------------------


def test_anonymous_revocation_is_refused_and_the_victims_signature_still_verifies(nca):
    victim = nca.ca.issue_individual("850505400456", "Ахметова Айгүл Серікқызы")
    serial = {"serial_number": format(victim.cert.serial_number, "x"), "reason": "keyCompromise"}
    for auth in (None, ("nca-operator", "guess"), ("admin", "admin")):
        for r in (nca.revoke(victim.cert, auth=auth), nca.post("/api/v1/revocations", serial, auth=auth)):
            assert r.status_code == 401 and r.json()["error"]["code"] == "CA_AUTH_FAILED", r.text
            assert r.headers["www-authenticate"].startswith("Basic")
    r = httpx.post(f"{nca.url}/api/v1/revocations", json=serial, headers={"Authorization": "Basic !!!"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "CA_AUTH_FAILED"
    assert format(victim.cert.serial_number, "x") not in {
        x["serial_number"] for x in httpx.get(f"{nca.url}/api/v1/revocations").json()}  # the list stays public
    [entry] = sign_and_verify(nca, victim, victim.cert, RevocationChecker(nca.ca.roots())).revocations
    assert entry["status"] == "good"
    assert nca.revoke(nca.ca.issue_system("reset").cert).status_code == 201  # the right password resets the count


def test_repeated_failures_lock_the_operator_out_for_a_while(nca):
    cert = nca.ca.issue_system("lockout_probe").cert
    codes = [nca.revoke(cert, auth=("nca-operator", f"wrong-{i}")).json()["error"]["code"] for i in range(3)]
    assert codes == ["CA_AUTH_FAILED"] * 3
    r = nca.revoke(cert)  # the right password too, while locked
    assert r.status_code == 429 and r.json()["error"]["code"] == "CA_AUTH_LOCKED"
    time.sleep(2.2)
    assert nca.revoke(cert).status_code == 201


# --- issuance through the API ----------------------------------------------------------------------


def _csr(key) -> str:
    return (x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "whatever the requester says")]))
            .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode())


def test_issue_from_a_csr_verifies_with_openssl_and_is_revocable_by_serial(nca, tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    body = {"csr": _csr(key), "profile": "employee", "iin": "750121322103", "bin": "041140033217",
            "organization": "КГУ Тест", "full_name": "ЖУМАБЕКОВ АСКАР ТАЛГАТОВИЧ", "roles": ["head", "sign"]}
    assert nca.post("/api/v1/certificates", body, auth=None).status_code == 401
    r = nca.post("/api/v1/certificates", body)
    assert r.status_code == 201, r.text
    out = r.json()
    cert = x509.load_pem_x509_certificate(out["certificate"].encode())
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()  # the key stayed here
    assert out["serial_number"] == format(cert.serial_number, "x") and "IIN750121322103" in out["subject"]
    assert out["chain"] == nca.ca.chain_pem().decode()
    (tmp_path / "cert.pem").write_text(out["certificate"])
    v = openssl("verify", "-CAfile", str(nca.pki / "root.pem"), "-untrusted", str(nca.pki / "issuing.pem"),
                str(tmp_path / "cert.pem"))
    assert v.returncode == 0 and ": OK" in v.stdout, v.stdout + v.stderr
    assert ": good" in ocsp_status(nca, tmp_path / "cert.pem")  # its OCSP URL is this nca's

    r = nca.post("/api/v1/revocations", {"serial_number": out["serial_number"].upper(), "reason": "superseded"})
    assert r.status_code == 201, r.text
    assert ": revoked" in ocsp_status(nca, tmp_path / "cert.pem")


@pytest.mark.parametrize("fields, code", [
    ({"iin": "860717450456"}, "IIN_BIN_INVALID"),
    ({"roles": ["employee"]}, "CERT_PROFILE_INVALID"),
    ({"full_name": "X"}, "CERT_PROFILE_INVALID"),
    ({"not_before": "2027-01-01T00:00:00Z", "not_after": "2026-01-01T00:00:00Z"}, "CERT_PROFILE_INVALID"),
    ({"not_after": "tomorrow"}, "VALIDATION_ERROR"),
    ({"csr": "garbage"}, "CSR_INVALID"),
    ({"profile": "root"}, "VALIDATION_ERROR"),
])
def test_issuance_refusals_carry_catalogue_codes(nca, fields, code):
    body = {"csr": _csr(ec.generate_private_key(ec.SECP256R1())), "profile": "individual", "iin": "860717450455",
            "full_name": "ИВАНОВА АЙГУЛЬ", **fields}
    r = nca.post("/api/v1/certificates", body)
    assert r.status_code == 422 and r.json()["error"]["code"] == code, r.text


# --- nothing in the registry can break the CRL or OCSP ---------------------------------------------


def test_a_200_hex_digit_serial_is_refused_and_the_crl_still_answers(nca):
    for serial in ("f" * 200, "8" + "0" * 39, "0"):  # too long; 20 octets but negative in DER; zero
        r = nca.post("/api/v1/revocations", {"serial_number": serial})
        assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR", r.text
    assert nca.post("/api/v1/revocations", {"serial_number": "f" * 200}, auth=None).status_code == 401
    for _ in range(2):
        crl = httpx.get(f"{nca.url}/crl/issuing.crl")
        assert crl.status_code == 200 and x509.load_der_x509_crl(crl.content).is_signature_valid(
            nca.ca.issuing_cert.public_key())


def test_planted_bad_rows_leave_the_crl_and_ocsp_answering(nca, tmp_path):
    revoked = nca.ca.issue_individual("900101300123", "Тестов Тест Тестович")
    revoked.write(tmp_path / "revoked")
    assert nca.revoke(revoked.cert, "keyCompromise").status_code == 201
    good = nca.ca.issue_individual("900101300123", "Тестов Тест Тестович")
    good.write(tmp_path / "good")
    now = datetime.now(timezone.utc)
    nca.plant(Revocation(serial="f" * 64, issuer="planted", revoked_at=now, reason="keyCompromise"),
              Revocation(serial="not-hex", issuer="planted", revoked_at=now, reason="keyCompromise"),
              Revocation(serial="0", issuer="planted", revoked_at=now, reason="keyCompromise"),
              Revocation(serial="0a" + format(revoked.cert.serial_number, "x"), issuer="planted", revoked_at=now,
                         reason="keyCompromise"),  # over 20 octets
              Revocation(serial="00" + format(revoked.cert.serial_number, "x"), issuer="planted", revoked_at=now,
                         reason="boredom"))  # the same serial spelt again, with a reason that is none

    crl = httpx.get(f"{nca.url}/crl/issuing.crl")
    assert crl.status_code == 200
    (tmp_path / "issuing.crl").write_bytes(crl.content)
    verify = openssl("crl", "-inform", "DER", "-in", str(tmp_path / "issuing.crl"), "-noout",
                     "-CAfile", str(nca.pki / "issuing.pem"))
    assert "verify OK" in verify.stderr + verify.stdout
    parsed = x509.load_der_x509_crl(crl.content)
    assert parsed.get_revoked_certificate_by_serial_number(revoked.cert.serial_number) is not None
    assert ": revoked" in ocsp_status(nca, tmp_path / "revoked" / "cert.pem")
    assert ": good" in ocsp_status(nca, tmp_path / "good" / "cert.pem")
    assert httpx.get(f"{nca.url}/api/v1/revocations").status_code == 200


def test_ocsp_get_and_malformed(nca):
    issued = nca.ca.issue_system("ocsp_get_probe")
    req = ocsp.OCSPRequestBuilder().add_certificate(issued.cert, nca.ca.issuing_cert, hashes.SHA1()).build()
    encoded = base64.b64encode(req.public_bytes(serialization.Encoding.DER)).decode()
    r = httpx.get(f"{nca.url}/ocsp/{encoded}")
    assert r.headers["content-type"] == "application/ocsp-response"
    assert ocsp.load_der_ocsp_response(r.content).certificate_status == ocsp.OCSPCertStatus.GOOD
    bad = httpx.post(f"{nca.url}/ocsp", content=b"garbage", headers={"content-type": "application/ocsp-request"})
    assert ocsp.load_der_ocsp_response(bad.content).response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_openssl_ts_verify(nca, tmp_path):
    data = tmp_path / "f"
    data.write_bytes("құжат".encode() * 100)
    q = openssl("ts", "-query", "-data", str(data), "-sha256", "-cert", "-out", str(tmp_path / "q.tsq"))
    assert q.returncode == 0, q.stderr
    r = httpx.post(f"{nca.url}/tsa", content=(tmp_path / "q.tsq").read_bytes(),
                   headers={"content-type": "application/timestamp-query"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/timestamp-reply"
    (tmp_path / "reply.tsr").write_bytes(r.content)
    text = openssl("ts", "-reply", "-in", str(tmp_path / "reply.tsr"), "-text").stdout
    assert "Status: Granted" in text and "1.2.398.3.3.2.6" in text and "Nonce: " in text, text
    v = openssl("ts", "-verify", "-in", str(tmp_path / "reply.tsr"), "-queryfile", str(tmp_path / "q.tsq"),
                "-CAfile", str(nca.pki / "root.pem"), "-untrusted", str(nca.pki / "issuing.pem"))
    assert "Verification: OK" in v.stdout, v.stdout + v.stderr
    v = openssl("ts", "-verify", "-in", str(tmp_path / "reply.tsr"), "-data", str(data),
                "-CAfile", str(nca.pki / "root.pem"), "-untrusted", str(nca.pki / "issuing.pem"))
    assert "Verification: OK" in v.stdout, v.stdout + v.stderr


def test_checker_good_then_revoked_through_ocsp(nca):
    issued = nca.ca.issue_individual("850505400456", "Ахметова Айгүл Серікқызы")
    report = sign_and_verify(nca, issued, issued.cert, RevocationChecker(nca.ca.roots()))
    [entry] = report.revocations
    assert entry["by"] == "OCSP" and entry["status"] == "good" and entry["url"] == f"{nca.url}/ocsp"

    assert nca.revoke(issued.cert, "superseded").status_code == 201
    with pytest.raises(SignatureError) as err:
        sign_and_verify(nca, issued, issued.cert, RevocationChecker(nca.ca.roots()))
    assert err.value.code == "ECP_REVOKED" and "OCSP" in err.value.detail


def test_checker_falls_back_to_the_crl_when_ocsp_is_unreachable(nca):
    issued = nca.ca.issue_individual("850505400456", "Ахметова Айгүл Серікқызы")
    cert = with_urls(nca.ca, issued, ocsp_url=f"http://127.0.0.1:{free_port()}/ocsp",
                     crl_url=f"{nca.url}/crl/issuing.crl")
    checker = RevocationChecker(nca.ca.roots(), timeout=2.0)
    [entry] = sign_and_verify(nca, issued, cert, checker).revocations
    assert entry["by"] == "CRL" and entry["status"] == "good"

    assert nca.revoke(cert, "affiliationChanged").status_code == 201
    checker.clear()  # the "good" answer above is cached for cache_seconds otherwise
    with pytest.raises(SignatureError) as err:
        sign_and_verify(nca, issued, cert, checker)
    assert err.value.code == "ECP_REVOKED" and "CRL" in err.value.detail


def test_checker_caches_answers(nca):
    issued = nca.ca.issue_individual("850505400456", "Ахметова Айгүл Серікқызы")
    checker = RevocationChecker(nca.ca.roots(), cache_seconds=300)
    first = sign_and_verify(nca, issued, issued.cert, checker).revocations
    assert nca.revoke(issued.cert).status_code == 201
    assert sign_and_verify(nca, issued, issued.cert, checker).revocations == first  # from the cache
    with pytest.raises(SignatureError, match="ECP_REVOKED"):
        sign_and_verify(nca, issued, issued.cert, RevocationChecker(nca.ca.roots(), cache_seconds=0))


def test_checker_fails_closed_with_the_nca_stopped(nca):
    """Runs last in this module: it stops the process."""
    issued = nca.ca.issue_individual("850505400456", "Ахметова Айгүл Серікқызы")
    nca.stop()
    with pytest.raises(SignatureError) as err:
        sign_and_verify(nca, issued, issued.cert, RevocationChecker(nca.ca.roots(), timeout=1.0))
    assert err.value.code == "ECP_REVOCATION_UNKNOWN"
    assert "OCSP" in err.value.detail and "CRL" in err.value.detail
