"""Chaos under load: applications flow through the whole system while its parts are killed.

A run starts the whole system on a data dir of its own (SQLite, or PostgreSQL with
``--postgres URL``), registers applicants, pre-signs N S2 Almaty applications (attachments and
payment made before the clock starts), then, at once:

* **load** — C clients submit them; a client that gets no answer (the portal was killed) or a
  retryable refusal submits the same signed document again, as a real client would: a 409
  DUPLICATE_REQUEST then proves the first try was accepted;
* **operators** — the Almaty clerk, head and specialist work every task to the end (the head
  signs each result with his ЭЦП), retrying what fails while a part is down;
* **faults** — at random moments: ``kill -9`` of each service and restart, the broker killed and
  restarted (empty: Tansu keeps messages in memory only), the НУЦ unreachable for longer than the
  revocation cache, and on PostgreSQL the database server restarted.

Afterwards it waits until every accepted application is COMPLETED and its paper result is at the
ЦОН (ИС ГБД ЕЛ forwards every S2 result there, CON_NOTIFY), then counts, in each system's own
database: requests, registered applications, cases, permits, events, the ЦОН's paper results — lost
(accepted but not completed, or not at the ЦОН) and duplicated (anything applied twice) must both
be 0, nothing FAILED in any outbox, nothing at the gateway left unconfirmed (still ON_DELIVERY,
stopped or refused). ``make chaos`` runs it big; ``make test`` runs it small
(``tests/integration/test_chaos.py``).
"""
from __future__ import annotations

import asyncio
import json
import random
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import httpx
from sqlalchemy import func, select

from egov import demo
from egov.bootstrap import SERVICES as ALL_DATABASES
from egov.bootstrap import prepare
from egov.launcher import Stack, free_port
from shared.db import Database, is_outage
from shared.envelope import canonical
from shared.iin import make_iin
from shared.pki.ca import DevCA
from shared.settings import CommonSettings
from shared.signing import Signer

#: the services a run starts (the web pages have no part in the load: the two-instance run adds them)
SERVICES = ("portal", "gateway", "e_licensing", "provider_arm", "nca", "registries", "con")
FAULT_KINDS = tuple(f"kill:{s}" for s in SERVICES) + ("broker", "nca_outage", "database")
#: revocation answers go stale this fast in the run, so an НУЦ outage outlasts the cache
FRESHNESS_SECONDS = 3
OPERATORS = {"ala-clerk": {"register": ("registered", {}), "handover": ("handed_over", {})},
             "ala-head": {"assign": ("assigned", {"assignee": "ala-specialist"}), "sign": ("signed", None)},
             "ala-specialist": {"check": ("documents_ok", {}), "prepare": ("prepared", {})}}



@dataclass
class Report:
    backend: str
    offered: int
    accepted: int = 0
    completed: int = 0
    #: paper results waiting at the ЦОН (one per completed S2 application, CON_NOTIFY)
    collectable: int = 0
    submit_seconds: float = 0.0
    drain_seconds: float = 0.0
    faults: Counter = field(default_factory=Counter)
    duplicated: dict = field(default_factory=dict)
    failed_outbox: dict = field(default_factory=dict)
    #: messages at the gateway no recipient confirmed (ON_DELIVERY, DELIVERY_STOPPED, NOT_DELIVERED)
    dead_letters: int = 0
    retries: Counter = field(default_factory=Counter)

    @property
    def lost(self) -> int:
        """Accepted and not completed, or completed and its paper result not at the ЦОН."""
        return self.accepted - self.completed + max(0, self.completed - self.collectable)

    @property
    def duplicates(self) -> int:
        return sum(self.duplicated.values())

    @property
    def ok(self) -> bool:
        return (self.lost == 0 and self.duplicates == 0 and self.dead_letters == 0
                and not any(self.failed_outbox.values()) and self.accepted > 0)

    def table(self) -> str:
        rate = self.accepted / self.submit_seconds if self.submit_seconds else 0
        rows = [
            ("backend", self.backend),
            ("applications offered / accepted", f"{self.offered} / {self.accepted}"),
            ("load held (accepted per second)", f"{rate:.1f}/s over {self.submit_seconds:.0f} s"),
            ("completed (signed result in the cabinet)", str(self.completed)),
            ("paper results at the ЦОН", str(self.collectable)),
            ("time to drain after the load", f"{self.drain_seconds:.0f} s"),
            ("faults injected", ", ".join(f"{k} ×{v}" for k, v in sorted(self.faults.items())) or "none"),
            ("client retries during faults", ", ".join(f"{k} ×{v}" for k, v in sorted(self.retries.items())) or "none"),
            ("LOST (accepted, not completed or not at the ЦОН)", str(self.lost)),
            ("DUPLICATED (applied twice)", f"{self.duplicates}  {self.duplicated}"),
            ("outbox FAILED / gateway undelivered", f"{sum(self.failed_outbox.values())} / {self.dead_letters}"),
            ("verdict", "OK" if self.ok else "FAILED"),
        ]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)

    def to_dict(self) -> dict:
        return {"backend": self.backend, "offered": self.offered, "accepted": self.accepted,
                "completed": self.completed, "collectable": self.collectable, "lost": self.lost, "duplicated": self.duplicated,
                "faults": dict(self.faults), "submit_seconds": self.submit_seconds,
                "drain_seconds": self.drain_seconds, "failed_outbox": self.failed_outbox,
                "dead_letters": self.dead_letters, "ok": self.ok}


class Chaos:
    #: the processes each stack of the run starts
    services: tuple[str, ...] = SERVICES

    def __init__(self, *, applications: int, clients: int = 16, applicants: int = 20, rate: float | None = None,
                 postgres: str | None = None,
                 faults: tuple[str, ...] = FAULT_KINDS, seed: int | None = None, data_dir: Path | None = None,
                 drain_timeout: float = 600, log=print):
        self.n = applications
        self.clients = clients
        #: applications offered per second (None: as fast as the clients go)
        self.rate = rate
        self.n_applicants = applicants
        self.postgres = postgres
        self.fault_kinds = [f for f in faults if f != "database" or postgres]
        self.random = random.Random(seed)
        self.drain_timeout = drain_timeout
        self.log = log
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="egov-chaos-"))
        ports = {name: free_port() for name in self.services}
        self.settings = CommonSettings(
            data_dir=self.data_dir, broker=f"127.0.0.1:{free_port()}",
            db_server=postgres or "sqlite", db_prefix=f"egov_chaos{uuid.uuid4().hex[:6]}_",
            nca_url=f"http://127.0.0.1:{ports['nca']}", redelivery_seconds=2.0, outbox_poll_seconds=0.3,
        )
        self.stack = Stack(self.settings, ports=ports, env={
            "EGOV_REVOCATION_FRESHNESS_SECONDS": str(FRESHNESS_SECONDS),
            "EGOV_GATEWAY_REDELIVERY_CAP_SECONDS": "10",
            # the load comes from a handful of applicants: lift their daily quotas
            "EGOV_PORTAL_DAILY_REQUESTS": "1000000", "EGOV_PORTAL_DAILY_ATTACHMENTS": "1000000",
            "EGOV_PORTAL_REGISTRATIONS": "1000000/hour",  # every applicant registers from this one address
            "EGOV_PORTAL_DAILY_ATTACHMENT_BYTES": str(10**12),
        })
        self.report = Report("postgresql" if postgres else "sqlite", applications)
        self.accepted: set[str] = set()  # nonces

    # --- set-up ---------------------------------------------------------------------------
    def start(self) -> None:
        prepare(self.settings)
        self.ca = DevCA.load_or_create(self.settings.pki_dir / "ca", base_url=self.settings.nca_url)
        self.stack.start_all()
        self.stack.wait_healthy(120)

    def stop(self) -> None:
        self.stack.stop_all()
        if self.postgres:
            from shared.db.migrate import drop_database

            async def drop():
                for service in ALL_DATABASES:  # every database prepare() made, started here or not
                    await drop_database(self.settings.database_url(service))
            asyncio.run(drop())

    def url(self, service: str, path: str) -> str:
        prefix = "/api/v1" if service in ("portal", "provider_arm") else ""
        return self.stack.url(service) + prefix + path

    async def _applicant(self, http: httpx.AsyncClient, i: int) -> dict:
        iin = make_iin(date(1980 + i % 20, 1 + i % 12, 1 + i % 28), "F" if i % 2 else "M", 1000 + i)
        password = "Chaos-" + uuid.uuid4().hex[:10]
        issued = self.ca.issue_individual(iin, f"ХАОС ЗАЯВИТЕЛЬ {i}", usage="sign")
        r = await http.post(self.url("portal", "/auth/register"),
                            json={"iin_bin": iin, "password": password, "full_name": f"ХАОС ЗАЯВИТЕЛЬ {i}"})
        assert r.status_code in (201, 409), r.text
        r = await http.post(self.url("portal", "/auth/token"), data={"username": iin, "password": password})
        assert r.status_code == 200, r.text
        return {"iin": iin, "token": r.json()["access_token"],
                "signer": Signer(issued.key_pem, issued.cert_pem, issued.chain_pem)}

    async def _application(self, http: httpx.AsyncClient, who: dict, s2: dict) -> dict:
        headers = {"Authorization": f"Bearer {who['token']}"}
        attachments = []
        for d in s2["required_documents"]:
            r = await http.post(self.url("portal", "/attachments"), headers=headers,
                                files={"file": (f"{d['code']}.pdf", b"%PDF-1.4\n% " + uuid.uuid4().bytes.hex().encode(),
                                                "application/pdf")})
            assert r.status_code == 201, r.text
            attachments.append({"attachment_id": r.json()["attachment_id"], "sha256": r.json()["sha256"],
                                "code": d["code"]})
        r = await http.post(self.url("portal", "/payments"), headers=headers,
                            json={"service_code": "S2", "region": "almaty"})
        assert r.status_code == 201, r.text
        doc = {"service_code": "S2", "region": "almaty", "subtype": "issue", "iin_bin": who["iin"], "language": "ru",
               "form": s2["example"], "attachments": attachments, "payment_id": r.json()["payment_id"],
               "created_at": datetime.now(timezone.utc).isoformat(), "nonce": str(uuid.uuid4())}
        return {"document": doc, "signature": who["signer"].sign(canonical(doc)), "token": who["token"]}

    async def presign(self) -> list[dict]:
        async with httpx.AsyncClient(timeout=60) as http:
            applicants = await asyncio.gather(*(self._applicant(http, i) for i in range(self.n_applicants)))
            s2 = next(s for s in (await http.get(self.url("portal", "/services"))).json() if s["code"] == "S2")
            sem = asyncio.Semaphore(16)

            async def one(i):
                async with sem:
                    return await self._application(http, applicants[i % len(applicants)], s2)

            return await asyncio.gather(*(one(i) for i in range(self.n)))

    # --- load -----------------------------------------------------------------------------
    async def _submit(self, http: httpx.AsyncClient, app: dict) -> None:
        """Submit until the system has it: 202, or 409 proving an earlier try got in."""
        body = {"document": app["document"], "signature": app["signature"]}
        headers = {"Authorization": f"Bearer {app['token']}"}
        while True:
            try:
                r = await http.post(self.url("portal", "/requests"), json=body, headers=headers)
            except httpx.HTTPError as exc:
                self.report.retries[f"submit {exc.__class__.__name__}"] += 1
                await asyncio.sleep(0.5)
                continue
            code = r.json().get("error", {}).get("code") if r.status_code >= 400 else None
            if r.status_code == 202 or code == "DUPLICATE_REQUEST":
                self.accepted.add(app["document"]["nonce"])
                return
            if r.status_code >= 500 or r.status_code == 429:
                self.report.retries[f"submit {r.status_code} {code}"] += 1
                await asyncio.sleep(float(r.headers.get("retry-after", 0.5)) if r.status_code != 503 else 0.5)
                continue
            raise AssertionError(f"submission refused for good: {r.status_code} {r.text}")

    async def load(self, apps: list[dict]) -> None:
        queue: asyncio.Queue = asyncio.Queue()
        for i, app in enumerate(apps):
            queue.put_nowait((i, app))
        start = time.monotonic()

        async def client(http):
            while not queue.empty():
                i, app = queue.get_nowait()
                if self.rate:  # the offered rate: application i not before i / rate
                    await asyncio.sleep(max(0.0, start + i / self.rate - time.monotonic()))
                await self._submit(http, app)

        async with httpx.AsyncClient(timeout=30) as http:
            await asyncio.gather(*(client(http) for _ in range(self.clients)))
        self.report.submit_seconds = time.monotonic() - start
        self.report.accepted = len(self.accepted)

    # --- operators ------------------------------------------------------------------------
    async def operators(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            await asyncio.gather(*(self._operator(http, name, stop) for name in OPERATORS))

    async def _operator(self, http: httpx.AsyncClient, username: str, stop: asyncio.Event) -> None:
        password = next(o["password"] for o in demo.operators() if o["username"] == username)
        signer = Signer.from_dir(demo.key_dir(self.data_dir, username, "sign"))
        token, sem = None, asyncio.Semaphore(4)

        async def act(task):
            async with sem:
                decision, data = OPERATORS[username][task["step"]["key"]]
                body = {"decision": decision, "data": data}
                try:
                    if data is None:  # the head signs the draft
                        full = (await http.get(self.url("provider_arm", f"/tasks/{task['task_id']}"),
                                               headers=auth)).json()
                        body = {"decision": decision, "signature": signer.sign(canonical(full["draft_result"]))}
                    r = await http.post(self.url("provider_arm", f"/tasks/{task['task_id']}/complete"),
                                        json=body, headers=auth)
                    if r.status_code >= 400 and r.json().get("error", {}).get("code") != "TASK_NOT_OPEN":
                        self.report.retries[f"{username} {r.status_code}"] += 1
                except (httpx.HTTPError, ValueError, KeyError) as exc:
                    self.report.retries[f"{username} {exc.__class__.__name__}"] += 1

        while not stop.is_set():
            try:
                if token is None:
                    r = await http.post(self.url("provider_arm", "/auth/token"),
                                        data={"username": username, "password": password})
                    r.raise_for_status()
                    token = r.json()["access_token"]
                auth = {"Authorization": f"Bearer {token}"}
                r = await http.get(self.url("provider_arm", "/tasks"), headers=auth)
                if r.status_code == 401:
                    token = None
                    continue
                r.raise_for_status()
                tasks = [t for t in r.json() if t["step"]["key"] in OPERATORS[username]][:200]
            except (httpx.HTTPError, ValueError):
                await asyncio.sleep(0.5)
                continue
            if tasks:
                await asyncio.gather(*(act(t) for t in tasks))
            else:
                await asyncio.sleep(0.3)

    # --- faults ---------------------------------------------------------------------------
    async def faults(self, stop: asyncio.Event, period: float) -> None:
        """Every fault kind once, in a random order, spread over ``period`` seconds, then again
        until the load is over. A fault (a part down, then back) that outlasts its share of the
        period is followed by the next one at once."""
        at = time.monotonic()
        while not stop.is_set():
            kinds = list(self.fault_kinds)
            self.random.shuffle(kinds)
            share = period / len(kinds)
            for kind in kinds:
                # its share of the period after the last fault began — or at once when that one ran long
                at = max(at, time.monotonic() - share) + self.random.uniform(0.3, 1.0) * share
                await asyncio.sleep(max(0.0, at - time.monotonic()))
                if stop.is_set():
                    return
                await asyncio.to_thread(self.inject, kind)

    def inject(self, kind: str) -> None:
        """The fault ``kind``: the part down, and back."""
        self.report.faults[kind] += 1
        self.fault(kind)

    def fault(self, kind: str) -> None:
        self.log(f"  fault: {kind}")
        if kind.startswith("kill:"):
            service = kind.split(":")[1]
            self.stack.stop(service, kill=True)
            time.sleep(self.random.uniform(0.5, 2.0))
            self.stack.start_service(service)
            self._wait_healthy(service)
        elif kind == "broker":
            self.stack.stop("broker", kill=True)
            time.sleep(self.random.uniform(0.5, 2.0))
            self.stack.start_broker()
        elif kind == "nca_outage":
            self.stack.stop("nca", kill=True)
            time.sleep(FRESHNESS_SECONDS * 2 + 1)  # longer than the revocation cache
            self.stack.start_service("nca")
            self._wait_healthy("nca")
        elif kind == "database":
            cluster = subprocess.run(["ls", "/etc/postgresql"], capture_output=True, text=True).stdout.split()[0]
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "restart"], check=True,
                           capture_output=True)

    def _wait_healthy(self, service: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.stack.url(service) + "/health", timeout=2).status_code in (200, 503):
                    return  # answering (503 = a dependency still coming back, which it waits out)
            except httpx.HTTPError:
                pass
            time.sleep(0.3)

    # --- the verdict ----------------------------------------------------------------------
    async def _db(self, service: str, work):
        """``work`` on the service's database; an outage (PostgreSQL restarting or full) is waited out."""
        db = Database(self.settings.database_url(service), pool_size=1, max_overflow=0)
        try:
            for attempt in range(1, 31):
                try:
                    async with db.read() as s:
                        return await work(s)
                except Exception as exc:
                    if not is_outage(exc) or attempt == 30:
                        raise
                    await asyncio.sleep(1)
        finally:
            await db.dispose()

    async def completed(self) -> int:
        from services.portal.models import Request

        nonces = list(self.accepted)

        async def count(s):
            total = 0
            for i in range(0, len(nonces), 500):
                total += await s.scalar(select(func.count()).select_from(Request).where(
                    Request.nonce.in_(nonces[i:i + 500]), Request.status == "COMPLETED",
                    Request.result.is_not(None)))
            return total

        return await self._db("portal", count)

    async def pickups(self) -> int:
        """Results the ЦОН keeps for collection: every S2 result is issued on paper there too (CON_NOTIFY)."""
        from services.con.models import Receipt

        return await self._db("con", lambda s: s.scalar(select(func.count()).select_from(Receipt).where(
            Receipt.kind == "pickup", Receipt.status == "COMPLETED", Receipt.result.is_not(None))))

    async def undelivered(self) -> int:
        """Messages at the gateway that no recipient confirmed: still ON_DELIVERY, stopped or refused.
        A sync call with no reply in time (ПШЭП killed) is DELIVERY_STOPPED too, but it is no dead letter:
        its caller got the retryable 504 SYNC_TIMEOUT and asks again."""
        from services.gateway.models import Message
        from shared.topics import MessageState, ServiceId

        return await self._db("gateway", lambda s: s.scalar(select(func.count()).select_from(Message).where(
            Message.state.in_((MessageState.ON_DELIVERY, MessageState.DELIVERY_STOPPED,
                               MessageState.NOT_DELIVERED)),
            Message.service_id.not_in(ServiceId.SYNC))))

    async def drain(self) -> None:
        """Until every accepted application is COMPLETED in the cabinet, its paper result is at the ЦОН,
        and the gateway has every message confirmed (or the time is up)."""
        start = time.monotonic()
        while time.monotonic() - start < self.drain_timeout:
            self.report.completed = await self.completed()
            if (self.report.completed >= self.report.accepted and await self.pickups() >= self.report.completed
                    and await self.undelivered() == 0):
                break
            await asyncio.sleep(1)
        self.report.drain_seconds = time.monotonic() - start

    async def verify(self) -> None:
        from services.con.models import Receipt, ReceiptEvent
        from services.e_licensing.models import Application, Permit
        from services.portal.models import Request, RequestEvent
        from services.provider_arm.models import Case, Task
        from shared.messaging.outbox import summary

        dup = {}

        async def portal(s):
            requests = await s.scalar(select(func.count()).select_from(Request))
            events = await s.scalar(select(func.count()).select_from(
                select(RequestEvent.request_id, RequestEvent.status, RequestEvent.step, RequestEvent.at)
                .group_by(RequestEvent.request_id, RequestEvent.status, RequestEvent.step, RequestEvent.at)
                .having(func.count() > 1).subquery()))
            return requests, events

        requests, dup["portal timeline entries"] = await self._db("portal", portal)
        dup["portal requests beyond the accepted"] = max(0, requests - self.report.accepted)

        async def e_licensing(s):
            apps = await s.scalar(select(func.count()).select_from(Application))
            permits = await s.scalar(select(func.count()).select_from(Permit))
            return apps, permits

        apps, permits = await self._db("e_licensing", e_licensing)
        dup["registered applications"] = max(0, apps - self.report.accepted)
        dup["permits"] = max(0, permits - self.report.completed)

        async def provider(s):
            cases = await s.scalar(select(func.count()).select_from(Case))
            twice = await s.scalar(select(func.count()).select_from(
                select(Task.case_id, Task.step_key).group_by(Task.case_id, Task.step_key)
                .having(func.count() > 1).subquery()))
            return cases, twice

        cases, dup["tasks done twice"] = await self._db("provider_arm", provider)
        dup["cases"] = max(0, cases - self.report.accepted)

        async def con(s):
            pickups = await s.scalar(select(func.count()).select_from(Receipt).where(Receipt.kind == "pickup"))
            events = await s.scalar(select(func.count()).select_from(
                select(ReceiptEvent.receipt_id, ReceiptEvent.status, ReceiptEvent.step, ReceiptEvent.at)
                .group_by(ReceiptEvent.receipt_id, ReceiptEvent.status, ReceiptEvent.step, ReceiptEvent.at)
                .having(func.count() > 1).subquery()))
            return pickups, events

        pickups, dup["ЦОН receipt events"] = await self._db("con", con)
        dup["ЦОН paper results beyond the completed"] = max(0, pickups - self.report.completed)
        self.report.duplicated = dup
        self.report.collectable = await self.pickups()

        for service in ("portal", "e_licensing", "provider_arm", "con"):
            model = __import__(f"services.{service}.models", fromlist=["OutboxMessage"]).OutboxMessage
            db = Database(self.settings.database_url(service))
            try:
                self.report.failed_outbox[service] = (await summary(db, model)).get("FAILED", 0)
            finally:
                await db.dispose()
        self.report.dead_letters = await self.undelivered()

    # --- the whole run --------------------------------------------------------------------
    async def _run(self) -> Report:
        self.log(f"pre-signing {self.n} applications from {self.n_applicants} applicants…")
        apps = await self.presign()
        self.log(f"load: {self.clients} clients; faults: {', '.join(self.fault_kinds)}")
        load_done, all_done = asyncio.Event(), asyncio.Event()
        ops = asyncio.create_task(self.operators(all_done))
        period = max(20.0, self.n / self.rate if self.rate else self.n / 20)
        faults = asyncio.create_task(self.faults(load_done, period))
        await self.load(apps)
        self.log(f"accepted {self.report.accepted} in {self.report.submit_seconds:.0f} s; "
                 "faults continue until every fault kind was injected")
        while any(self.report.faults[k] == 0 for k in self.fault_kinds) and not faults.done():
            await asyncio.sleep(0.5)
        load_done.set()
        await faults
        self.log("draining…")
        await self.drain()
        all_done.set()
        await ops
        await self.verify()
        return self.report

    def run(self) -> Report:
        self.start()
        try:
            return asyncio.run(self._run())
        finally:
            self.stop()


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__.split("\n\n")[0])
    p.add_argument("--applications", type=int, default=2000)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--applicants", type=int, default=40)
    p.add_argument("--rate", type=float, default=20.0, help="applications offered per second")
    p.add_argument("--postgres", help="also run on this PostgreSQL server, e.g. postgresql+asyncpg://postgres@127.0.0.1:5432")
    p.add_argument("--seed", type=int)
    p.add_argument("--json", type=Path, help="write the reports here")
    p.add_argument("--replicas", action="store_true",
                   help="after the runs, two instances of every service on PostgreSQL, one of each killed in turn")
    args = p.parse_args(argv)
    reports = []
    for backend in ["sqlite"] + (["postgresql"] if args.postgres else []):
        print(f"== chaos on {backend}")
        chaos = Chaos(applications=args.applications, clients=args.clients, applicants=args.applicants, rate=args.rate,
                      postgres=args.postgres if backend == "postgresql" else None, seed=args.seed)
        report = chaos.run()
        print(report.table())
        reports.append(report)
    if args.replicas and args.postgres:
        from .replicas import Replicas

        print("== two instances of every service, on postgresql")
        report = Replicas(applications=args.applications, clients=args.clients, applicants=args.applicants,
                          rate=args.rate, postgres=args.postgres, seed=args.seed).run()
        print(report.table())
        reports.append(report)
    if args.json:
        args.json.write_text(json.dumps([r.to_dict() for r in reports], indent=2))
    return 0 if all(r.ok for r in reports) else 1
