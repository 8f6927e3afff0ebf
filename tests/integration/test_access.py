"""Access without a running stack: whose address a limit counts (X-Forwarded-For believed from a
trusted proxy only), the login guard's lockout and its equal cost for an unknown account, and the
operator's commands for what failed for good (``egov outbox``, ``egov dead-letters``) on a data dir.

(The limits as the running services apply them — lockout per account and per browser, the
registration rate, the daily quota, files by their content — are in test_hostile_input.py, on the
stack with small limits.)"""
from __future__ import annotations

import asyncio
import importlib
import json
from datetime import timedelta

import httpx
import pytest
from fastapi import Request
from sqlalchemy import select
from typer.testing import CliRunner

from egov.bootstrap import SERVICES
from egov.cli import app as egov_cli
from egov.ops import SENDERS
from shared import throttle
from shared.app import client_address, create_app
from shared.db import Database, utcnow
from shared.db.migrate import upgrade
from shared.errors import CATALOGUE, ApiError
from shared.throttle import LoginGuard, limiter
from shared.topics import MessageState

# --- whose address ------------------------------------------------------------------------------


def _probe(monkeypatch, trusted: str | None):
    if trusted is None:
        monkeypatch.delenv("EGOV_TRUSTED_PROXIES", raising=False)
    else:
        monkeypatch.setenv("EGOV_TRUSTED_PROXIES", trusted)
    app = create_app("probe", title="probe", description="client_address, answered")

    @app.get("/whoami")
    async def whoami(request: Request) -> dict:
        return {"address": client_address(request)}

    return app


async def _address(app, peer: str, forwarded: str | None = None) -> str:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://probe") as c:
        r = await c.get("/whoami", headers={"X-Forwarded-For": forwarded} if forwarded else {})
    return r.json()["address"]


async def test_forwarded_for_is_believed_from_a_trusted_proxy_only(monkeypatch):
    app = _probe(monkeypatch, None)  # the default: the web pages on loopback
    assert await _address(app, "127.0.0.1", "203.0.113.5") == "203.0.113.5"
    assert await _address(app, "127.0.0.1") == "127.0.0.1"
    # a caller that is no proxy cannot give itself another address (and dodge its lockout)
    assert await _address(app, "198.51.100.7", "203.0.113.5") == "198.51.100.7"
    # from a chain, the nearest hop the trusted proxy saw; what the browser wrote further left is not believed
    assert await _address(app, "127.0.0.1", "10.9.9.9, 203.0.113.5") == "203.0.113.5"

    app = _probe(monkeypatch, "")  # nobody trusted: every peer is the caller itself
    assert await _address(app, "127.0.0.1", "203.0.113.5") == "127.0.0.1"
    app = _probe(monkeypatch, "10.0.0.0/8")  # a deployment's proxy network
    assert await _address(app, "10.1.2.3", "203.0.113.5") == "203.0.113.5"
    assert await _address(app, "127.0.0.1", "203.0.113.5") == "127.0.0.1"


# --- the login guard ------------------------------------------------------------------------------


def test_every_lockout_and_limit_is_retryable_with_a_retry_after():
    """A 429 (a lockout, a rate, a quota) and a 503 are waits, not verdicts (shared/errors.py): a
    client — a sender's outbox, the web pages — tries again after Retry-After."""
    waits = {code for code, spec in CATALOGUE.items() if spec.status in (429, 503)}
    assert {"AUTH_LOCKED", "CA_AUTH_LOCKED", "RATE_LIMITED", "QUOTA_EXCEEDED"} <= waits
    for code in waits:
        assert CATALOGUE[code].retryable and CATALOGUE[code].retry_after, code
        assert int(ApiError(code).headers()["Retry-After"]) > 0


async def test_an_unknown_account_costs_the_argon2_check_of_a_known_one(monkeypatch):
    seen = []
    real = throttle.verify_password
    monkeypatch.setattr(throttle, "verify_password", lambda h, p: seen.append(h) or real(h, p))
    guard = LoginGuard(limiter())
    stored = throttle.hash_password("the-right-one")
    assert await guard.check("nobody", "a", None, "the-right-one") is False  # even the "right" password
    assert await guard.check("someone", "a", stored, "wrong") is False
    assert await guard.check("someone", "a", stored, "the-right-one") is True
    assert seen == [throttle._dummy_hash(), stored, stored]


async def test_failures_lock_the_account_and_the_address_until_the_window_passes(monkeypatch):
    monkeypatch.setattr(throttle, "verify_password", lambda h, p: h == "hash:" + p)  # argon2 is not the point here
    guard = LoginGuard(limiter(), failures="3/5minutes", per_address="5/5minutes")

    for _ in range(2):
        assert not await guard.check("ann", "10.0.0.1", "hash:pw", "wrong")
    assert await guard.check("ann", "10.0.0.1", "hash:pw", "pw")  # a success forgets the account's failures
    for _ in range(3):
        assert not await guard.check("ann", "10.0.0.2", "hash:pw", "wrong")
    with pytest.raises(ApiError) as locked:
        await guard.check("ann", "10.0.0.3", "hash:pw", "pw")  # the right password, from anywhere
    assert locked.value.code == "AUTH_LOCKED" and locked.value.retryable and locked.value.retry_after > 0

    # one address guessing at many accounts: the address is locked, for every account, and only it
    for n in range(5 - 3):  # the address 10.0.0.2 already failed three times (for ann)
        assert not await guard.check(f"guess-{n}", "10.0.0.2", None, "x")
    with pytest.raises(ApiError, match="AUTH_LOCKED"):
        await guard.check("bob", "10.0.0.2", "hash:pw", "pw")
    assert await guard.check("bob", "10.0.0.4", "hash:pw", "pw")


# --- egov outbox / egov dead-letters on a data dir ------------------------------------------------


def test_every_service_with_an_outbox_is_one_egov_outbox_knows():
    with_outbox = {s for s in SERVICES
                   if hasattr(importlib.import_module(f"services.{s}.models"), "OutboxMessage")}
    assert with_outbox == set(SENDERS), with_outbox ^ set(SENDERS)


@pytest.fixture
def data_dir(tmp_path):
    for service in (*SENDERS, "gateway"):
        upgrade(service, f"sqlite+aiosqlite:///{tmp_path / f'{service}.db'}")
    return tmp_path


def _db(data_dir, service: str) -> Database:
    return Database(f"sqlite+aiosqlite:///{(data_dir / f'{service}.db').resolve()}")


async def _seed(data_dir) -> None:
    """What failed for good: at the ЦОН desk, one message the gateway refused (next to one sent); at
    the gateway, one message its recipient refused and one never confirmed in time."""
    from services.con.models import OutboxMessage
    from services.gateway.models import Message

    con = _db(data_dir, "con")
    async with con.session() as s:
        s.add(OutboxMessage(message_id="con-1", correlation_id="r-1", service_id="ELICENSE_SUBMIT", envelope={},
                            state="FAILED", attempts=1, last_error="ACCESS_DENIED: con → ELICENSE_SUBMIT"))
        s.add(OutboxMessage(message_id="con-2", correlation_id="r-2", service_id="ELICENSE_SUBMIT", envelope={},
                            state="SENT", attempts=1))
    await con.dispose()
    gateway = _db(data_dir, "gateway")
    now = utcnow()
    async with gateway.session() as s:
        for mid, state, reason, at in (("m-refused", MessageState.NOT_DELIVERED, "refused by the recipient", now),
                                       ("m-stopped", MessageState.DELIVERY_STOPPED, "not confirmed in time",
                                        now - timedelta(minutes=1))):
            s.add(Message(message_id=mid, correlation_id="c", service_id="CON_NOTIFY", message_type="NOTIFICATION",
                          sender_id="e_licensing", recipient_id="con", envelope={}, size=2, state=state,
                          status_message=reason, received_at=at, attempts=3, next_attempt_at=at,
                          deliver_until=at, dead_letter_pending=False))
    await gateway.dispose()


async def _states(data_dir) -> tuple[dict, dict]:
    from services.con.models import OutboxMessage
    from services.gateway.models import Message

    con, gateway = _db(data_dir, "con"), _db(data_dir, "gateway")
    async with con.read() as s:
        outbox = {m.message_id: (m.state, m.last_error) for m in await s.scalars(select(OutboxMessage))}
    async with gateway.read() as s:
        messages = {m.message_id: m.state for m in await s.scalars(select(Message))}
    await con.dispose()
    await gateway.dispose()
    return outbox, messages


def _egov(data_dir, *args: str):
    r = CliRunner().invoke(egov_cli, list(args), env={"EGOV_DATA_DIR": str(data_dir), "EGOV_DB_SERVER": "sqlite"})
    return r.exit_code, r.stdout


def test_egov_outbox_and_dead_letters_list_and_resend(data_dir):
    asyncio.run(_seed(data_dir))  # the commands run their own event loops: this test has none
    code, out = _egov(data_dir, "outbox", "list")
    assert code == 0, out
    listed = json.loads(out)
    assert set(listed) == set(SENDERS)  # the ЦОН desk's outbox among them
    assert listed["con"]["states"] == {"FAILED": 1, "SENT": 1}
    assert [(m["message_id"], m["last_error"]) for m in listed["con"]["failed"]] == \
        [("con-1", "ACCESS_DENIED: con → ELICENSE_SUBMIT")]
    assert listed["portal"] == {"states": {}, "failed": []}

    code, out = _egov(data_dir, "outbox", "resend", "--service", "con")
    assert code == 0 and json.loads(out) == {"service": "con", "resent": 1}, out
    code, out = _egov(data_dir, "outbox", "resend", "--service", "nobody")
    assert code != 0 and not out.strip()

    code, out = _egov(data_dir, "dead-letters", "list")
    assert code == 0, out
    assert [(d["message_id"], d["state"], d["reason"]) for d in json.loads(out)] == [
        ("m-refused", "NOT_DELIVERED", "refused by the recipient"),
        ("m-stopped", "DELIVERY_STOPPED", "not confirmed in time")]  # newest first
    code, out = _egov(data_dir, "dead-letters", "resend", "--message-id", "m-stopped")
    assert code == 0 and json.loads(out) == {"resent": 1}, out

    outbox, messages = asyncio.run(_states(data_dir))
    assert outbox == {"con-1": ("PENDING", None), "con-2": ("SENT", None)}  # back in line for the relay
    assert messages == {"m-refused": "NOT_DELIVERED", "m-stopped": "ON_DELIVERY"}
    code, out = _egov(data_dir, "dead-letters", "list")
    assert [d["message_id"] for d in json.loads(out)] == ["m-refused"]
