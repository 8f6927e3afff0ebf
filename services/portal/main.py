"""ПЭП — the e-government portal: applicants register, sign requests, follow them, get results."""
from __future__ import annotations

from contextlib import asynccontextmanager

from shared.app import configure_logging, create_app
from shared.auth import TokenIssuer, load_secret
from shared.messaging.runtime import SystemRuntime
from shared.topics import SystemId

from . import attachments, auth, payments, requests
from .consumers import make_handler
from .models import InboxMessage, OutboxMessage
from .settings import PortalSettings


def build(settings: PortalSettings | None = None) -> SystemRuntime:
    settings = settings or PortalSettings()
    rt = SystemRuntime(SystemId.PORTAL, settings, outbox_model=OutboxMessage, inbox_model=InboxMessage, handler=None)
    rt.consumer.handler = make_handler(rt.trust)
    return rt


@asynccontextmanager
async def lifespan(app):
    rt = build()
    configure_logging(rt.settings.log_level)
    app.state.rt = rt
    app.state.tokens = TokenIssuer(load_secret(rt.settings.data_dir / "secrets" / "portal.key"), "portal",
                                   rt.settings.portal_token_ttl_seconds)
    app.state.health_checks = rt.health_checks()
    rt.start()
    try:
        yield
    finally:
        await rt.stop()


app = create_app(
    "portal",
    title="ПЭП — e-government portal (egov-sim)",
    description="Applicants register and log in by IIN/BIN, choose a service from the catalogue, pay through "
    "the ПШЭП imitation, attach documents and submit requests signed with their ЭЦП (CMS over JCS). "
    "Requests travel through the gateway to ИС ГБД «Е-лицензирование» and the provider; the signed "
    "result comes back to the personal cabinet.",
    lifespan=lifespan,
)
for module in (auth, requests, payments, attachments):
    app.include_router(module.router)
