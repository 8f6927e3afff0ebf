"""АРМ услугодателя — the provider's workstation that runs the regulated processes."""
from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager

from shared.app import configure_logging, create_app
from shared.auth import TokenIssuer, load_secret
from shared.db import utcnow
from shared.messaging.consumer import Delivered, Handler
from shared.messaging.runtime import SystemRuntime
from shared.payloads import RegisteredApplication
from shared.throttle import LoginGuard, limiter
from shared.topics import ServiceId, SystemId

from . import engine
from .models import InboxMessage, OutboxMessage
from .router import router
from .settings import ProviderArmSettings


def build(settings: ProviderArmSettings | None = None) -> SystemRuntime:
    settings = settings or ProviderArmSettings()
    rt = SystemRuntime(SystemId.PROVIDER_ARM, settings, outbox_model=OutboxMessage, inbox_model=InboxMessage)

    async def open_case(s, msg: Delivered) -> None:
        await engine.open_case(s, rt, msg.data.model_dump(), utcnow())

    rt.consumer.handlers = {ServiceId.ARM_PROCESS: Handler(open_case, schema=RegisteredApplication)}
    return rt


log = logging.getLogger(__name__)


async def overdue_loop(rt: SystemRuntime, interval: float, clock=utcnow) -> None:
    """Every ``interval`` seconds: mark overdue tasks, alert the head, tell the portal."""
    while True:
        try:
            async with rt.db.session() as s:
                await engine.check_overdue(s, rt, clock())
        except asyncio.CancelledError:
            raise
        except Exception:  # a failed run is retried at the next tick
            log.exception("overdue check failed")
        await asyncio.sleep(interval)


@asynccontextmanager
async def lifespan(app):
    rt = build()
    configure_logging(rt.settings.log_level)
    app.state.rt = rt
    app.state.tokens = TokenIssuer(load_secret(rt.settings.data_dir / "secrets" / "provider_arm.key"),
                                   "provider_arm", rt.settings.provider_arm_token_ttl_seconds)
    app.state.login = LoginGuard(limiter(rt.settings.rate_limit_storage), failures=rt.settings.login_failures,
                                 per_address=rt.settings.login_failures_per_address)
    app.state.health_checks = rt.health_checks()
    rt.start()
    checker = asyncio.create_task(overdue_loop(rt, rt.settings.provider_arm_overdue_check_seconds))
    try:
        yield
    finally:
        checker.cancel()
        await asyncio.gather(checker, return_exceptions=True)
        await rt.stop()


app = create_app(
    "provider_arm",
    title="АРМ услугодателя — provider workstation (egov-sim)",
    description="Clerks, heads and specialists of the provider work through the steps of the regulation: "
    "each step is a task for a role with its time limit; the head signs the result with the "
    "organisation's ЭЦП; the signed result goes back through the gateway.",
    lifespan=lifespan,
)
app.include_router(router)
