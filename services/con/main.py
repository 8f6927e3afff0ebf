"""ИС ЦОН — the desk of the public service centre (ЦОН, diagram No 1 of seed 003): operators accept
paper packages, look applicants up in ГБД ФЛ / ГБД ЮЛ and ЕНИС, sign the form with their own ЭЦП and
submit it through the gateway to ИС ГБД ЕЛ; receipts, status enquiries, the result handed out
(docs/con.md)."""
from __future__ import annotations

from contextlib import asynccontextmanager

from shared.app import configure_logging, create_app
from shared.auth import TokenIssuer, load_secret
from shared.messaging.runtime import SystemRuntime
from shared.throttle import LoginGuard, limiter
from shared.topics import SystemId

from .consumers import handlers
from .models import InboxMessage, OutboxMessage
from .router import router
from .settings import ConSettings


def build(settings: ConSettings | None = None) -> SystemRuntime:
    settings = settings or ConSettings()
    rt = SystemRuntime(SystemId.CON, settings, outbox_model=OutboxMessage, inbox_model=InboxMessage)
    rt.consumer.handlers = handlers(rt.trust)
    return rt


@asynccontextmanager
async def lifespan(app):
    rt = build()
    configure_logging(rt.settings.log_level)
    app.state.rt = rt
    settings = rt.settings
    secret = load_secret(settings.data_dir / "secrets" / "con.key")
    app.state.tokens = TokenIssuer(secret, "con", settings.con_token_ttl_seconds)
    #: the electronic queue's tickets: the desk's own clock, not the client's (another issuer: never a login)
    app.state.queue = TokenIssuer(secret, "con-queue", settings.con_queue_ticket_ttl_seconds)
    app.state.login = LoginGuard(limiter(settings.rate_limit_storage), failures=settings.login_failures,
                                 per_address=settings.login_failures_per_address)
    app.state.health_checks = rt.health_checks()
    rt.start()
    try:
        yield
    finally:
        await rt.stop()


app = create_app(
    "con",
    title="ИС ЦОН — the public service centre's desk (egov-sim)",
    description="ЦОН operators log in, look the applicant (and a representative's power of attorney) up in ГБД ФЛ, "
    "ГБД ЮЛ and ЕНИС through the gateway's sync channel, take the payment at ПШЭП, attach the scanned documents, "
    "sign the form with their own ЭЦП and submit it through the gateway to ИС ГБД «Е-лицензирование»; the "
    "applicant gets a receipt (расписка) — or a receipt of refusal for an incomplete package — and, later, the "
    "result against it.",
    lifespan=lifespan,
)
app.include_router(router)
