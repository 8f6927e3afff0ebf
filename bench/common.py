"""Small helpers every part of the bench uses: percentiles, CPU seconds of the Stack's processes."""
from __future__ import annotations

import math

import psutil



def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100) of ``values``; None when there are none."""
    if not values:
        return None
    xs = sorted(values)
    return xs[max(0, min(len(xs) - 1, math.ceil(p / 100 * len(xs)) - 1))]


def summary_ms(seconds: list[float]) -> dict:
    """count, p50/p95/p99/max in milliseconds."""
    return {"count": len(seconds),
            **{k: (None if (v := percentile(seconds, p)) is None else round(v * 1000, 1))
               for k, p in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))}}


def _cpu(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system + t.children_user + t.children_system


def cpu_seconds(stack, *, postgres: str | None = None) -> dict[str, float]:
    """user+system CPU seconds so far of each process of ``stack`` (services and broker), of this
    process (the load generator, on the same cores) and, with ``postgres`` (the run's database name
    prefix), of the PostgreSQL backends serving the run's databases — their title is
    ``postgres: user <database> host(port) state`` — so that other users of the same server do not
    count (the server's shared background processes, WAL writer and checkpointer, are left out;
    backends that ended meanwhile are not counted)."""
    out: dict[str, float] = {}
    for name, p in stack.procs.items():
        try:
            out[name] = _cpu(psutil.Process(p.pid))
        except psutil.Error:
            pass
    out["bench client"] = _cpu(psutil.Process())
    if postgres:
        total = 0.0
        for proc in psutil.process_iter(["name", "cmdline"]):
            title = " ".join(proc.info["cmdline"] or [])
            if proc.info["name"] and proc.info["name"].startswith("postgres") and f" {postgres}" in title:
                try:
                    total += _cpu(proc)
                except psutil.Error:
                    pass
        out["postgresql server"] = total
    return out


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: after[k] - before.get(k, 0.0) for k in after}
