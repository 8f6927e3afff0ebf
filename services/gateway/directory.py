"""The gateway's registries as every call reads them: systems, services, routes and the ACL, held in
memory and reloaded from the database every ``gateway_registry_refresh_seconds`` (and at once after
a change through this process's admin API). A change made through another gateway process is
seen within that interval."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


from shared.db import Database

from . import repository


@dataclass(frozen=True)
class SystemEntry:
    system_id: str
    password_hash: str
    cert_sha256: str


@dataclass(frozen=True)
class ServiceEntry:
    service_id: str
    recipient_id: str | None
    channel: str
    enabled: bool


@dataclass(frozen=True)
class Snapshot:
    systems: dict[str, SystemEntry] = field(default_factory=dict)
    services: dict[str, ServiceEntry] = field(default_factory=dict)
    #: (serviceId, routeId) → recipient
    routes: dict[tuple[str, str], str] = field(default_factory=dict)
    #: (senderId, serviceId) allowed
    acl: frozenset[tuple[str, str]] = frozenset()


class Directory:
    def __init__(self, db: Database, refresh_seconds: float = 2.0):
        self.db = db
        self.refresh_seconds = refresh_seconds
        self._snapshot: Snapshot | None = None
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    async def current(self) -> Snapshot:
        if self._snapshot is None or time.monotonic() - self._loaded_at > self.refresh_seconds:
            async with self._lock:
                if self._snapshot is None or time.monotonic() - self._loaded_at > self.refresh_seconds:
                    self._snapshot = await self._load()
                    self._loaded_at = time.monotonic()
        return self._snapshot

    def invalidate(self) -> None:
        """The admin API changed something: read it again on the next call."""
        self._loaded_at = 0.0

    async def _load(self) -> Snapshot:
        async with self.db.read() as s:
            systems = {x.system_id: SystemEntry(x.system_id, x.password_hash, x.cert_sha256)
                       for x in await repository.systems(s)}
            services = {x.service_id: ServiceEntry(x.service_id, x.recipient_id, x.channel, x.enabled)
                        for x in await repository.services(s)}
            routes = {(x.service_id, x.route_id): x.recipient_id for x in await repository.routes(s)}
            acl = frozenset((x.sender_id, x.service_id) for x in await repository.acl(s))
        return Snapshot(systems, services, routes, acl)
