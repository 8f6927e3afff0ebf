"""The НУЦ status and time services as a real process, checked with openssl and the RevocationChecker.

The nca runs on a free port; the development CA is created beforehand with that port in its
base URL, so the certificates the tests issue point their OCSP / CRL URLs at it. The CRL
fallback is shown with a certificate whose AIA OCSP URL points at a dead port while its CRL
distribution point is the live nca (re-signed by the issuing CA with those two URLs changed).
The last test stops the process and expects ECP_REVOCATION_UNKNOWN (fail closed).
"""
from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from shared.db.migrate import upgrade
from shared.pki.ca import DevCA, Issued
from shared.pki.cms import SignatureError, sign_detached, verify_detached
from shared.pki.revocation import RevocationChecker
from shared.settings import CommonSettings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NcaProcess:
    """``uvicorn services.nca.main:app`` on a free port with its own data directory."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        settings = CommonSettings(data_dir=data_dir)
        upgrade("nca", settings.database_url("nca"))
        self.ca = DevCA.load_or_create(settings.pki_dir / "ca", base_url=self.url)
        self.pki = data_dir / "pki" / "ca"
        self.log = open(data_dir / "nca.log", "ab")
        env = {**os.environ, "EGOV_DATA_DIR": str(data_dir)}
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

    def revoke(self, cert: x509.Certificate, reason: str = "keyCompromise") -> httpx.Response:
        return httpx.post(f"{self.url}/api/v1/revocations",
                          json={"serial_number": format(cert.serial_number, "x"), "reason": reason})


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
    r = httpx.post(f"{nca.url}/api/v1/revocations", json={"serial_number": "not-hex"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR"
    r = httpx.post(f"{nca.url}/api/v1/revocations", json={"serial_number": "abc", "reason": "boredom"})
    assert r.status_code == 422


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
