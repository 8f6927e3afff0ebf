"""Two instances of every service against one broker and one PostgreSQL — the shape of a deployment
(``deploy/compose.yaml``) on this machine, without containers. The clients and operators spread over
both instances (a balancer's round robin); mid-load one instance of each service in turn is killed
with SIGKILL — taken out of the balancer first, as a health check would — and started again (while
the next service's instance is killed: each service keeps one instance all along). Both
instances of a service share its database and consumer group, so the survivor carries on: its outbox
relay sends what the dead one wrote, its consumer takes over the partitions, the gateway's sync replies
reach a caller waiting on the other gateway. Nothing accepted is lost, nothing is applied twice."""
from __future__ import annotations

import asyncio
import threading
import time

import httpx

from egov.launcher import Stack

from .run import SERVICES, Chaos, free_port


class Replicas(Chaos):
    #: every process, the web pages too
    services = SERVICES + ("web",)

    def __init__(self, **kw):
        kw.setdefault("faults", tuple(f"kill:{s}" for s in self.services))
        super().__init__(**kw)
        # sixteen processes on one PostgreSQL (max_connections 100 by default): 5 connections each at most
        self.stack.env.update(EGOV_DB_POOL_SIZE="3", EGOV_DB_MAX_OVERFLOW="2")
        self.second = Stack(self.settings, ports={name: free_port() for name in self.services},
                            env=dict(self.stack.env))
        self.stacks = [self.stack, self.second]
        #: instances the balancer does not send to: (index of the stack, service)
        self.out: set[tuple[int, str]] = set()
        #: the killed instances coming back, by fault
        self.back: dict[str, threading.Thread] = {}
        self.report.backend += ", two instances of every service"

    def start(self) -> None:
        super().start()
        for service in self.second.services:
            self.second.start_service(service)
        self.second.wait_healthy(120)

    def stop(self) -> None:
        self.recovered()
        self.second.stop_all()
        super().stop()

    def inject(self, kind: str) -> None:
        """Kill the instance and go on: it comes back while the next service's instance is killed (a
        service still coming back is not hit again)."""
        if kind in self.back and self.back[kind].is_alive():
            return
        self.report.faults[kind] += 1
        self.back[kind] = threading.Thread(target=self.fault, args=(kind,), name=kind)
        self.back[kind].start()

    def recovered(self) -> None:
        for t in list(self.back.values()):
            t.join()

    async def drain(self) -> None:
        await asyncio.to_thread(self.recovered)  # every instance back before the count
        await super().drain()

    def url(self, service: str, path: str) -> str:
        live = [st for i, st in enumerate(self.stacks) if (i, service) not in self.out]
        prefix = "/api/v1" if service in ("portal", "provider_arm") else ""
        return self.random.choice(live).url(service) + prefix + path

    def fault(self, kind: str) -> None:
        service = kind.split(":")[1]
        self.log(f"  fault: the second instance of {service} killed")
        self.out.add((1, service))
        time.sleep(0.5)  # requests already sent there finish or fail; new ones go to the first instance
        self.second.stop(service, kill=True)
        time.sleep(self.random.uniform(1.0, 3.0))
        self.second.start_service(service)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.second.url(service) + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.out.discard((1, service))
