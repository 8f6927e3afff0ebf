"""py-spy on the services during a pass: a flame graph (SVG) and raw stacks per service, and a
summary of where the samples fall (by library, by leaf function, by the project's own functions)."""
from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

#: leaf frames of a thread waiting for work (py-spy --nonblocking counts them as busy): left out
IDLE = ("_connection_worker_thread (aiosqlite/core.py:59)", "_worker (concurrent/futures/thread.py:81)")

CATEGORIES = (  # (name, substrings of a frame's file) — the first that matches a sample's leaf frame
    ("event loop in C (uvloop: sockets, httptools parsing)", ("Runner.run (asyncio/runners.py",)),
    ("sqlite (aiosqlite, sqlite3)", ("aiosqlite", "sqlite3")),
    ("asyncpg", ("asyncpg",)),
    ("SQLAlchemy", ("sqlalchemy",)),
    ("cryptography / asn1crypto (CMS, X.509)", ("cryptography", "asn1crypto")),
    ("argon2 (passwords)", ("argon2",)),
    ("pydantic / FastAPI / Starlette", ("pydantic", "fastapi", "starlette")),
    ("HTTP (uvicorn, h11, httpx, httpcore, anyio)", ("uvicorn", "h11", "httpx", "httpcore", "anyio")),
    ("aiokafka", ("aiokafka", "kafka")),
    ("JSON / JCS (json, rfc8785)", ("json", "rfc8785")),
    ("logging (structlog, logging)", ("structlog", "logging")),
    ("prometheus / telemetry", ("prometheus", "opentelemetry", "telemetry")),
    ("the project (services/, shared/)", ("(services/", "(shared/")),
    ("asyncio / threads", ("asyncio", "threading", "concurrent")),
)


def _pyspy() -> str:
    found = Path(sys.executable).parent / "py-spy"
    return str(found) if found.exists() else (shutil.which("py-spy") or "py-spy")


class Profile:
    def __init__(self, stack, services: tuple[str, ...], out_dir: Path, tag: str, rate: int = 50):
        self.stack, self.services, self.out_dir, self.tag, self.rate = stack, services, out_dir, tag, rate
        self.files: dict[str, Path] = {}

    def start(self) -> list[subprocess.Popen]:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        procs = []
        for service in self.services:
            pid = str(self.stack.procs[service].pid)
            raw = self.out_dir / f"profile-{self.tag}-{service}.txt"
            svg = self.out_dir / f"profile-{self.tag}-{service}.svg"
            self.files[service] = raw
            for fmt, out in (("raw", raw), ("flamegraph", svg)):
                procs.append(subprocess.Popen([_pyspy(), "record", "--pid", pid, "--rate", str(self.rate),
                                               "--nonblocking", "--format", fmt, "-o", str(out)],
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        return procs

    def stop(self, procs: list[subprocess.Popen]) -> None:
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()

    def summary(self) -> dict:
        return {service: summarize(path) for service, path in self.files.items() if path.exists()}


def summarize(path: Path, top: int = 8) -> dict:
    leaf_cat, leaf_fn, project = Counter(), Counter(), Counter()
    total = idle = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        leaf = frames[-1]
        if leaf in IDLE or not leaf:  # waiting for work, or no Python frame at all
            idle += n
            continue
        total += n
        leaf_fn[leaf] += n
        leaf_cat[next((name for name, keys in CATEGORIES if any(k in leaf for k in keys)), "other")] += n
        for f in {f for f in frames if "(services/" in f or "(shared/" in f}:
            project[f] += n
    if not total:
        return {"samples": 0, "idle_samples_left_out": idle}

    def pct(c: Counter) -> list[tuple[str, float]]:
        return [(k, round(100 * v / total, 1)) for k, v in c.most_common(top)]

    return {"samples": total, "idle_samples_left_out": idle, "by_library": pct(leaf_cat), "leaf_functions": pct(leaf_fn),
            "project_functions_inclusive": pct(project)}
