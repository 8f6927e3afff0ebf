"""ГБД ФЛ, ГБД ЮЛ, ЕНИС and ПШЭП — the state registries behind the gateway's sync channel.

Four information systems registered at the gateway (``gbd_fl``, ``gbd_ul``, ``enis``, ``pshep``), each
with its own НУЦ certificate, gateway password and topic; one process with one database answers the
sync calls delivered to each (docs/registries.md).
"""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from shared.app import configure_logging, create_app
from shared.auth import load_secret
from shared.messaging.sync import SyncResponder
from shared.signing import Signer, TrustStore

from .handlers import handlers
from .router import router
from .settings import RegistriesSettings


class RegistriesRuntime:
    def __init__(self, settings: RegistriesSettings):
        self.settings = settings
        self.db = settings.database("registries")
        self.trust = TrustStore.from_pki_dir(settings.pki_dir, check_revocation=settings.check_revocation,
                                             freshness_seconds=settings.revocation_freshness_seconds)
        self.responders: dict[str, SyncResponder] = {}
        for system_id, served in handlers(self.db).items():
            keys = settings.pki_dir / "systems" / system_id
            self.responders[system_id] = SyncResponder(
                system_id=system_id, bootstrap=settings.broker, gateway_url=settings.gateway_url,
                password=(keys / "password").read_text().strip(), signer=Signer.from_dir(keys), trust=self.trust,
                handlers=served, max_age_seconds=settings.registries_sync_max_age_seconds)
        self._tasks: list[asyncio.Task] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(r.run()) for r in self.responders.values()]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for r in self.responders.values():
            await r.aclose()
        await self.trust.aclose()
        await self.db.dispose()

    def health_checks(self) -> dict:
        async def database() -> None:
            await self.db.ping()

        async def broker() -> None:
            down = [system_id for system_id, r in self.responders.items() if not r.connected]
            if down:
                raise RuntimeError(f"not connected to the broker: {', '.join(down)}")

        async def signing_key() -> None:
            for r in self.responders.values():
                r.signer.sign(b"health")

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
    description="The state registries — four systems at the gateway: gbd_fl, gbd_ul, enis, pshep — that other "
    "systems ask through the gateway's sync channel (POST /shep/v1/sync): "
    "GBDFL_PERSON (an individual by IIN), GBDUL_ORGANISATION (an organisation by BIN), ENIS_POWER_OF_ATTORNEY "
    "(a notarised power of attorney by number, or by principal and representative), PSHEP_PAYMENT_STATUS (a payment "
    "fact by id, or by payer and service) and PSHEP_PAY (the portal records the applicant's payment). This HTTP API "
    "is only the admin's: records added for tests and demos (bearer token).",
    lifespan=lifespan,
)
app.include_router(router)
