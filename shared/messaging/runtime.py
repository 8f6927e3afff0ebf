"""Everything a system behind the gateway runs: its database, keys, outbox relay and consumer."""
from __future__ import annotations

import asyncio

from shared.messaging.consumer import GatewayClient, GatewayConsumer, Handler
from shared.messaging.outbox import Outbox, OutboxRelay
from shared.messaging.sync import SyncClient
from shared.settings import CommonSettings
from shared.signing import Signer, TrustStore


class SystemRuntime:
    def __init__(self, system_id: str, settings: CommonSettings, *, outbox_model, inbox_model,
                 handlers: dict[str, Handler] | None = None):
        self.system_id = system_id
        self.settings = settings
        self.db = settings.database(system_id)
        self.trust = TrustStore.from_pki_dir(settings.pki_dir, check_revocation=settings.check_revocation,
                                             freshness_seconds=settings.revocation_freshness_seconds)
        keys = settings.pki_dir / "systems" / system_id
        self.signer = Signer.from_dir(keys)
        password = (keys / "password").read_text().strip()
        self.outbox = Outbox(outbox_model, system_id, self.signer)
        self.relay = OutboxRelay(self.db, self.outbox, settings.gateway_url, password, settings.outbox_poll_seconds)
        self.gateway = GatewayClient(settings.gateway_url, system_id, password)
        #: calls over the gateway's sync channel (the state registries)
        self.sync = SyncClient(settings.gateway_url, system_id, password, self.signer, self.trust)
        self.consumer = GatewayConsumer(
            system_id=system_id,
            bootstrap=settings.broker,
            db=self.db,
            inbox_model=inbox_model,
            trust=self.trust,
            handlers=handlers or {},
            gateway=self.gateway,
        )
        self._tasks: list[asyncio.Task] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self.relay.run()), asyncio.create_task(self.consumer.run())]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.relay.close()
        await self.gateway.close()
        await self.sync.aclose()
        await self.trust.aclose()
        await self.db.dispose()

    def health_checks(self) -> dict:
        async def database() -> None:
            await self.db.ping()

        async def broker() -> None:
            if not self.consumer.connected:
                raise RuntimeError("not connected to the broker")

        async def signing_key() -> None:
            self.signer.sign(b"health")

        return {"database": database, "broker": broker, "signing_key": signing_key}
