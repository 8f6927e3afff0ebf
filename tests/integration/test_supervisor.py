"""``egov up`` as a supervisor, and ``egov status``, on real processes: a killed service comes back,
a second ``egov up`` is refused and names who holds the ports, a closed terminal (SIGHUP) stops
everything; the restart policy itself without processes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from egov import supervisor as sup
from egov.launcher import free_port
from shared.settings import CommonSettings

pytestmark = pytest.mark.integration

SERVICES = ("portal", "gateway", "e_licensing", "provider_arm", "nca", "registries", "con", "web")



def egov(env: dict, *args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "egov.cli", *args], env=env, capture_output=True, text=True,
                          timeout=60, **kw)


def wait_for(fn, timeout: float = 60, step: float = 0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("not in time")


@pytest.fixture
def stack_env(tmp_path):
    env = dict(os.environ, EGOV_DATA_DIR=str(tmp_path / "egov"), EGOV_BROKER=f"127.0.0.1:{free_port()}")
    for service in SERVICES:
        env[f"EGOV_{service.upper()}_PORT"] = str(free_port())
    env["EGOV_NCA_URL"] = f"http://127.0.0.1:{env['EGOV_NCA_PORT']}"
    env["EGOV_GATEWAY_URL"] = f"http://127.0.0.1:{env['EGOV_GATEWAY_PORT']}"
    return env


def status(env) -> tuple[int, dict]:
    r = egov(env, "status", "--json")
    return r.returncode, json.loads(r.stdout)


def test_up_restarts_refuses_a_second_and_stops_on_sighup(stack_env, tmp_path):
    out = open(tmp_path / "up.log", "w")
    up = subprocess.Popen([sys.executable, "-m", "egov.cli", "up"], env=stack_env, stdout=out, stderr=subprocess.STDOUT)
    try:
        code, report = wait_for(lambda: (lambda r: r if r[0] == 0 else None)(status(stack_env)), timeout=120)
        children = {name: p["pid"] for name, p in report["processes"].items()}
        assert set(children) == {"broker", *SERVICES}

        # a second egov up over the first: refused, naming who holds the ports
        second = egov(stack_env, "up")
        assert second.returncode != 0
        assert "already runs" in second.stderr and f"port {stack_env['EGOV_GATEWAY_PORT']} is held by pid" in second.stderr

        # kill -9 a service: reported, restarted, healthy again
        os.kill(children["gateway"], signal.SIGKILL)
        code, report = wait_for(lambda: (lambda r: r if r[0] == 0 and r[1]["processes"]["gateway"]["restarts"] == 1
                                         else None)(status(stack_env)), timeout=90)
        assert report["processes"]["gateway"]["pid"] != children["gateway"]
        log = (tmp_path / "egov" / "logs" / "supervisor.log").read_text()
        assert '"event": "exited", "process": "gateway"' in log and '"event": "restarted", "process": "gateway"' in log
        children = {name: p["pid"] for name, p in report["processes"].items()}

        # the terminal closes: everything stops, nothing survives
        up.send_signal(signal.SIGHUP)
        assert up.wait(60) == 0
        wait_for(lambda: not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
                                 for pid in children.values()), timeout=30)
        code, report = status(stack_env)
        assert code != 0 and report["running"] is False
        assert "exited (" in (tmp_path / "up.log").read_text()
    finally:
        if up.poll() is None:
            up.kill()


def test_restart_policy_backs_off_and_gives_up(tmp_path, monkeypatch):
    """Without processes: a child that keeps dying is restarted with growing delays, then given up."""
    s = sup.Supervisor(CommonSettings(data_dir=tmp_path), say=lambda *_: None)
    child = sup.Child("gateway")
    s.children["gateway"] = child
    started = []

    def start_service(name):  # a stand-in for the real process
        started.append(name)
        s.stack.procs[name] = subprocess.Popen(["true"])

    monkeypatch.setattr(s.stack, "start_service", start_service)
    monkeypatch.setattr(s, "write_state", lambda: None)
    delays = []
    for _ in range(sup.MAX_RESTARTS):
        s._exited(child, -9)
        delays.append(child.next_start - time.monotonic())
        child.next_start = time.monotonic()
        s._restart(child)
    assert started == ["gateway"] * sup.MAX_RESTARTS
    assert delays[-1] > delays[0]  # backoff grows
    s._exited(child, -9)
    assert child.given_up  # the sixth exit within the window
