"""``egov outbox`` and ``egov dead-letters``: what failed for good, and sending it again.

Both work on the services' databases directly (through the services' own models), so they
work whether the services run or not; a running relay picks the resent messages up at its
next pass.
"""
from __future__ import annotations

import asyncio
import json
import sys
from datetime import timedelta
from typing import Optional

import typer

from shared.settings import CommonSettings

outbox_app = typer.Typer(help="Each service's outbox: messages the gateway refused for good.", no_args_is_help=True)
dead_app = typer.Typer(help="The gateway's dead letters: stopped or refused messages.", no_args_is_help=True)

#: the services that send through the gateway, and their outbox models
SENDERS = ("portal", "e_licensing", "provider_arm", "con")


def _outbox_model(service: str):
    if service not in SENDERS:
        raise typer.BadParameter(f"{service!r} has no outbox; one of: {', '.join(SENDERS)}")
    module = __import__(f"services.{service}.models", fromlist=["OutboxMessage"])
    return module.OutboxMessage


def _run(service: str, work):
    async def main():
        db = CommonSettings().database(service)
        try:
            return await work(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except Exception as exc:  # no database yet, or the server down: one line, not a traceback
        typer.echo(f"error: cannot read the {service} database: {exc.__class__.__name__}: {str(exc)[:200]}", err=True)
        raise typer.Exit(2)


def _print(obj) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


@outbox_app.command("list")
def outbox_list(service: Optional[str] = typer.Option(None, help="portal | e_licensing | provider_arm | con (all when left out)"),
                limit: int = typer.Option(100)) -> None:
    """Counts per state and the FAILED messages, with the gateway's answer."""
    from shared.messaging import outbox

    out = {}
    for name in [service] if service else SENDERS:
        model = _outbox_model(name)
        out[name] = {"states": _run(name, lambda db: outbox.summary(db, model)),
                     "failed": _run(name, lambda db: outbox.failed(db, model, limit))}
    _print(out)


@outbox_app.command("resend")
def outbox_resend(service: str = typer.Option(..., help="portal | e_licensing | provider_arm | con"),
                  message_id: list[str] = typer.Option([], "--message-id", help="repeatable; all FAILED when left out")) -> None:
    """Put FAILED messages back in line: the service's relay sends them again."""
    from shared.messaging import outbox

    model = _outbox_model(service)
    _print({"service": service, "resent": _run(service, lambda db: outbox.resend(db, model, message_id or None))})


@dead_app.command("list")
def dead_list(limit: int = typer.Option(100)) -> None:
    """Messages the gateway stopped (not confirmed in time) or their recipient refused for good."""
    from services.gateway import service

    async def work(db):
        async with db.read() as s:
            return await service.dead_letters(s, limit)

    _print(_run("gateway", work))


@dead_app.command("resend")
def dead_resend(message_id: list[str] = typer.Option([], "--message-id", help="repeatable; all when left out")) -> None:
    """Deliver dead letters again (the recipient's inbox makes one already applied a no-op)."""
    from services.gateway import service
    from services.gateway.settings import GatewaySettings

    ttl = timedelta(seconds=GatewaySettings().gateway_delivery_ttl_seconds)

    async def work(db):
        async with db.session() as s:
            return await service.resend(s, message_id or None, deliver_for=ttl)

    _print({"resent": _run("gateway", work)})
