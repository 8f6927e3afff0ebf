"""``egov up``'s supervisor, and ``egov status``.

* Refuses to start over a running system: every port it needs must be free; otherwise it says
  who holds each one (pid and command line) and exits non-zero.
* Starts the broker and every service (``egov.launcher.Stack``) and keeps them running: a process
  that exits is reported (console and ``<data dir>/logs/supervisor.log``) and restarted with
  backoff (0.5 s doubling to 30 s); more than ``MAX_RESTARTS`` restarts of one process within
  ``RESTART_WINDOW`` seconds and it is given up on — said loudly, the others keep running. A
  restarted broker is empty (Tansu keeps messages in memory): its topics are made again, and the
  gateway redelivers what was not confirmed.
* SIGINT, SIGTERM and SIGHUP (a closed terminal) stop everything: SIGTERM to each child, SIGKILL
  after a grace period; no child outlives the supervisor.
* ``<data dir>/run/stack.json`` says what runs (pids, ports, start times, restarts) for
  ``egov status``; removed on a clean exit, recognised as stale when its supervisor is gone.
"""
from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import httpx
import psutil

from shared.messaging.retry import Backoff
from shared.settings import DEFAULT_PORTS, CommonSettings

from .bootstrap import PROCESSES
from .launcher import Stack

MAX_RESTARTS = 5
RESTART_WINDOW = 60.0


def configured_ports(settings: CommonSettings) -> dict[str, int]:
    """Each service's port (``EGOV_<SERVICE>_PORT`` or the default) and the broker's."""
    ports = {s: int(os.environ.get(f"EGOV_{s.upper()}_PORT", DEFAULT_PORTS[s])) for s in PROCESSES}
    ports["broker"] = int(settings.broker.rsplit(":", 1)[1])
    return ports


def holders(ports: dict[str, int]) -> dict[str, str]:
    """For each port already listened on: who holds it (pid and command line, when it can be seen)."""
    out = {}
    try:
        listening = {c.laddr.port: c.pid for c in psutil.net_connections(kind="tcp")
                     if c.status == psutil.CONN_LISTEN}
    except psutil.AccessDenied:
        listening = {}
    for name, port in ports.items():
        if port in listening:
            pid = listening[port]
            try:
                who = f"pid {pid}: {' '.join(psutil.Process(pid).cmdline())[:160]}" if pid else "another process"
            except psutil.Error:
                who = f"pid {pid}"
            out[name] = f"port {port} is held by {who}"
        elif _connects(port):
            out[name] = f"port {port} is in use"
    return out


def _connects(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def state_file(settings: CommonSettings) -> Path:
    return settings.data_dir / "run" / "stack.json"


def read_state(settings: CommonSettings) -> dict | None:
    """What the supervisor of this data dir wrote, or None (nothing runs, or it died: stale)."""
    path = state_file(settings)
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not psutil.pid_exists(state.get("supervisor_pid", -1)):
        return None
    return state


@dataclass
class Child:
    name: str
    started_at: float = field(default_factory=time.time)
    restarts: list[float] = field(default_factory=list)
    given_up: bool = False
    next_start: float | None = None


class Supervisor:
    def __init__(self, settings: CommonSettings, *, say=print, grace: float = 10.0):
        self.settings = settings
        self.ports = configured_ports(settings)
        self.stack = Stack(settings, ports={k: v for k, v in self.ports.items() if k != "broker"},
                           die_with_parent=True)
        self.say = say
        self.grace = grace
        self.backoff = Backoff(0.5, 30.0)
        self.children: dict[str, Child] = {}
        self.stopping = False
        self.log = self.stack.log_dir / "supervisor.log"

    # --- reporting ----------------------------------------------------------------------
    def event(self, event: str, **fields) -> None:
        line = {"at": datetime.now(timezone.utc).isoformat(), "event": event, **fields}
        with open(self.log, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")

    def write_state(self) -> None:
        path = state_file(self.settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        procs = {name: {"pid": p.pid, "port": self.ports.get(name),
                        "started_at": self.children[name].started_at if name in self.children else None,
                        "restarts": len(self.children[name].restarts) if name in self.children else 0,
                        "given_up": self.children[name].given_up if name in self.children else False}
                 for name, p in self.stack.procs.items()}
        for name, child in self.children.items():
            procs.setdefault(name, {"pid": None, "port": self.ports.get(name), "started_at": None,
                                    "restarts": len(child.restarts), "given_up": child.given_up})
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"supervisor_pid": os.getpid(), "data_dir": str(self.settings.data_dir.resolve()),
                                   "urls": {s: self.stack.url(s) for s in PROCESSES},
                                   "broker": self.settings.broker, "processes": procs}, indent=2))
        os.replace(tmp, path)

    # --- the life cycle -----------------------------------------------------------------
    def check_ports(self) -> list[str]:
        """Problems that forbid starting: one line per port already taken."""
        lines = []
        state = read_state(self.settings)
        if state is not None:
            lines.append(f"egov-sim already runs on {state['data_dir']} (supervisor pid {state['supervisor_pid']}): "
                         "see `egov status`")
        for name, why in holders(self.ports).items():
            lines.append(f"{name}: {why}")
        return lines

    def start(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        self.stack.start_all()
        for name in self.stack.procs:
            self.children[name] = Child(name)
        self.write_state()
        self.event("started", processes={n: p.pid for n, p in self.stack.procs.items()})

    def _on_signal(self, signum, _frame) -> None:
        self.stopping = True
        self.event("signal", signal=signal.Signals(signum).name)

    def watch(self, *, until: float | None = None) -> None:
        """Restart what exits until a signal (or ``until``, a monotonic time, for tests)."""
        while not self.stopping and (until is None or time.monotonic() < until):
            now = time.monotonic()
            for name, child in self.children.items():
                if child.given_up:
                    continue
                p = self.stack.procs.get(name)
                if p is not None and p.poll() is None:
                    continue
                if child.next_start is None:
                    self._exited(child, p.returncode if p is not None else None)
                elif now >= child.next_start:
                    self._restart(child)
            time.sleep(0.2)

    def _exited(self, child: Child, code: int | None) -> None:
        now = time.monotonic()
        child.restarts = [t for t in child.restarts if now - t < RESTART_WINDOW]
        log_file = self.stack.log_dir / f"{child.name}.log"
        if len(child.restarts) >= MAX_RESTARTS:
            child.given_up = True
            self.say(f"{child.name} exited ({code}) {MAX_RESTARTS} times within {RESTART_WINDOW:.0f} s: given up — "
                     f"see {log_file}; the others keep running")
            self.event("given_up", process=child.name, exit_code=code)
            self.stack.procs.pop(child.name, None)
            self.write_state()
            return
        delay = self.backoff.delay(len(child.restarts) + 1)
        child.next_start = now + delay
        self.say(f"{child.name} exited ({code}); restarting in {delay:.1f} s — see {log_file}")
        self.event("exited", process=child.name, exit_code=code, restart_in=round(delay, 2))

    def _restart(self, child: Child) -> None:
        child.restarts.append(time.monotonic())
        child.next_start = None
        child.started_at = time.time()
        self.stack.procs.pop(child.name, None)
        try:
            if child.name == "broker":
                self.stack.start_broker()  # empty after a restart: its topics again
            else:
                self.stack.start_service(child.name)
        except Exception as exc:  # e.g. the broker's port not free yet: the next pass tries again
            self.event("restart_failed", process=child.name, error=str(exc)[:300])
            child.next_start = time.monotonic() + self.backoff.delay(len(child.restarts))
            return
        self.say(f"{child.name} restarted (pid {self.stack.procs[child.name].pid})")
        self.event("restarted", process=child.name, pid=self.stack.procs[child.name].pid)
        self.write_state()

    def stop(self) -> None:
        """Every child: SIGTERM, SIGKILL after the grace period; then the state file goes."""
        self.event("stopping")
        procs = list(reversed(list(self.stack.procs.items())))
        for _, p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        for _, p in procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except Exception:
                p.kill()
                p.wait()
        self.stack.procs.clear()
        state_file(self.settings).unlink(missing_ok=True)
        self.event("stopped")


def status(settings: CommonSettings) -> tuple[bool, dict]:
    """(healthy, report): each process's pid, port, uptime, restarts and /health answer."""
    state = read_state(settings)
    if state is None:
        return False, {"running": False, "data_dir": str(settings.data_dir.resolve())}
    report = {"running": True, "data_dir": state["data_dir"], "supervisor_pid": state["supervisor_pid"],
              "processes": {}}
    healthy = True
    for name, proc in state["processes"].items():
        alive = proc["pid"] is not None and psutil.pid_exists(proc["pid"])
        entry = {**proc, "alive": alive,
                 "up_seconds": round(time.time() - proc["started_at"]) if alive and proc["started_at"] else None}
        if name in state["urls"]:
            try:
                r = httpx.get(state["urls"][name] + "/health", timeout=3)
                body = r.json()
                failing = {k: v for k, v in body.get("checks", {}).items() if v != "ok"}
                entry["health"] = "ok" if r.status_code == 200 else f"failing: {failing}"
            except (httpx.HTTPError, ValueError):
                entry["health"] = "not answering"
        else:
            entry["health"] = "ok" if alive and _connects(proc["port"]) else "not answering"
        healthy = healthy and alive and entry["health"] == "ok"
        report["processes"][name] = entry
    return healthy, report
