"""The `egov` command against the running system: issue, show, sign, verify, revoke — and openssl agrees."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "nca-test" / "individual_valid_sign_2004_rsa.cer"


def egov(system, *args: str, **env_overrides: str) -> subprocess.CompletedProcess:
    s = system.settings
    env = dict(os.environ, EGOV_DATA_DIR=str(s.data_dir), EGOV_NCA_URL=system.url("nca"),
               EGOV_DB_SERVER=s.db_server, EGOV_DB_PREFIX=s.db_prefix)
    env.update(env_overrides)
    return subprocess.run([sys.executable, "-m", "egov.cli", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_issue_sign_verify_revoke(system, tmp_path):
    out = tmp_path / "ec"
    r = egov(system, "pki", "issue", "individual", "--iin", "860717450455", "--name", "ИВАНОВА АЙГУЛЬ СЕРИКОВНА",
             "--key-type", "ec", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert f"issued by the running НУЦ at {system.url('nca')}" in r.stderr, r.stderr
    assert (out / "key.pem").stat().st_mode & 0o777 == 0o600
    shown = json.loads(egov(system, "pki", "show", str(out / "cert.pem")).stdout)
    assert shown["subject"]["iin"] == "860717450455" and shown["keyUsage"] == "SIGN"

    doc = tmp_path / "doc.json"
    doc.write_text(json.dumps({"b": 1, "a": "ә"}, ensure_ascii=False), encoding="utf-8")
    sig = egov(system, "sign", "--key", str(out / "key.pem"), "--cert", str(out / "cert.pem"), str(doc)).stdout.strip()
    report = egov(system, "verify", "--signature", sig, str(doc))
    assert report.returncode == 0, report.stdout + report.stderr
    assert json.loads(report.stdout)["valid"] is True

    roots = tmp_path / "roots.pem"
    assert egov(system, "pki", "roots", "--out", str(roots)).returncode == 0
    issuing = system.settings.pki_dir / "ca" / "issuing.pem"
    ocsp = ["openssl", "ocsp", "-issuer", str(issuing), "-cert", str(out / "cert.pem"),
            "-url", f"{system.url('nca')}/ocsp", "-CAfile", str(roots)]
    assert ": good" in subprocess.run(ocsp, capture_output=True, text=True).stdout

    r = egov(system, "pki", "revoke", "--cert", str(out / "cert.pem"), "--reason", "keyCompromise")
    assert r.returncode == 0, r.stderr
    assert "revoked by the running НУЦ" in r.stderr and json.loads(r.stdout)["reason"] == "keyCompromise"
    assert ": revoked" in subprocess.run(ocsp, capture_output=True, text=True).stdout
    report = egov(system, "verify", "--signature", sig, str(doc))
    assert report.returncode == 1 and json.loads(report.stdout)["code"] == "ECP_REVOKED"


def test_employee_with_roles_and_invalid_iin(system, tmp_path):
    r = egov(system, "pki", "issue", "employee", "--iin", "750121322103", "--bin", "041140033217",
             "--org", "КГУ Тест", "--name", "ЖУМАБЕКОВ АСКАР", "--role", "head", "--role", "sign", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    shown = json.loads(egov(system, "pki", "show", str(tmp_path / "cert.pem")).stdout)
    assert shown["subject"]["bin"] == "041140033217"
    assert {"legal_entity", "first_head", "sign"} <= set(shown["keyUser"])
    bad = egov(system, "pki", "issue", "individual", "--iin", "860717450456", "--out", str(tmp_path / "bad"))
    assert bad.returncode != 0 and "IIN_BIN_INVALID" in bad.stderr + bad.stdout


def test_show_reads_a_real_nca_certificate(system):
    shown = json.loads(egov(system, "pki", "show", str(FIXTURE)).stdout)
    assert shown["subject"]["iin"] == "123456789011"
    assert shown["issuer"]["commonName"] == "ҰКО 3.0 (RSA TEST)"


def test_time_stamped_signature(system, tmp_path):
    doc = tmp_path / "doc.json"
    doc.write_text('{"a": 1}')
    keys = system.settings.pki_dir / "demo" / "860717450455" / "sign"
    sig = egov(system, "sign", "--tsa", "--key", str(keys / "key.pem"), "--cert", str(keys / "cert.pem"),
               str(doc)).stdout.strip()
    report = json.loads(egov(system, "verify", "--signature", sig, str(doc)).stdout)
    assert report["valid"] and report["signers"][0]["tsp"]["policy"]
    # openssl still reads the CMS with the token in its unsigned attributes
    import base64

    from shared.envelope import canonical

    (tmp_path / "doc.jcs").write_bytes(canonical(json.loads(doc.read_text())))
    (tmp_path / "sig.der").write_bytes(base64.b64decode(sig))
    v = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(tmp_path / "sig.der"),
                        "-content", str(tmp_path / "doc.jcs"), "-CAfile", str(system.settings.pki_dir / "roots.pem"),
                        "-out", "/dev/null"], capture_output=True, text=True)
    assert v.returncode == 0, v.stderr


def test_issue_through_the_nca_then_revoke_by_serial(system, tmp_path):
    """The key is made by the command and never sent; the certificate is recorded, so its serial
    alone revokes it."""
    r = egov(system, "pki", "issue", "system", "--system-id", "cli_probe", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    cert = subprocess.run(["openssl", "x509", "-in", str(tmp_path / "cert.pem"), "-noout", "-serial"],
                          capture_output=True, text=True).stdout.strip().split("=")[1]
    pki = system.settings.pki_dir / "ca"
    v = subprocess.run(["openssl", "verify", "-CAfile", str(pki / "root.pem"), "-untrusted", str(pki / "issuing.pem"),
                        str(tmp_path / "cert.pem")], capture_output=True, text=True)
    assert v.returncode == 0, v.stdout + v.stderr
    r = egov(system, "pki", "revoke", "--serial", cert, "--reason", "cessationOfOperation")
    assert r.returncode == 0 and "revoked by the running НУЦ" in r.stderr, r.stderr
    ocsp = ["openssl", "ocsp", "-issuer", str(pki / "issuing.pem"), "-cert", str(tmp_path / "cert.pem"),
            "-url", f"{system.url('nca')}/ocsp", "-CAfile", str(pki / "root.pem")]
    assert ": revoked" in subprocess.run(ocsp, capture_output=True, text=True).stdout
    unknown = egov(system, "pki", "revoke", "--serial", "1f3a9c")
    assert unknown.returncode != 0 and unknown.stderr.startswith("CERTIFICATE_NOT_FOUND")


def test_bootstrap_certificates_are_revocable_by_serial(system):
    """A demo person's certificate was issued by the bootstrap, not through the API: recorded all the same."""
    cert = system.settings.pki_dir / "demo" / "921201450129" / "auth" / "cert.pem"
    serial = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-serial"],
                            capture_output=True, text=True).stdout.strip().split("=")[1]
    r = egov(system, "pki", "revoke", "--serial", serial, "--reason", "superseded")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["serial_number"] == serial.lower().lstrip("0")


def test_offline_when_no_nca_answers(system, tmp_path):
    """With no nca at EGOV_NCA_URL the command works on the CA files and the nca database itself,
    says so, and the running nca answers from that same database."""
    dead = {"EGOV_NCA_URL": "http://127.0.0.1:9"}
    r = egov(system, "pki", "issue", "individual", "--iin", "921201450129", "--name", "СЕРИКОВА МАДИНА",
             "--out", str(tmp_path), **dead)
    assert r.returncode == 0 and "issued offline" in r.stderr, r.stderr
    r = egov(system, "pki", "revoke", "--cert", str(tmp_path / "cert.pem"), **dead)
    assert r.returncode == 0 and "revoked offline" in r.stderr, r.stderr
    pki = system.settings.pki_dir / "ca"
    ocsp = ["openssl", "ocsp", "-issuer", str(pki / "issuing.pem"), "-cert", str(tmp_path / "cert.pem"),
            "-url", f"{system.url('nca')}/ocsp", "-CAfile", str(pki / "root.pem")]
    assert ": revoked" in subprocess.run(ocsp, capture_output=True, text=True).stdout


def test_wrong_input_is_one_line_and_non_zero(system, tmp_path):
    cases = [
        (("pki", "issue", "individual", "--iin", "860717450455", "--not-after", "next week", "--out", str(tmp_path)),
         "--not-after"),
        (("pki", "issue", "employee", "--iin", "750121322103", "--bin", "041140033217", "--role", "boss",
          "--out", str(tmp_path)), "CERT_PROFILE_INVALID"),
        (("pki", "issue", "robot", "--out", str(tmp_path)), "kind"),
        (("pki", "revoke", "--cert", str(tmp_path / "missing.pem")), "missing.pem"),
        (("pki", "revoke", "--serial", "f" * 200), "VALIDATION_ERROR"),
        (("pki", "revoke", "--serial", "1f", "--reason", "boredom"), "--reason"),
    ]
    for args, says in cases:
        r = egov(system, *args)
        assert r.returncode != 0, args
        assert says in r.stderr and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr


def test_no_ca_in_the_data_dir_is_said_and_none_is_created(system, tmp_path):
    empty = tmp_path / "elsewhere"
    for args in (("pki", "issue", "individual", "--iin", "860717450455", "--out", str(tmp_path / "k")),
                 ("pki", "revoke", "--serial", "1f"), ("pki", "roots", "--out", str(tmp_path / "r.pem"))):
        r = egov(system, *args, EGOV_DATA_DIR=str(empty))
        assert r.returncode != 0
        assert r.stderr.strip() == f"no НУЦ in {empty.resolve()}: run `egov up` first or set EGOV_DATA_DIR", r.stderr
    assert not (empty / "pki").exists() and not (tmp_path / "k").exists()
