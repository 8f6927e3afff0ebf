"""ШЭП — the e-government gateway: authenticates systems, checks access, logs, delivers over Kafka."""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass

from shared.app import configure_logging, create_app
from shared.db import Database
from shared.signing import Signer, TrustStore
from shared.topics import SystemId

from .delivery import DeliveryRelay
from .router import router
from .settings import GatewaySettings


@dataclass
class Gateway:
    settings: GatewaySettings
    db: Database
    trust: TrustStore
    signer: Signer
    relay: DeliveryRelay


def build(settings: GatewaySettings | None = None) -> Gateway:
    settings = settings or GatewaySettings()
    db = Database(settings.database_url("gateway"))
    return Gateway(
        settings=settings,
        db=db,
        trust=TrustStore.from_pki_dir(settings.pki_dir, check_revocation=settings.check_revocation),
        signer=Signer.from_dir(settings.pki_dir / "systems" / SystemId.GATEWAY),
        relay=DeliveryRelay(
            db,
            settings.broker,
            redelivery_seconds=settings.redelivery_seconds,
            max_attempts=settings.gateway_max_attempts,
            poll_seconds=settings.outbox_poll_seconds,
        ),
    )


@asynccontextmanager
async def lifespan(app):
    gw = build()
    configure_logging(gw.settings.log_level)
    app.state.gw = gw
    app.state.health_checks = {"database": gw.db.ping, "broker": _broker, "signing_key": _key}
    task = asyncio.create_task(gw.relay.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await gw.relay.close()
        await gw.db.dispose()


async def _broker() -> None:
    if not app.state.gw.relay.connected:
        raise RuntimeError("not connected to the broker")


async def _key() -> None:
    app.state.gw.signer.sign(b"health")


app = create_app(
    "gateway",
    title="ШЭП — e-government gateway (egov-sim)",
    description="Async channel of the e-government gateway in JSON: sendMessage, getMessageStatus, "
    "sendDeliveryNotification. Every envelope is signed by its sender's system certificate and "
    "countersigned by the gateway; delivery is over Kafka, one topic per recipient.",
    lifespan=lifespan,
)
app.include_router(router)
