"""The command line explains: every wrong input gets one line saying what is wrong (and what to do)
and a non-zero exit — never a traceback."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from egov import demo
from egov.bootstrap import PROCESSES
from egov.launcher import free_port
from shared.pki.ca import DevCA

#: a PostgreSQL server nobody listens for
NOWHERE = "postgresql+asyncpg://postgres:secret@127.0.0.1:1"


def egov(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    env = {"EGOV_DATA_DIR": str(tmp_path / "egov"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **env}
    return subprocess.run([sys.executable, "-m", "egov.cli", *args], capture_output=True, text=True, env=env,
                          timeout=120)


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


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    """``egov ARGS`` in this process (what the installed ``egov`` runs: ``egov.cli:app``), on an empty
    data dir: (exit code, stdout, stderr)."""
    from egov.cli import app

    monkeypatch.setenv("EGOV_DATA_DIR", str(tmp_path / "egov"))

    def run(*args: str, **env: str) -> subprocess.CompletedProcess:
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_:
            app(args=list(args), prog_name="egov")
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, exit_.value.code, out, err)

    return run


@pytest.mark.parametrize("args, words", [
    (["log", "verify"], ["no НУЦ trust anchors", "egov up"]),
    (["log", "verify", "--offline"], ["no НУЦ trust anchors"]),
    (["log", "export", "some-message-id"], ["no НУЦ trust anchors"]),
    # Typer's own usage errors
    (["iin", "new", "--count", "0"], ["--count", "greater than or equal to 1", "`egov iin new --help`"]),
    (["iin", "new", "--count", "many"], ["--count", "integer"]),
    (["iin", "nwe"], ["No such command 'nwe'", "'new'"]),
    (["no-such-command"], ["No such command"]),
    (["sign", "doc.json"], ["Missing option '--key'"]),
    (["pki", "show"], ["Missing argument"]),
    (["status", "--jsn"], ["No such option", "--jsn"]),
])
def test_more_wrong_input_is_one_line(cli, args, words):
    one_line_failure(cli(*args), *words)


def test_usage_errors_exit_2_and_the_help_still_shows(cli):
    assert cli("iin", "new", "--count", "0").returncode == 2
    r = cli("--help")
    assert r.returncode == 0 and "Usage" in r.stdout and "iin" in r.stdout


def _with_trust_anchors(tmp_path, keys) -> None:
    (tmp_path / "egov" / "pki" / "ca").mkdir(parents=True)
    shutil.copy(keys / "ca" / "root.pem", tmp_path / "egov" / "pki" / "ca" / "root.pem")


@pytest.mark.parametrize("args", [["log", "verify"], ["log", "export", "m-1"]])
def test_the_message_log_without_the_gateways_database_is_one_line(tmp_path, keys, cli, args):
    _with_trust_anchors(tmp_path, keys)
    one_line_failure(cli(*args), "no gateway database", "egov up")
    assert not (tmp_path / "egov" / "gateway.db").exists()  # none made on the way
    (tmp_path / "egov" / "gateway.db").touch()  # there, but never migrated
    one_line_failure(cli(*args), "cannot read the gateway's message log", "egov migrate")
    r = cli(*args, EGOV_DB_SERVER=NOWHERE)  # the database server down
    one_line_failure(r, "cannot read the gateway's message log", "127.0.0.1:1", "ConnectionRefusedError")
    assert "secret" not in r.stderr


def test_migrate_and_up_with_an_unreachable_database_are_one_line(cli):
    r = cli("migrate", EGOV_DB_SERVER=NOWHERE)
    one_line_failure(r, "cannot prepare the databases", "postgres:***@127.0.0.1:1", "EGOV_DB_SERVER")
    assert "secret" not in r.stderr
    ports = {f"EGOV_{p.upper()}_PORT": str(free_port()) for p in PROCESSES}
    r = cli("up", EGOV_DB_SERVER=NOWHERE, EGOV_BROKER=f"127.0.0.1:{free_port()}", **ports)
    one_line_failure(r, "cannot prepare the databases", "127.0.0.1:1")
    assert r.returncode == 1


def test_demo_accounts_lists_every_demo_person_in_the_table_and_as_json(cli):
    r = cli("demo", "accounts", COLUMNS="400")
    assert r.returncode == 0, r.stderr
    people = (demo.APPLICANTS, demo.operators(), demo.con_operators())
    assert all(p and len(p) >= 1 for p in people)
    assert "ЦОН desk operators" in r.stdout
    rows = {line.split("│")[1].strip(): line for line in r.stdout.splitlines() if line.count("│") > 2}
    for person in (p for group in people for p in group):
        assert person["username"] in rows, person["username"]
        assert person["password"] in rows[person["username"]]
    for o in demo.con_operators():
        assert o["region"] in rows[o["username"]] and o["bin"] in rows[o["username"]]
    data = json.loads(cli("demo", "accounts", "--json").stdout)
    assert [o["username"] for o in data["con"]["operators"]] == [o["username"] for o in demo.con_operators()]
    assert [o["username"] for o in data["provider_arm"]["operators"]] == [o["username"] for o in demo.operators()]
    assert data["con"]["operators"][0]["sign"]["key"].endswith("/sign/key.pem")
