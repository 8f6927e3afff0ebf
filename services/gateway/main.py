"""ШЭП — the e-government gateway: authenticates systems, checks access, logs, delivers over Kafka."""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram

from shared.app import configure_logging, create_app
from shared.auth import load_secret
from shared.db import Database
from shared.messaging.retry import Backoff
from shared.signing import Signer, TrustStore
from shared.throttle import LoginGuard, Throttle, limiter
from shared.topics import SystemId

from . import admin
from .delivery import DeliveryRelay
from .directory import Directory
from .message_log import LogSealer
from .router import router
from .settings import GatewaySettings


class Metrics:
    """Per sender and service: messages by outcome, acceptance latency, bytes."""

    def __init__(self, registry: CollectorRegistry):
        self.messages = Counter("shep_messages_total", "Messages offered to the gateway, by outcome",
                                ["sender", "service", "channel", "outcome"], registry=registry)
        self.accept_seconds = Histogram("shep_accept_seconds", "Time to check, sign and record a message",
                                        ["sender", "service"], registry=registry)
        self.bytes = Counter("shep_message_bytes_total", "Size of accepted envelopes", ["sender", "service"],
                             registry=registry)


@dataclass
class Gateway:
    settings: GatewaySettings
    db: Database
    trust: TrustStore
    signer: Signer
    relay: DeliveryRelay
    #: the registries (systems, services, routes, ACL) as calls read them
    directory: Directory
    metrics: Metrics
    admin_token: str
    #: failed authentications per sender id / address, and the per-sender message rate
    sender_guard: LoginGuard
    admin_guard: LoginGuard
    sender_rate: Throttle
    maintenance: bool = False
    #: sync calls waiting for their reply, by messageId
    sync_waiters: dict[str, asyncio.Future] = field(default_factory=dict)


def build(settings: GatewaySettings, registry: CollectorRegistry) -> Gateway:
    db = settings.database("gateway")
    limits = limiter(settings.rate_limit_storage)
    return Gateway(
        settings=settings,
        db=db,
        trust=TrustStore.from_pki_dir(settings.pki_dir, check_revocation=settings.check_revocation,
                                      freshness_seconds=settings.revocation_freshness_seconds),
        signer=Signer.from_dir(settings.pki_dir / "systems" / SystemId.GATEWAY),
        relay=DeliveryRelay(
            db,
            settings.broker,
            backoff=Backoff(settings.redelivery_seconds, max(settings.redelivery_seconds,
                                                             settings.gateway_redelivery_cap_seconds)),
            poll_seconds=settings.outbox_poll_seconds,
        ),
        directory=Directory(db, settings.gateway_registry_refresh_seconds),
        metrics=Metrics(registry),
        admin_token=settings.gateway_admin_token
        or load_secret(settings.data_dir / "secrets" / "gateway-admin.token").hex(),
        sender_guard=LoginGuard(limits, failures=settings.login_failures,
                                per_address=settings.login_failures_per_address),
        admin_guard=LoginGuard(limits, failures=settings.login_failures,
                               per_address=settings.login_failures_per_address),
        sender_rate=Throttle(settings.gateway_sender_rate, limits),
    )


@asynccontextmanager
async def lifespan(app):
    gw = build(GatewaySettings(), app.state.metrics)
    configure_logging(gw.settings.log_level)
    app.state.gw = gw
    app.state.health_checks = {"maintenance": _maintenance, "database": gw.db.ping, "broker": _broker,
                               "signing_key_and_ocsp": _key}
    task = asyncio.create_task(gw.relay.run())
    sealer = LogSealer(gw.db, gw.signer, gw.settings.nca_url, interval=gw.settings.gateway_log_seal_seconds)
    seal_task = asyncio.create_task(sealer.run())
    try:
        yield
    finally:
        task.cancel()
        seal_task.cancel()
        await asyncio.gather(task, seal_task, return_exceptions=True)
        await gw.relay.close()
        await gw.trust.aclose()
        await gw.db.dispose()


async def _maintenance() -> None:
    if app.state.gw.maintenance:
        raise RuntimeError("maintenance mode")


async def _broker() -> None:
    if not app.state.gw.relay.connected:
        raise RuntimeError("not connected to the broker")


async def _key() -> None:
    """The gateway's key signs, and its own certificate verifies — revocation status included
    (OCSP answers are cached; a stale or unreachable НУЦ fails this check)."""
    gw = app.state.gw
    await gw.trust.verify(gw.signer.sign(b"health"), b"health")


app = create_app(
    "gateway",
    title="ШЭП — e-government gateway (egov-sim)",
    description="The e-government gateway in JSON: async channel (sendMessage, getMessages, getMessageStatus, "
    "sendDeliveryNotification) and sync channel (request–reply with a time limit). Every envelope is signed "
    "by its sender's system certificate and countersigned by the gateway; delivery is over Kafka, one topic "
    "per recipient, with redelivery and a dead-letter topic; every message is kept in a hash-chained, sealed log.",
    lifespan=lifespan,
)
app.include_router(router)
app.include_router(admin.router)
