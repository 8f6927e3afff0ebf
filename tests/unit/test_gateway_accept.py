"""The gateway's sendMessage without the network: its own router over a real SQLite database, real
system certificates and real argon2, in one process (no broker: what would be produced is collected).

What each test pins down is an order or an identity the gateway promises (docs/gateway-protocol.md):
the sender is authenticated before any CMS work is spent on the call, and an unknown sender costs the
same argon2 check as a wrong password; the signature is checked over the envelope exactly as received,
not over a re-serialisation; a messageId is accepted once; a batch stops at a retryable refusal."""
from __future__ import annotations

import json
import shutil
import uuid

import httpx
import pytest
from cryptography import x509
from prometheus_client import CollectorRegistry
from sqlalchemy import func, select

from services.gateway import router as gateway_router
from services.gateway import service as gateway_service
from services.gateway.directory import ServiceEntry, Snapshot, SystemEntry
from services.gateway.main import Gateway, Metrics
from services.gateway.models import Message
from services.gateway.seed import cert_sha256
from services.gateway.settings import GatewaySettings
from shared import envelope, throttle
from shared.app import create_app
from shared.auth import VerifiedPasswords, hash_password
from shared.db import Database
from shared.db.migrate import upgrade
from shared.pki.ca import DevCA
from shared.pki.cms import SignatureError
from shared.signing import Signer, TrustStore
from shared.throttle import LoginGuard, Throttle, limiter
from shared.topics import SystemId

PASSWORDS = {"portal": "portal-password", "intruder": "intruder-password"}
SEND = "/shep/v1/async/messages"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ca = DevCA.load_or_create(d / "ca")
    for name in ("portal", "intruder", SystemId.GATEWAY):
        ca.issue_system(name, key_type="ec").write(d / name)
    systems = {name: SystemEntry(name, hash_password(PASSWORDS[name]),
                                 cert_sha256(x509.load_pem_x509_certificate((d / name / "cert.pem").read_bytes())))
               for name in PASSWORDS}
    return {"dir": d, "ca": ca, "systems": systems,
            "signers": {name: Signer.from_dir(d / name) for name in ("portal", "intruder", SystemId.GATEWAY)}}


class Directory:
    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot

    async def current(self) -> Snapshot:
        return self.snapshot


class SpyTrust:
    """The real trust store, counting its calls; data holding ``"outage"`` answers as an НУЦ that
    cannot be asked (the retryable ECP_REVOCATION_UNKNOWN)."""

    def __init__(self, trust: TrustStore):
        self.trust, self.calls = trust, []

    async def verify(self, signature, data: bytes, **kw):
        self.calls.append(data)
        if b'"outage"' in data:
            raise SignatureError("ECP_REVOCATION_UNKNOWN", "the НУЦ cannot be asked")
        return await self.trust.verify(signature, data, **kw)


class Relay:
    def __init__(self):
        self.handed: list[str] = []

    def hand_over(self, message: Message) -> None:
        self.handed.append(message.message_id)


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    path = tmp_path_factory.mktemp("gateway-db") / "gateway.db"
    upgrade("gateway", f"sqlite+aiosqlite:///{path}")  # Alembic runs its own event loop: outside the tests'
    return path


@pytest.fixture
def gateway_url(migrated, tmp_path):
    shutil.copy(migrated, tmp_path / "gateway.db")  # an empty, migrated database for each test
    return f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"


@pytest.fixture
async def gw(gateway_url, pki, tmp_path, monkeypatch):
    monkeypatch.setattr(gateway_service, "_passwords", VerifiedPasswords())  # nothing remembered from before
    db = Database(gateway_url)
    limits = limiter()
    gw = Gateway(
        settings=GatewaySettings(data_dir=tmp_path), db=db,
        trust=SpyTrust(TrustStore(pki["ca"].roots(), pki["ca"].intermediates())),
        signer=pki["signers"][SystemId.GATEWAY], relay=Relay(),
        directory=Directory(Snapshot(systems=pki["systems"],
                                     services={"SVC": ServiceEntry("SVC", "me", "async", True)},
                                     acl=frozenset({("portal", "SVC"), ("intruder", "SVC")}))),
        metrics=Metrics(CollectorRegistry()), admin_token="x" * 64,
        sender_guard=LoginGuard(limits), admin_guard=LoginGuard(limits), sender_rate=Throttle("1000/second", limits))
    yield gw
    await db.dispose()


@pytest.fixture
async def client(gw):
    app = create_app("gateway-under-test", title="gateway", description="the gateway's router alone")
    app.include_router(gateway_router.router)
    app.state.gw = gw
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as c:
        yield c


def signed(pki, sender: str = "portal", *, data=None, message_id: str | None = None, password: str | None = None) -> dict:
    """An envelope as a sender writes it — only the fields it cares for (no routeId, sessionId,
    properties or messageDate, which a re-serialised model would add as nulls) and one of its own."""
    env = {"messageInfo": {"messageId": message_id or str(uuid.uuid4()), "serviceId": "SVC",
                           "messageType": "REQUEST", "sender": {"senderId": sender}, "x-sender-note": "kept"},
           "messageData": {"data": {"n": 1, "text": "Қазақстан"} if data is None else data}}
    envelope.sign(env, pki["signers"][sender])
    env["messageInfo"]["sender"]["password"] = PASSWORDS.get(sender, "") if password is None else password
    return env


def reordered(obj):
    """The same JSON value with every object's keys in reverse order."""
    if isinstance(obj, dict):
        return {k: reordered(obj[k]) for k in reversed(list(obj))}
    if isinstance(obj, list):
        return [reordered(v) for v in obj]
    return obj


async def post(client, env: dict, path: str = SEND) -> httpx.Response:
    return await client.post(path, json=env)


async def count(gw) -> int:
    async with gw.db.read() as s:
        return await s.scalar(select(func.count()).select_from(Message))


# --- authentication before any CMS work -----------------------------------------------------------


async def test_the_sender_is_authenticated_before_any_cms_work(client, gw, pki, monkeypatch):
    seen = []
    real = throttle.verify_password
    monkeypatch.setattr(throttle, "verify_password", lambda h, p: seen.append(h) or real(h, p))

    garbage = {**signed(pki, password="wrong"), "signature": "bm90IGEgQ01TIGF0IGFsbA=="}
    r = await post(client, garbage)
    assert r.status_code == 401 and r.json()["error"]["code"] == "SENDER_AUTH_FAILED", r.text
    garbage["messageInfo"]["sender"] = {"senderId": "nobody", "password": "whatever"}
    r = await post(client, garbage)
    assert r.status_code == 401 and r.json()["error"]["code"] == "SENDER_UNKNOWN", r.text
    assert gw.trust.calls == []  # neither got as far as the signature (nor the НУЦ)
    # the unknown sender cost the argon2 check of a dummy hash, as a wrong password costs the real one
    assert seen == [throttle._dummy_hash()]

    # the right password: only now is the signature looked at (and it is garbage)
    garbage["messageInfo"]["sender"] = {"senderId": "portal", "password": PASSWORDS["portal"]}
    r = await post(client, garbage)
    assert r.status_code == 401 and r.json()["error"]["code"] == "SENDER_SIGNATURE_INVALID", r.text
    assert len(gw.trust.calls) == 1 and await count(gw) == 0


async def test_a_wrong_password_costs_argon2_even_after_the_right_one_was_seen(client, gw, pki, monkeypatch):
    import shared.auth

    seen = []
    real = shared.auth.verify_password
    monkeypatch.setattr(shared.auth, "verify_password", lambda h, p: seen.append(p) or real(h, p))
    assert (await post(client, signed(pki))).status_code == 200  # the right password, remembered
    assert (await post(client, signed(pki))).status_code == 200
    r = await post(client, signed(pki, password="wrong"))
    assert r.json()["error"]["code"] == "SENDER_AUTH_FAILED"
    # argon2 ran for the first right password and for the wrong one; the remembered one was a digest
    assert seen == [PASSWORDS["portal"], "wrong"]


async def test_repeated_failures_lock_the_sender_out_even_with_the_right_password(client, pki):
    for _ in range(5):
        r = await post(client, signed(pki, "intruder", password="wrong"))
        assert r.json()["error"]["code"] == "SENDER_AUTH_FAILED"
    r = await post(client, signed(pki, "intruder"))
    assert r.status_code == 429 and r.json()["error"]["code"] == "AUTH_LOCKED" and int(r.headers["Retry-After"]) > 0


# --- the bytes received ---------------------------------------------------------------------------


async def test_the_signature_is_checked_over_the_envelope_as_received(client, gw, pki):
    env = signed(pki)
    # other key order, other whitespace, other escapes on the wire: the same JSON value, so it verifies
    wire = json.dumps(reordered(env), indent=3, ensure_ascii=True).encode()
    assert wire != envelope.canonical(env)
    r = await client.post(SEND, content=wire, headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    async with gw.db.read() as s:
        stored = (await s.get(Message, r.json()["messageId"])).envelope
    assert stored["messageInfo"]["x-sender-note"] == "kept" and "routeId" not in stored["messageInfo"]

    # one value changed after signing: refused
    altered = signed(pki)
    altered["messageData"]["data"]["n"] = 2
    r = await post(client, altered)
    assert r.status_code == 401 and r.json()["error"]["code"] == "SENDER_SIGNATURE_INVALID", r.text
    # a field the sender signed, left out in transit: refused too
    dropped = signed(pki)
    del dropped["messageInfo"]["x-sender-note"]
    assert (await post(client, dropped)).json()["error"]["code"] == "SENDER_SIGNATURE_INVALID"


# --- one messageId, one message -------------------------------------------------------------------


async def test_a_message_id_is_accepted_once_and_is_its_senders_alone(client, gw, pki):
    env = signed(pki)
    first, again = await post(client, env), await post(client, env)
    assert first.status_code == again.status_code == 200
    mid = env["messageInfo"]["messageId"]
    assert first.json()["messageId"] == again.json()["messageId"] == mid
    assert gw.relay.handed == [mid] and await count(gw) == 1  # recorded and produced once

    r = await post(client, signed(pki, "intruder", message_id=mid))
    assert r.status_code == 422 and r.json()["error"]["code"] == "ENVELOPE_INVALID", r.text
    async with gw.db.read() as s:
        assert (await s.get(Message, mid)).sender_id == "portal"
    assert gw.relay.handed == [mid] and await count(gw) == 1


async def test_a_batch_stops_at_a_retryable_refusal_and_keeps_the_order(client, gw, pki):
    forged = signed(pki)
    forged["messageData"]["data"]["n"] = 99  # a verdict: refused for itself only
    batch = [signed(pki), forged, signed(pki), signed(pki, data={"outage": True}), signed(pki)]
    r = await client.post(SEND + "/batch", json={"messages": batch})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    ids = [e["messageInfo"]["messageId"] for e in batch]
    assert results[0]["messageId"] == ids[0] and results[2]["messageId"] == ids[2]
    assert results[1]["error"]["code"] == "SENDER_SIGNATURE_INVALID" and results[1]["retryable"] is False
    assert results[3]["error"]["code"] == "ECP_REVOCATION_UNKNOWN" and results[3]["retryable"] is True
    # after the outage nothing was attempted: the last one carries the same retryable error
    assert results[4]["error"]["code"] == "ECP_REVOCATION_UNKNOWN" and results[4]["retryable"] is True
    assert len(gw.trust.calls) == 4
    assert gw.relay.handed == [ids[0], ids[2]] and await count(gw) == 2
