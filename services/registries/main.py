"""ГБД ФЛ, ГБД ЮЛ, ЕНИС and ПШЭП — the state registries behind the gateway's sync channel.

One information system (``registries``) registered at the gateway with its НУЦ certificate; it
consumes ``shep.deliver.registries`` and replies to each sync call (docs/registries.md).
"""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from shared.app import configure_logging, create_app
from shared.auth import load_secret
from shared.db import Database
from shared.messaging.sync import SyncResponder
from shared.signing import Signer, TrustStore
from shared.topics import SystemId

from .handlers import handlers
from .router import router
from .settings import RegistriesSettings


class RegistriesRuntime:
    def __init__(self, settings: RegistriesSettings):
        self.settings = settings
        self.system_id = SystemId.REGISTRIES
        self.db = Database(settings.database_url("registries"))
        self.trust = TrustStore.from_pki_dir(settings.pki_dir, check_revocation=settings.check_revocation,
                                             freshness_seconds=settings.revocation_freshness_seconds)
        keys = settings.pki_dir / "systems" / self.system_id
        self.signer = Signer.from_dir(keys)
        self.responder = SyncResponder(
            system_id=self.system_id, bootstrap=settings.broker, gateway_url=settings.gateway_url,
            password=(keys / "password").read_text().strip(), signer=self.signer, trust=self.trust,
            handlers=handlers(self.db), max_age_seconds=settings.registries_sync_max_age_seconds)
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.responder.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.responder.aclose()
        await self.trust.aclose()
        await self.db.dispose()

    def health_checks(self) -> dict:
        async def database() -> None:
            await self.db.ping()

        async def broker() -> None:
            if not self.responder.connected:
                raise RuntimeError("not connected to the broker")

        async def signing_key() -> None:
            self.signer.sign(b"health")

        return {"database": database, "broker": broker, "signing_key": signing_key}


@asynccontextmanager
async def lifespan(app):
    settings = RegistriesSettings()
    configure_logging(settings.log_level)
    rt = RegistriesRuntime(settings)
    app.state.rt = rt
    app.state.admin_token = settings.registries_admin_token or \
        load_secret(settings.data_dir / "secrets" / "registries-admin.token").hex()
    app.state.health_checks = rt.health_checks()
    rt.start()
    try:
        yield
    finally:
        await rt.stop()


app = create_app(
    "registries",
    title="ГБД ФЛ, ГБД ЮЛ, ЕНИС, ПШЭП (egov-sim)",
    description="The state registries other systems ask through the gateway's sync channel (POST /shep/v1/sync): "
    "GBDFL_PERSON (an individual by IIN), GBDUL_ORGANISATION (an organisation by BIN), ENIS_POWER_OF_ATTORNEY "
    "(a notarised power of attorney by number, or by principal and representative), PSHEP_PAYMENT_STATUS (a payment "
    "fact by id, or by payer and service) and PSHEP_PAY (the portal records the applicant's payment). This HTTP API "
    "is only the admin's: records added for tests and demos (bearer token).",
    lifespan=lifespan,
)
app.include_router(router)
