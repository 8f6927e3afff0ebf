"""End to end: pre-signed S2 Almaty applications submitted to the portal, followed to the provider's
inbox (a provider_arm case), with latency per hop from the timestamps the services record.

The applicants, their attachments, payments and signatures are made before the clock starts by
the same code as the chaos run (``tests/chaos/run.py``: ``Chaos.presign`` and ``Chaos._submit``,
which resubmits on a retryable answer, as a client would) — here with no faults, no operators and
the project's default timers (outbox poll, redelivery, revocation freshness as ``make run`` has them).

Hops, per application, joined on the portal's request id (= the correlationId everywhere):

* portal accept — the client's POST /requests until its 202, on the client's clock (with an offered
  rate, from the moment the application was due, so that a queue in front of the portal counts);
* gateway accept — portal ``requests.created_at`` → gateway ``messages.received_at`` (ELICENSE_SUBMIT):
  the portal's outbox relay and the gateway's checks;
* delivery to e_licensing — gateway ``messages.received_at`` → e_licensing ``inbox.received_at`` of
  that message: Kafka, the consumer, the re-verification and the registration;
* delivery to provider — e_licensing ``inbox.received_at`` → provider_arm ``cases.received_at``:
  e_licensing's outbox, the gateway again (ARM_PROCESS), Kafka, provider_arm's consumer;
* total — portal ``requests.created_at`` → provider_arm ``cases.received_at``.
"""
from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from shared.settings import CommonSettings
from tests.chaos.run import Chaos

from .common import cpu_delta, cpu_seconds, summary_ms

HOPS = ("portal accept", "gateway accept", "delivery to e_licensing", "delivery to provider", "total (portal → provider)")


class EndToEnd(Chaos):
    def __init__(self, *, applications: int, clients: int, postgres: str | None, data_dir: Path,
                 applicants: int = 40, log=print, settle_timeout: float = 900,
                 quiet_timeout: float = 60):
        super().__init__(applications=applications, clients=clients, applicants=applicants, postgres=postgres,
                         faults=(), data_dir=data_dir, log=log)
        defaults = CommonSettings()
        self.settings.redelivery_seconds = defaults.redelivery_seconds
        self.settings.outbox_poll_seconds = defaults.outbox_poll_seconds
        for key in ("EGOV_REVOCATION_FRESHNESS_SECONDS", "EGOV_GATEWAY_REDELIVERY_CAP_SECONDS"):
            self.stack.env.pop(key, None)
        self.settle_timeout = settle_timeout
        self.quiet_timeout = quiet_timeout
        #: seconds of the quiet system sampled before each pass (its idle CPU)
        self.idle_sample = 5.0
        self.backend = "postgresql" if postgres else "sqlite"
        #: the run's database names start with this (its PostgreSQL backends' CPU is counted)
        self.pg_prefix = self.settings.db_prefix if postgres else None

    # --- the load -------------------------------------------------------------------------
    async def load_timed(self, apps: list[dict], rate: float | None) -> tuple[dict[str, float], float]:
        """C clients submit ``apps``; with ``rate``, application i is due at start + i/rate (and
        its latency counts from then). Returns {nonce: seconds to the 202} and the load's seconds."""
        import httpx

        queue: asyncio.Queue = asyncio.Queue()
        for i, app in enumerate(apps):
            queue.put_nowait((i, app))
        latency: dict[str, float] = {}
        start = time.perf_counter()

        async def client(http):
            while not queue.empty():
                i, app = queue.get_nowait()
                due = start + i / rate if rate else None
                if due is not None:
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                t0 = due if due is not None else time.perf_counter()
                await self._submit(http, app)
                latency[app["document"]["nonce"]] = time.perf_counter() - t0

        limits = httpx.Limits(max_connections=self.clients, max_keepalive_connections=self.clients)
        async with httpx.AsyncClient(timeout=60, limits=limits) as http:
            await asyncio.gather(*(client(http) for _ in range(self.clients)))
        return latency, time.perf_counter() - start

    # --- what the databases recorded ------------------------------------------------------
    async def records(self, nonces: set[str]) -> dict[str, dict[str, datetime | None]]:
        """Per application (by nonce): the timestamps of each hop, read from each service's database."""
        from services.e_licensing.models import Application, InboxMessage as ElInbox
        from services.gateway.models import Message
        from services.portal.models import Request
        from services.provider_arm.models import Case

        async def portal(s):
            return (await s.execute(select(Request.nonce, Request.request_id, Request.created_at))).all()

        async def gateway(s):
            return (await s.execute(select(Message.correlation_id, Message.service_id, Message.message_id,
                                           Message.received_at, Message.delivered_at)
                                    .where(Message.service_id.in_(("ELICENSE_SUBMIT", "ARM_PROCESS"))))).all()

        async def e_licensing(s):
            inbox = (await s.execute(select(ElInbox.message_id, ElInbox.received_at))).all()
            apps = (await s.execute(select(Application.request_id, Application.registered_at))).all()
            return inbox, apps

        async def provider(s):
            return (await s.execute(select(Case.request_id, Case.received_at))).all()

        requests = {n: (rid, at) for n, rid, at in await self._db("portal", portal) if n in nonces}
        submit = {c: (mid, at) for c, sid, mid, at, _ in await self._db("gateway", gateway) if sid == "ELICENSE_SUBMIT"}
        inbox, apps = await self._db("e_licensing", e_licensing)
        inbox, apps = dict(inbox), dict(apps)
        cases = dict(await self._db("provider_arm", provider))
        out = {}
        for nonce, (rid, created) in requests.items():
            mid, gw_at = submit.get(rid, (None, None))
            out[nonce] = {"portal": created, "gateway": gw_at, "e_licensing": inbox.get(mid) if mid else None,
                          "registered": apps.get(rid), "provider": cases.get(rid)}
        return out

    async def wait_cases(self, nonces: set[str], timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            recs = await self.records(nonces)
            arrived = sum(1 for r in recs.values() if r["provider"] is not None)
            if arrived >= len(nonces) or time.monotonic() > deadline:
                return recs
            await asyncio.sleep(1.0)

    async def wait_quiet(self, timeout: float | None = None, idle: float = 0.10) -> None:
        """Until the system's processes together use less than ``idle`` of a core for a second
        (the notifications back to the portal are part of each application's cost)."""
        deadline = time.monotonic() + (self.quiet_timeout if timeout is None else timeout)
        last = cpu_seconds(self.stack, postgres=self.pg_prefix)
        while time.monotonic() < deadline:
            await asyncio.sleep(1.0)
            now = cpu_seconds(self.stack, postgres=self.pg_prefix)
            busy = sum(v for k, v in cpu_delta(last, now).items() if k != "bench client")
            last = now
            if busy < idle:
                return

    # --- one pass -------------------------------------------------------------------------
    async def one_pass(self, apps: list[dict], rate: float | None, profile=None) -> dict:
        nonces = {a["document"]["nonce"] for a in apps}
        label = f"offered {rate:g}/s" if rate else "full speed"
        self.log(f"[{self.backend}] {label}: {len(apps)} applications, {self.clients} clients")
        await self.wait_quiet()
        # what the idle system burns (pollers, relays, seals, health) — over a long pass it is a
        # sizeable share of the CPU per application, so it is reported apart and netted out
        idle0, t_idle = cpu_seconds(self.stack, postgres=self.pg_prefix), time.perf_counter()
        await asyncio.sleep(self.idle_sample)
        idle = cpu_delta(idle0, cpu_seconds(self.stack, postgres=self.pg_prefix))
        idle_rate = {k: v / (time.perf_counter() - t_idle) for k, v in idle.items()}
        cpu0 = cpu_seconds(self.stack, postgres=self.pg_prefix)
        t_cpu0 = time.perf_counter()
        wall0 = time.time()
        prof = profile.start() if profile else None
        latency, submit_seconds = await self.load_timed(apps, rate)
        recs = await self.wait_cases(nonces, self.settle_timeout)
        if prof:
            profile.stop(prof)
        arrived = [r["provider"].timestamp() for r in recs.values() if r["provider"] is not None]
        await self.wait_quiet()
        cpu = cpu_delta(cpu0, cpu_seconds(self.stack, postgres=self.pg_prefix))
        cpu_window = time.perf_counter() - t_cpu0
        n = len(apps)
        net = {k: max(0.0, v - idle_rate.get(k, 0.0) * cpu_window) for k, v in cpu.items()}

        def hop(a, b):
            return [(r[b] - r[a]).total_seconds() for r in recs.values() if r[a] is not None and r[b] is not None]

        hops = {"portal accept": summary_ms(list(latency.values())),
                "gateway accept": summary_ms(hop("portal", "gateway")),
                "delivery to e_licensing": summary_ms(hop("gateway", "e_licensing")),
                "delivery to provider": summary_ms(hop("e_licensing", "provider")),
                "total (portal → provider)": summary_ms(hop("portal", "provider"))}
        to_provider = (max(arrived) - wall0) if arrived else None
        return {
            "backend": self.backend, "mode": "rate" if rate else "full", "offered_per_second": rate,
            "applications": n, "clients": self.clients, "accepted": len(latency),
            "reached_provider": len(arrived),
            "submit_seconds": round(submit_seconds, 2),
            "accepted_per_second": round(len(latency) / submit_seconds, 1),
            "seconds_to_last_case": round(to_provider, 2) if to_provider else None,
            "provider_per_second": round(len(arrived) / to_provider, 1) if to_provider else None,
            "client_retries": dict(self.report.retries),
            "latency_ms": hops,
            "cpu_seconds": {k: round(v, 2) for k, v in cpu.items()},
            "cpu_ms_per_application": {k: round(v * 1000 / n, 2) for k, v in cpu.items()},
            "cpu_window_seconds": round(cpu_window, 1),
            "idle_cpu_ms_per_second": {k: round(v * 1000, 1) for k, v in idle_rate.items()},
            "cpu_ms_per_application_net_of_idle": {k: round(v * 1000 / n, 2) for k, v in net.items()},
        }

    async def run_passes(self, rate: float | None, profile=None, profile_n: int = 0) -> tuple[list[dict], dict | None]:
        """Full speed, then ``rate`` offered (when given), then — with ``profile`` — a third full-speed
        pass of ``profile_n`` applications under py-spy (its figures are not reported: sampling slows
        the processes)."""
        total = self.n * (2 if rate else 1) + (profile_n if profile else 0)
        self.log(f"[{self.backend}] pre-signing {total} applications from {self.n_applicants} applicants "
                 "(outside the timing)…")
        t = time.perf_counter()
        apps = await self.presign_n(total)
        self.log(f"[{self.backend}] pre-signed in {time.perf_counter() - t:.0f} s")
        results = [await self.one_pass(apps[:self.n], None)]
        if rate:
            self.report.retries.clear()
            results.append(await self.one_pass(apps[self.n:2 * self.n], rate))
        profiled = None
        if profile:
            self.report.retries.clear()
            self.log(f"[{self.backend}] profiling a full-speed pass of {profile_n} with py-spy…")
            await self.one_pass(apps[len(apps) - profile_n:], None, profile)
            profiled = profile.summary()
        return results, profiled

    async def presign_n(self, n: int) -> list[dict]:
        saved, self.n = self.n, n
        try:
            return await self.presign()
        finally:
            self.n = saved
