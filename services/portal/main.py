"""ПЭП — the e-government portal: applicants register, sign requests, follow them, get results."""
from __future__ import annotations

from contextlib import asynccontextmanager

from shared.app import configure_logging, create_app
from shared.auth import TokenIssuer, load_secret
from shared.messaging.runtime import SystemRuntime
from shared.throttle import LoginGuard, Throttle, limiter
from shared.topics import SystemId

from . import attachments, auth, cabinet, payments
from .consumers import handlers
from .deps import Quotas
from .models import InboxMessage, OutboxMessage
from .settings import PortalSettings


def build(settings: PortalSettings | None = None) -> SystemRuntime:
    settings = settings or PortalSettings()
    rt = SystemRuntime(SystemId.PORTAL, settings, outbox_model=OutboxMessage, inbox_model=InboxMessage)
    rt.consumer.handlers = handlers(rt.trust)
    return rt


@asynccontextmanager
async def lifespan(app):
    rt = build()
    configure_logging(rt.settings.log_level)
    app.state.rt = rt
    settings = rt.settings
    app.state.tokens = TokenIssuer(load_secret(settings.data_dir / "secrets" / "portal.key"), "portal",
                                   settings.portal_token_ttl_seconds)
    limits = limiter(settings.rate_limit_storage)
    app.state.login = LoginGuard(limits, failures=settings.login_failures,
                                 per_address=settings.login_failures_per_address)
    app.state.registrations = Throttle(settings.portal_registrations, limits)
    app.state.quotas = Quotas(
        requests=Throttle(f"{settings.portal_daily_requests}/day", limits, "QUOTA_EXCEEDED"),
        attachments=Throttle(f"{settings.portal_daily_attachments}/day", limits, "QUOTA_EXCEEDED"),
        attachment_bytes=Throttle(f"{settings.portal_daily_attachment_bytes}/day", limits, "QUOTA_EXCEEDED"),
    )
    app.state.health_checks = rt.health_checks()
    rt.start()
    try:
        yield
    finally:
        await rt.stop()


app = create_app(
    "portal",
    title="ПЭП — e-government portal (egov-sim)",
    description="Applicants register and log in by IIN/BIN, choose a service from the catalogue, pay at "
    "ПШЭП (over the gateway's sync channel), attach documents and submit requests signed with their ЭЦП (CMS over JCS). "
    "Requests travel through the gateway to ИС ГБД «Е-лицензирование» and the provider; the signed "
    "result comes back to the personal cabinet.",
    lifespan=lifespan,
)
for module in (auth, cabinet, payments, attachments):
    app.include_router(module.router)
