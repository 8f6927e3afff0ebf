"""``egov log verify --offline`` as a person runs it: the command, with no НУЦ to ask and the network
cut off (every outgoing connection refused but the database's), proves the running gateway's hash
chain and seals against the trust anchors alone; the same command without ``--offline`` cannot, as
it must ask the НУЦ about revocation and fails closed."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest

from egov.launcher import free_port

from .test_gateway_channels import Parties

pytestmark = pytest.mark.integration

#: imported by the command's interpreter before anything else: no connection leaves but to the database
NO_NETWORK = '''
import os, socket
_allowed = {int(p) for p in os.environ.get("EGOV_TEST_ALLOWED_PORTS", "").split(",") if p}
_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex
def _check(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6) and address[1] not in _allowed:
        raise ConnectionRefusedError(111, f"the network is cut off (test): {address}")
def connect(self, address):
    _check(self, address)
    return _connect(self, address)
def connect_ex(self, address):
    _check(self, address)
    return _connect_ex(self, address)
socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
'''


def log_verify(system, tmp_path, *args: str) -> tuple[int, dict | None, str]:
    (tmp_path / "sitecustomize.py").write_text(NO_NETWORK)
    settings = system.settings
    allowed = str(urlsplit(settings.db_server).port or 5432) if settings.db_server != "sqlite" else ""
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "EGOV_TEST_ALLOWED_PORTS": allowed, "EGOV_DATA_DIR": str(settings.data_dir),
           "EGOV_DB_SERVER": settings.db_server, "EGOV_DB_PREFIX": settings.db_prefix,
           "EGOV_NCA_URL": f"http://127.0.0.1:{free_port()}"}  # no НУЦ there either
    r = subprocess.run([sys.executable, "-m", "egov.cli", "log", "verify", *args], capture_output=True, text=True,
                       env=env, timeout=120)
    try:
        return r.returncode, json.loads(r.stdout), r.stderr
    except ValueError:
        return r.returncode, None, r.stderr


def test_log_verify_offline_needs_no_network(system, tmp_path):
    parties = Parties(system, tmp_path)  # at least one message in the log, whatever ran before
    parties.confirm(parties.send({"n": 1}))
    deadline = time.monotonic() + 60
    while True:  # the gateway seals its log every few seconds: wait for a seal to check
        code, report, err = log_verify(system, tmp_path, "--offline")
        assert code == 0 and report is not None, err
        if report["seals"] > 0 or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert report["ok"] and report["revocationChecked"] is False, report
    assert report["records"] > 0 and report["seals"] > 0 and report["sealedRecords"] > 0, report
    # asked to check revocation too, it cannot reach the НУЦ and says the log is not proven
    code, report, err = log_verify(system, tmp_path)
    assert code != 0 and not report["ok"], report
    assert any("ECP_REVOCATION_UNKNOWN" in json.dumps(p) for p in report["problems"]), report["problems"]
