"""ИС ГБД «Е-лицензирование» — registers applications, keeps the registry of permits."""
from __future__ import annotations

from contextlib import asynccontextmanager

from shared.app import configure_logging, create_app
from shared.messaging.runtime import SystemRuntime
from shared.topics import SystemId

from .consumers import handlers
from .models import InboxMessage, OutboxMessage
from .router import router
from .settings import ELicensingSettings


def build(settings: ELicensingSettings | None = None) -> SystemRuntime:
    settings = settings or ELicensingSettings()
    rt = SystemRuntime(SystemId.E_LICENSING, settings, outbox_model=OutboxMessage, inbox_model=InboxMessage)
    rt.consumer.handlers = handlers(rt)
    return rt


@asynccontextmanager
async def lifespan(app):
    rt = build()
    configure_logging(rt.settings.log_level)
    app.state.rt = rt
    app.state.health_checks = rt.health_checks()
    rt.start()
    try:
        yield
    finally:
        await rt.stop()


app = create_app(
    "e_licensing",
    title="ИС ГБД «Е-лицензирование» (egov-sim)",
    description="Registers signed applications from the portal, forwards them to the provider's workstation "
    "of their region, records the licences and certificates issued and passes results to the portal.",
    lifespan=lifespan,
)
app.include_router(router)
