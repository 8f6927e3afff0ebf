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


def egov(system, *args: str) -> subprocess.CompletedProcess:
    s = system.settings
    env = dict(os.environ, EGOV_DATA_DIR=str(s.data_dir), EGOV_NCA_URL=system.url("nca"),
               EGOV_DB_SERVER=s.db_server, EGOV_DB_PREFIX=s.db_prefix)
    return subprocess.run([sys.executable, "-m", "egov.cli", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_issue_sign_verify_revoke(system, tmp_path):
    out = tmp_path / "ec"
    r = egov(system, "pki", "issue", "individual", "--iin", "860717450455", "--name", "ИВАНОВА АЙГУЛЬ СЕРИКОВНА",
             "--key-type", "ec", "--out", str(out))
    assert r.returncode == 0, r.stderr
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
