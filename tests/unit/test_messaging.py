"""The messaging core without the network: the outbox relay against a scripted gateway, the
consumer with real signatures and a real SQLite inbox, and the gateway's delivery bookkeeping.

What each test pins down is the failure model of ``shared/errors.py``: an outage (the gateway or
the НУЦ unreachable, a retryable refusal, a database error) is waited out and loses nothing; a
verdict (a permanent refusal) is recorded once and never retried."""
from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
import pytest
from pydantic import BaseModel
from sqlalchemy import String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.gateway import service as gateway
from services.gateway.delivery import DeliveryRelay
from services.gateway.models import Message
from services.gateway.schemas import DeliveryNotification
from shared import envelope
from shared.db import Database, utcnow
from shared.db.migrate import upgrade
from shared.errors import ApiError, error_body
from shared.messaging import outbox as outbox_mod
from shared.messaging.consumer import GatewayConsumer, Handler
from shared.messaging.models import InboxMixin, OutboxMixin
from shared.messaging.outbox import Outbox, OutboxRelay
from shared.messaging.retry import Backoff
from shared.pki.ca import DevCA
from shared.pki.revocation import RevocationChecker
from shared.signing import Signer, TrustStore
from shared.topics import MessageState, SystemId


class Base(DeclarativeBase):
    pass


class OutboxRow(OutboxMixin, Base):
    pass


class InboxRow(InboxMixin, Base):
    pass


class Effect(Base):
    """What a handler does: one row per applied message."""

    __tablename__ = "effects"
    message_id: Mapped[str] = mapped_column(String(64), primary_key=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ca = DevCA.load_or_create(d / "ca")
    signers = {}
    for name in ("portal", SystemId.GATEWAY, "intruder"):
        ca.issue_system(name, key_type="ec").write(d / name)
        signers[name] = Signer.from_dir(d / name)
    # a НУЦ nobody can reach: every revocation check of these certificates is an outage
    dark = DevCA.load_or_create(d / "dark-ca", base_url="http://127.0.0.1:9")
    dark.issue_system("portal", key_type="ec").write(d / "dark-portal")
    dark.issue_system(SystemId.GATEWAY, key_type="ec").write(d / "dark-shep")
    return {"ca": ca, "signers": signers, "trust": TrustStore(ca.roots(), ca.intermediates()),
            "dark": dark, "dark_signers": {"portal": Signer.from_dir(d / "dark-portal"),
                                           SystemId.GATEWAY: Signer.from_dir(d / "dark-shep")}}


@pytest.fixture
async def db(tmp_path):
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'system.db'}")
    async with database.engine.begin() as c:
        await c.run_sync(Base.metadata.create_all)
    yield database
    await database.dispose()


def test_backoff_doubles_to_its_cap_with_jitter_and_honours_retry_after():
    b = Backoff(0.5, 8.0)
    assert [b.nominal(n) for n in range(1, 8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert b.nominal(10_000) == 8.0  # no overflow for a very long outage
    for n in range(1, 10):
        assert b.nominal(n) / 2 <= b.delay(n) <= b.nominal(n)
    assert b.delay(1, at_least=30) == 30


# --- the outbox relay ------------------------------------------------------------------------------


class ScriptedGateway:
    """The batch sendMessage answering from a script: one answer per envelope (the last one repeated).
    An exception or a 5xx/429 answer fails the whole call; a refusal answers for that envelope, and a
    retryable one stops the batch there, as the gateway does."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.seen: list[int] = []

    def _next(self):
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        results, stopped = [], None
        for env in json.loads(request.content)["messages"]:
            assert env["messageInfo"]["sender"]["password"] == "pw"  # added by the relay, never stored
            if stopped is not None:
                results.append(stopped)
                continue
            self.seen.append(env["messageData"]["data"]["n"])
            answer = self._next()
            if isinstance(answer, Exception):
                raise answer
            if answer.status_code >= 500 or answer.status_code == 429:
                return answer
            if answer.status_code < 300:
                results.append({"messageId": env["messageInfo"]["messageId"], "correlationId": "c"})
                continue
            code = answer.json()["error"]["code"]
            results.append({"error": answer.json()["error"], "retryable": ApiError(code).retryable})
            if ApiError(code).retryable:
                stopped = results[-1]
        return httpx.Response(200, json={"results": results, "responseDate": "now"})


def refusal(code: str, **headers) -> httpx.Response:
    spec = error_body(code)
    return httpx.Response(ApiError(code).status, json=spec, headers=headers)


ACCEPTED = httpx.Response(200)


async def enqueue(db, pki, n: int) -> Outbox:
    box = Outbox(OutboxRow, "portal", pki["signers"]["portal"])
    async with db.session() as s:
        for i in range(n):
            box.enqueue(s, service_id="SVC", message_type="REQUEST", data={"n": i}, correlation_id=f"c-{i}")
    return box


def relay_for(db, box, gateway: ScriptedGateway) -> OutboxRelay:
    relay = OutboxRelay(db, box, "http://gateway", "pw")
    relay.http = httpx.AsyncClient(transport=httpx.MockTransport(gateway))
    return relay


async def states(db) -> list[str]:
    async with db.read() as s:
        return list(await s.scalars(select(OutboxRow.state).order_by(OutboxRow.id)))


async def test_relay_sends_in_order_and_marks_sent(db, pki):
    box = await enqueue(db, pki, 3)
    gw = ScriptedGateway(ACCEPTED)
    assert await relay_for(db, box, gw).drain() is None
    assert gw.seen == [0, 1, 2] and await states(db) == ["SENT"] * 3


@pytest.mark.parametrize("answer", [
    refusal("ECP_REVOCATION_UNKNOWN"),  # the НУЦ is down for the gateway
    refusal("UNAVAILABLE"),             # maintenance
    refusal("RATE_LIMITED", **{"Retry-After": "7"}),  # the whole call
    httpx.Response(502, text="bad gateway"),
    httpx.ConnectError("connection refused"),
])
async def test_an_outage_keeps_the_message_and_its_place(db, pki, answer):
    box = await enqueue(db, pki, 2)
    gw = ScriptedGateway(answer)
    relay = relay_for(db, box, gw)
    outage = await relay.drain()
    assert outage is not None
    if not isinstance(answer, Exception) and answer.status_code == 429:
        assert outage.retry_after == 7
    assert gw.seen == [0]  # the second message waits behind the first: order is kept
    assert await states(db) == ["PENDING", "PENDING"]
    gw.answers = [ACCEPTED]  # the outage ends
    assert await relay.drain() is None
    assert await states(db) == ["SENT", "SENT"] and gw.seen == [0, 0, 1]


async def test_a_verdict_fails_that_message_only_and_resend_brings_it_back(db, pki):
    box = await enqueue(db, pki, 3)
    gw = ScriptedGateway(ACCEPTED, refusal("ACCESS_DENIED"), ACCEPTED)
    assert await relay_for(db, box, gw).drain() is None
    assert await states(db) == ["SENT", "FAILED", "SENT"]
    [failed] = await outbox_mod.failed(db, OutboxRow)
    assert "ACCESS_DENIED" in failed["last_error"] and failed["attempts"] == 1
    assert await outbox_mod.summary(db, OutboxRow) == {"SENT": 2, "FAILED": 1}
    assert await outbox_mod.resend(db, OutboxRow) == 1
    gw.answers = [ACCEPTED]
    assert await relay_for(db, box, gw).drain() is None
    assert await states(db) == ["SENT"] * 3


# --- the consumer ---------------------------------------------------------------------------------


class FakeGatewayClient:
    def __init__(self):
        self.notes: list[tuple[str, str | None, bool]] = []

    async def confirm_many(self, notes):
        for n in notes:
            status = n["deliveryStatus"]
            self.notes.append((n["messageId"], (status["error"] or {}).get("errorCode"), status["resendMessage"]))
        return True


class Payload(BaseModel):
    n: int


def delivered(signers: dict, data, *, message_id: str, service_id: str = "SVC", sender: str = "portal") -> bytes:
    env = envelope.build(service_id=service_id, message_type="REQUEST", data=data, sender_id=sender,
                         message_id=message_id, correlation_id="c-1")
    envelope.sign(env, signers["portal"])
    out = envelope.countersign(env, {"messageId": message_id, "correlationId": "c-1", "gatewayId": "shep",
                                     "recipientId": "me", "receivedAt": utcnow().isoformat()},
                               signers[SystemId.GATEWAY])
    return json.dumps(out).encode()


def consumer_for(db, trust, **handler_kw) -> tuple[GatewayConsumer, FakeGatewayClient]:
    async def apply(s, msg):
        s.add(Effect(message_id=msg.message_id))

    gw = FakeGatewayClient()
    c = GatewayConsumer(system_id="me", bootstrap="unused", db=db, inbox_model=InboxRow, trust=trust,
                        handlers={"SVC": Handler(handler_kw.pop("apply", apply), **handler_kw)}, gateway=gw)
    return c, gw


async def effects(db) -> int:
    async with db.read() as s:
        return await s.scalar(select(func.count()).select_from(Effect))


async def inbox(db) -> dict[str, tuple[str, str | None]]:
    async with db.read() as s:
        return {r.message_id: (r.outcome, r.reason) for r in await s.scalars(select(InboxRow))}


async def test_applied_once_and_a_redelivery_is_confirmed_again(db, pki):
    c, gw = consumer_for(db, pki["trust"], schema=Payload)
    raw = delivered(pki["signers"], {"n": 1}, message_id="m-1")
    assert await c.process(raw) == "APPLIED"
    assert await c.process(raw) == "DUPLICATE"
    assert await effects(db) == 1
    assert gw.notes == [("m-1", None, False), ("m-1", None, False)]


async def test_a_forged_envelope_is_a_verdict(db, pki):
    c, gw = consumer_for(db, pki["trust"])
    env = json.loads(delivered(pki["signers"], {"n": 1}, message_id="m-2"))
    env["messageData"]["data"]["n"] = 2  # changed after the sender signed
    assert await c.process(json.dumps(env).encode()) == "REJECTED"
    assert await effects(db) == 0
    assert (await inbox(db))["m-2"][0] == "REJECTED"
    assert gw.notes == [("m-2", "SENDER_SIGNATURE_INVALID", False)]  # final: the gateway dead-letters it


async def test_a_malformed_message_is_a_verdict_not_a_crash(db, pki):
    c, gw = consumer_for(db, pki["trust"], schema=Payload)
    assert await c.process(delivered(pki["signers"], {"no": "n"}, message_id="m-3")) == "REJECTED"
    assert gw.notes[-1][:2] == ("m-3", "ENVELOPE_INVALID")
    assert await c.process(delivered(pki["signers"], {"n": 1}, message_id="m-4", service_id="OTHER")) == "REJECTED"
    assert gw.notes[-1][:2] == ("m-4", "SERVICE_NOT_FOUND")
    assert await c.process(b"{not json") is None and await c.process(b'{"n": NaN}') is None


async def test_the_nca_unreachable_defers_and_nothing_is_written(db, pki):
    dark = pki["dark"]
    trust = TrustStore(dark.roots(), dark.intermediates(), revocation=RevocationChecker(dark.roots(), timeout=0.5))
    c, gw = consumer_for(db, trust)
    raw = delivered(pki["dark_signers"], {"n": 1}, message_id="m-5")
    assert await c.process(raw) == "DEFERRED"
    assert await effects(db) == 0 and await inbox(db) == {}
    [(mid, code, resend)] = gw.notes
    assert (mid, code, resend) == ("m-5", "ECP_REVOCATION_UNKNOWN", True)  # "redeliver later", not a refusal
    await trust.aclose()


async def test_a_retryable_refusal_in_check_or_apply_defers_and_a_permanent_one_is_recorded(db, pki):
    calls = {"n": 0}

    async def flaky_check(msg):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ApiError("ECP_REVOCATION_UNKNOWN", detail="НУЦ down")
        return "ok"

    c, gw = consumer_for(db, pki["trust"], check=flaky_check)
    raw = delivered(pki["signers"], {"n": 1}, message_id="m-6")
    assert await c.process(raw) == "DEFERRED"
    assert await c.process(raw) == "APPLIED"  # the redelivery after the outage
    assert await effects(db) == 1

    async def refusing(s, msg):
        s.add(Effect(message_id=msg.message_id))  # rolled back with the savepoint
        raise ApiError("LICENCE_NOT_FOUND")

    c, gw = consumer_for(db, pki["trust"], apply=refusing)
    assert await c.process(delivered(pki["signers"], {"n": 1}, message_id="m-7")) == "REJECTED"
    assert await effects(db) == 1 and (await inbox(db))["m-7"][0] == "REJECTED"
    assert gw.notes == [("m-7", "LICENCE_NOT_FOUND", False)]


async def test_a_database_error_leaves_the_poll_unconfirmed(db, pki):
    from sqlalchemy.exc import OperationalError

    async def broken(s, msg):
        raise OperationalError("INSERT …", {}, ConnectionError("database went away"))

    c, gw = consumer_for(db, pki["trust"], apply=broken)
    assert await c.process(delivered(pki["signers"], {"n": 1}, message_id="m-8")) == "DEFERRED"
    assert gw.notes == [] and await inbox(db) == {}  # the gateway's redelivery brings it back


async def test_a_poll_is_applied_in_one_transaction_and_one_bad_message_stays_alone(db, pki):
    async def apply(s, msg):
        if msg.data.n == 2:
            raise KeyError("a bug in the handler")  # that message alone waits for its redelivery
        s.add(Effect(message_id=msg.message_id))

    c, gw = consumer_for(db, pki["trust"], schema=Payload, apply=apply)
    raws = [delivered(pki["signers"], {"n": n}, message_id=f"p-{n}") for n in (1, 2, 3)]
    assert await c.handle(raws + [raws[0]]) == ["APPLIED", "DEFERRED", "APPLIED", "DUPLICATE"]
    await c.flush()
    assert await effects(db) == 2 and set(await inbox(db)) == {"p-1", "p-3"}
    assert sorted((m, r) for m, _, r in gw.notes) == [("p-1", False), ("p-2", True), ("p-3", False)]


# --- the gateway's delivery bookkeeping ----------------------------------------------------------------


@pytest.fixture
def gateway_url(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    upgrade("gateway", url)  # Alembic runs its own event loop: outside the test's
    return url


@pytest.fixture
async def gwdb(gateway_url):
    database = Database(gateway_url)
    yield database
    await database.dispose()


async def add_message(gwdb, mid: str, *, deliver_for=timedelta(hours=1)) -> None:
    now = utcnow()
    async with gwdb.session() as s:
        s.add(Message(message_id=mid, correlation_id="c", service_id="SVC", message_type="REQUEST",
                      sender_id="portal", recipient_id="me", envelope={"n": mid}, size=1,
                      state=MessageState.ON_DELIVERY, received_at=now, attempts=0, next_attempt_at=now,
                      deliver_until=now + deliver_for))


async def message(gwdb, mid: str) -> Message:
    async with gwdb.read() as s:
        return await s.get(Message, mid)


def note(status: str, *, resend: bool = False, code: str | None = None) -> DeliveryNotification:
    return DeliveryNotification.model_validate({
        "serviceId": "SVC", "sender": {"senderId": "me"},
        "deliveryStatus": {"receiveStatus": status, "resendMessage": resend,
                           "error": {"errorCode": code} if code else None}})


class Recipient:
    system_id = "me"


async def test_redelivery_backs_off_and_stops_only_at_the_deadline(gwdb):
    produced = []
    relay = DeliveryRelay(gwdb, "unused", backoff=Backoff(2.0, 30.0))

    async def send(topic, value, *, key, headers):
        produced.append((topic, dict(headers)["shep-attempt"].decode()))

    relay._send = send
    await add_message(gwdb, "m-1")
    await add_message(gwdb, "m-2", deliver_for=timedelta(seconds=-1))  # its deadline has passed
    await relay.deliver_due()
    assert produced == [("shep.deliver.me", "1")]
    m1 = await message(gwdb, "m-1")
    assert m1.attempts == 1 and timedelta(seconds=1) <= m1.next_attempt_at - m1.last_attempt_at <= timedelta(seconds=2)
    await relay.deliver_due()
    assert len(produced) == 1  # not due again yet
    m2 = await message(gwdb, "m-2")
    assert m2.state == MessageState.DELIVERY_STOPPED and m2.dead_letter_pending


async def test_recipient_asking_for_a_resend_keeps_the_message_and_a_refusal_dead_letters_it(gwdb):
    await add_message(gwdb, "m-1")
    await add_message(gwdb, "m-2")
    async with gwdb.session() as s:
        await gateway.notify_delivery(s, Recipient, "m-1", note("NOT_DELIVERED", resend=True,
                                                                 code="ECP_REVOCATION_UNKNOWN"),
                                      backoff=Backoff(5.0, 30.0))
        await gateway.notify_delivery(s, Recipient, "m-2", note("NOT_DELIVERED", code="LICENCE_NOT_FOUND"),
                                      backoff=Backoff(5.0, 30.0))
    m1, m2 = await message(gwdb, "m-1"), await message(gwdb, "m-2")
    assert m1.state == MessageState.ON_DELIVERY and not m1.dead_letter_pending
    assert m1.next_attempt_at > utcnow() and m1.error["errorCode"] == "ECP_REVOCATION_UNKNOWN"
    assert m2.state == MessageState.NOT_DELIVERED and m2.dead_letter_pending
    async with gwdb.read() as s:
        assert [d["message_id"] for d in await gateway.dead_letters(s)] == ["m-2"]
    async with gwdb.session() as s:
        assert await gateway.resend(s, None, deliver_for=timedelta(hours=1)) == 1
    m2 = await message(gwdb, "m-2")
    assert m2.state == MessageState.ON_DELIVERY and m2.attempts == 0 and m2.deliver_until > utcnow()


async def test_only_the_recipient_confirms(gwdb):
    await add_message(gwdb, "m-1")

    class Stranger:
        system_id = "intruder"

    with pytest.raises(ApiError) as err:
        async with gwdb.session() as s:
            await gateway.notify_delivery(s, Stranger, "m-1", note("DELIVERED"), backoff=Backoff())
    assert err.value.code == "MESSAGE_NOT_FOUND"


async def test_what_a_busy_recipient_has_not_reached_is_not_produced_again(gwdb):
    # the recipient confirms what it reads; a message accepted after everything it confirmed is still
    # waiting in its topic while it keeps confirming — producing it again would only lengthen the queue
    produced = []
    relay = DeliveryRelay(gwdb, "unused", backoff=Backoff(2.0, 30.0), hold_seconds=0.5)

    async def send(topic, value, *, key, headers):
        produced.append(value)

    relay._send = send
    for mid in ("passed", "read", "waiting"):  # accepted in this order
        await add_message(gwdb, mid)
    confirmed = []
    async with gwdb.session() as s:  # the recipient read "read", skipping "passed" (e.g. deferred it)
        await gateway.notify_many(s, Recipient, [note("DELIVERED").model_copy(update={"messageId": "read"})],
                                  backoff=Backoff(), confirmed=confirmed)
    relay.read_up_to("me", confirmed)
    await relay.deliver_due()
    assert produced == [json.dumps({"n": "passed"}).encode()]  # behind what it read: sent again
    waiting = await message(gwdb, "waiting")
    assert waiting.attempts == 0 and waiting.next_attempt_at > utcnow()  # put off, not an attempt
    # the recipient confirms nothing more for hold_seconds (it died, or the broker lost its topic)
    await asyncio.sleep(0.6)
    async with gwdb.session() as s:
        (await s.get(Message, "waiting")).next_attempt_at = utcnow()
    await relay.deliver_due()
    assert produced[-1] == json.dumps({"n": "waiting"}).encode()
    assert (await message(gwdb, "waiting")).attempts == 1
