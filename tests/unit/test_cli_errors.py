"""The command line explains: every wrong input gets one line saying what is wrong (and what to do)
and a non-zero exit — never a traceback."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from shared.pki.ca import DevCA


def egov(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {"EGOV_DATA_DIR": str(tmp_path / "egov"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    return subprocess.run([sys.executable, "-m", "egov.cli", *args], capture_output=True, text=True, env=env,
                          timeout=60)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    ca = DevCA.load_or_create(d / "ca")
    ca.issue_individual("860717450455", "ИВАНОВА АЙГУЛЬ", usage="sign").write(d / "a")
    ca.issue_individual("921201450129", "СЕРИКОВА МАДИНА", usage="sign").write(d / "b")
    (d / "doc.json").write_text(json.dumps({"a": 1}))
    (d / "bad.json").write_text('{"a": NaN}')
    return d


def one_line_failure(r: subprocess.CompletedProcess, *words: str) -> None:
    assert r.returncode != 0, r.stdout
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_sign_refuses_a_key_that_is_not_the_certificates(tmp_path, keys):
    r = egov(tmp_path, "sign", "--key", str(keys / "a" / "key.pem"), "--cert", str(keys / "b" / "cert.pem"),
             str(keys / "doc.json"))
    one_line_failure(r, "does not belong")


@pytest.mark.parametrize("args, words", [
    (["sign", "--key", "nokey.pem", "--cert", "nocert.pem", "doc.json"], ["--key", "No such file"]),
    (["sign", "--key", "doc.json", "--cert", "a/cert.pem", "doc.json"], ["--key", "not an unencrypted PEM"]),
    (["sign", "--key", "a/key.pem", "--cert", "doc.json", "doc.json"], ["--cert", "not a PEM certificate"]),
    (["sign", "--key", "a/key.pem", "--cert", "a/cert.pem", "missing.json"], ["missing.json"]),
    (["sign", "--key", "a/key.pem", "--cert", "a/cert.pem", "bad.json"], ["bad.json", "not JSON"]),
    (["pki", "show", "doc.json"], ["not a certificate"]),
    (["iin", "check", "860717450456"], ["IIN_BIN_INVALID"]),
    (["iin", "new", "--sex", "X"], ["--sex"]),
    (["verify", "--signature", "@nothing", "doc.json"], ["--signature"]),
    (["pki", "issue", "individual", "--iin", "860717450455", "--out", "x"], ["no НУЦ", "egov up"]),
])
def test_wrong_input_is_one_line(tmp_path, keys, args, words):
    resolved = [str(keys / a) if a.endswith((".pem", ".json")) and not a.startswith("@") else a for a in args]
    resolved = [f"@{keys / a[1:]}" if a.startswith("@") else a for a in resolved]
    one_line_failure(egov(tmp_path, *resolved), *words)


def test_iin_new_makes_valid_numbers(tmp_path):
    r = egov(tmp_path, "iin", "new", "--count", "5", "--born", "1990-05-17", "--sex", "M")
    assert r.returncode == 0
    numbers = r.stdout.split()
    assert len(numbers) == 5 and all(n.startswith("900517") for n in numbers)
    for n in numbers + egov(tmp_path, "iin", "new", "bin").stdout.split():
        assert egov(tmp_path, "iin", "check", n).returncode == 0
