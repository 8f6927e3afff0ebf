"""``make bench`` — one table, ``bench/results/latest.json`` and ``bench/results/latest.svg``.

On SQLite (and again on PostgreSQL with ``--postgres URL``): the whole system as real processes,
N pre-signed applications at full speed from C clients, then N more at an offered rate, each
followed to the provider's inbox with latency per hop from the services' own timestamps and the CPU
seconds of every process. Beside them, on the SQLite system: the gateway alone (batch and single
sendMessage → a recipient's consumer), a Kafka producer → consumer directly on the same broker,
the project's signature verification (TrustStore with the revocation answer cached) and
``openssl speed`` for the same key types. ``--profile`` adds a pass under py-spy and summarises it.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from . import report
from .e2e import EndToEnd
from .gateway import gateway_alone, kafka_direct
from .profile import Profile
from .verify import figures

RESULTS = Path(__file__).parent / "results"


def machine(postgres: str | None) -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    m = {"cpu": cpu, "cores": psutil.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30),
         "python": platform.python_version(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()], "kernel": platform.release(),
         "openssl": subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.strip()}
    if postgres:
        async def version():
            import asyncpg

            conn = await asyncpg.connect(postgres.replace("postgresql+asyncpg", "postgresql"))
            try:
                return (await conn.fetchval("show server_version")).split()[0]
            finally:
                await conn.close()
        try:
            m["postgresql"] = "PostgreSQL " + asyncio.run(version())
        except Exception as exc:  # the figures stand without it
            m["postgresql"] = f"PostgreSQL (version unknown: {exc.__class__.__name__})"
    return m


def run(args, log=print) -> dict:
    results: dict = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine(args.postgres),
                     "config": {"applications": args.n, "clients": args.clients, "rate": args.rate,
                                "gateway_messages": args.gateway_n, "kafka_messages": args.kafka_n},
                     "end_to_end": [], "profile": {}}
    backends = ([] if args.skip_sqlite else ["sqlite"]) + (["postgresql"] if args.postgres else [])
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix=f"egov-bench-{backend}-") as d:
            e2e = EndToEnd(applications=args.n, clients=args.clients, data_dir=Path(d), log=log,
                           applicants=args.applicants, quiet_timeout=args.quiet_timeout, postgres=args.postgres if backend == "postgresql" else None)
            e2e.start()
            try:
                profile = Profile(e2e.stack, ("portal", "gateway", "e_licensing", "provider_arm"), args.results,
                                  backend) if args.profile else None
                passes, profiled = asyncio.run(e2e.run_passes(args.rate or None, profile, args.profile_n))
                results["end_to_end"] += passes
                if profiled:
                    results["profile"][backend] = profiled
                if backend == "sqlite" and not args.e2e_only:
                    log("[sqlite] the gateway alone…")
                    results["gateway"] = asyncio.run(gateway_alone(e2e.stack, e2e.ca, Path(d), n=args.gateway_n))
                    log("[sqlite] Kafka directly…")
                    results["kafka_direct"] = asyncio.run(kafka_direct(e2e.settings.broker, n=args.kafka_n))
                    log("[sqlite] signature verification and openssl speed…")
                    results["verify"] = figures(e2e.ca, e2e.settings.pki_dir)
            finally:
                e2e.stop()
            report.write_json(results, args.results / f"{args.name}.partial.json")  # what is done so far
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    (args.results / f"{args.name}.partial.json").unlink(missing_ok=True)
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=5000, help="applications per end-to-end pass")
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--rate", type=float, default=100.0, help="offered applications/s of the second pass (0: skip it)")
    p.add_argument("--applicants", type=int, default=40)
    p.add_argument("--postgres", help="also on this PostgreSQL server (databases made and dropped by the run)")
    p.add_argument("--skip-sqlite", action="store_true", help="only PostgreSQL (with --postgres)")
    p.add_argument("--gateway-n", type=int, default=2000)
    p.add_argument("--kafka-n", type=int, default=20000)
    p.add_argument("--profile", action="store_true", help="a further full-speed pass under py-spy, summarised")
    p.add_argument("--profile-n", type=int, default=1000)
    p.add_argument("--e2e-only", action="store_true", help="no gateway-alone, Kafka or verification figures")
    p.add_argument("--quiet-timeout", type=float, default=60,
                   help="seconds to wait, before and after a pass, for the system to go quiet (CPU < 10%% of a core)")
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--name", default="latest", help="results/<name>.json and .svg")
    args = p.parse_args(argv)
    results = run(args, log=lambda *a: print(*a, file=sys.stderr, flush=True))
    print(report.table(results))
    report.write_json(results, args.results / f"{args.name}.json")
    svg = report.chart(results, args.results / f"{args.name}.svg")
    for backend, services in results["profile"].items():
        print(f"\nprofile ({backend}, py-spy, leaf frames by library):")
        for service, s in services.items():
            cats = ", ".join(f"{k} {v}%" for k, v in s.get("by_library", [])[:5])
            print(f"  {service:<13} {s['samples']:>6} samples: {cats}")
    print(f"\nwritten: {args.results / (args.name + '.json')}" + (f", {svg}" if svg else ""))
    ok = all(p["reached_provider"] == p["applications"] for p in results["end_to_end"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
