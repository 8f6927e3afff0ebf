"""The message log's chain, Merkle tree, seals and verifier, on SQLite with an in-process TSA."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import json

import httpx
import pytest
from sqlalchemy import select, text

from services.gateway import message_log as ml
from services.gateway.message_log import seals  # noqa: F401  (ml.seals, patched below)
from services.gateway.models import LogHead, LogRecord, LogSeal, Message
from services.nca.builders import build_timestamp_reply, load_or_create_tsa
from shared.db import Database, utcnow
from shared.db.migrate import upgrade
from shared.pki.ca import DevCA
from shared.pki.tsp import query as timestamp_request
from shared.pki.cms import SignatureError
from shared.pki.tsp import token_from_reply
from shared.signing import Signer, TrustStore
from shared.topics import SystemId


# --- Merkle tree ------------------------------------------------------------------------------


def _leaves(n: int) -> list[bytes]:
    return [hashlib.sha256(str(i).encode()).digest() for i in range(n)]


def _reference_root(leaves: list[bytes]) -> bytes:
    """RFC 9162 MTH written as literally as the RFC has it."""
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + _reference_root(leaves[:k]) + _reference_root(leaves[k:])).digest()


def test_merkle_root_small_trees():
    a, b, c = _leaves(3)
    assert ml.merkle_root([a]) == ml.leaf_hash(a)
    assert ml.merkle_root([a, b]) == ml.node_hash(ml.leaf_hash(a), ml.leaf_hash(b))
    assert ml.merkle_root([a, b, c]) == ml.node_hash(ml.node_hash(ml.leaf_hash(a), ml.leaf_hash(b)), ml.leaf_hash(c))
    for n in range(1, 40):
        assert ml.merkle_root(_leaves(n)) == _reference_root(_leaves(n))


def test_every_inclusion_path_verifies_and_nothing_else_does():
    for n in list(range(1, 34)) + [100, 257]:
        leaves = _leaves(n)
        root = ml.merkle_root(leaves)
        for i in range(n):
            path = ml.inclusion_path(leaves, i)
            assert ml.verify_inclusion(leaves[i], i, n, path, root), (n, i)
            assert not ml.verify_inclusion(b"\x00" * 32, i, n, path, root)
            if n > 1:
                assert not ml.verify_inclusion(leaves[i], (i + 1) % n, n, path, root)
                assert not ml.verify_inclusion(leaves[i], i, n, path[:-1], root)
            assert not ml.verify_inclusion(leaves[i], i, n, path, hashlib.sha256(root).digest())
        assert not ml.verify_inclusion(leaves[0], n, n, [], root)
    with pytest.raises(IndexError):
        ml.inclusion_path(_leaves(3), 3)


def test_chain_hash_covers_prev_hash_and_content():
    content = {"seq": 1, "envelope": {"a": "ә"}}
    h = ml.chain_hash(ml.GENESIS_HASH, content)
    assert h == hashlib.sha256(bytes(32) + b'{"envelope":{"a":"\xd3\x99"},"seq":1}').hexdigest()
    assert ml.chain_hash("11" * 32, content) != h
    assert ml.chain_hash(ml.GENESIS_HASH, {"seq": 1, "envelope": {"a": "a"}}) != h


# --- the log in a database ----------------------------------------------------------------------


@pytest.fixture
def db_url(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    upgrade("gateway", url)
    return url


@pytest.fixture
async def db(db_url):
    database = Database(db_url)
    yield database
    await database.dispose()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ca = DevCA.load_or_create(d / "ca")
    ca.issue_system(SystemId.GATEWAY).write(d / "shep")
    ca.issue_system("intruder").write(d / "intruder")
    tsa = load_or_create_tsa(ca, d / "tsa")
    trust = TrustStore(roots=ca.roots(), intermediates=ca.intermediates())
    other_roots = DevCA.load_or_create(d / "other-ca").roots()
    return Signer.from_dir(d / "shep"), Signer.from_dir(d / "intruder"), tsa, trust, other_roots


def _message(i: int) -> Message:
    mid = f"m-{i:05d}"
    env = {"messageInfo": {"messageId": mid, "serviceId": "SVC", "messageType": "REQUEST"},
           "messageData": {"data": {"n": i, "text": "өтініш"}}, "signature": "c2lnbmF0dXJl",
           "deliveryInfo": {"messageId": mid, "correlationId": f"c-{i}", "gatewayId": "shep",
                            "recipientId": "rcpt", "receivedAt": utcnow().isoformat()},
           "gatewaySignature": "Z2F0ZXdheQ=="}
    return Message(message_id=mid, correlation_id=f"c-{i}", service_id="SVC", message_type="REQUEST",
                   sender_id="sndr", recipient_id="rcpt", envelope=env, size=len(json.dumps(env)),
                   state="ON_DELIVERY", received_at=utcnow(), attempts=0)


async def _accept(db: Database, i: int) -> None:
    async with db.session() as s:
        m = _message(i)
        s.add(m)
        await ml.append(s, [m])


async def _append_many(db: Database, start: int, n: int) -> None:
    await asyncio.gather(*(_accept(db, i) for i in range(start, start + n)))


def _tsa_transport(tsa, calls: list | None = None, down: list | None = None) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if down and down[0]:
            raise httpx.ConnectError("the TSA is down", request=request)
        if calls is not None:
            calls.append(request.url.path)
        return httpx.Response(200, content=build_timestamp_reply(tsa, request.content),
                              headers={"content-type": "application/timestamp-reply"})
    return httpx.MockTransport(handler)


async def test_concurrent_appends_form_one_chain(db):
    await _append_many(db, 0, 60)
    async with db.session() as s:
        recs = list(await s.scalars(select(LogRecord).order_by(LogRecord.seq)))
        head = await s.get(LogHead, ml.HEAD_ID)
    assert [r.seq for r in recs] == list(range(1, 61))
    assert recs[0].prev_hash == ml.GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in zip(recs, recs[1:]))
    assert (head.seq, head.hash) == (60, recs[-1].hash)
    report = await ml.verify_log(db, TrustStore(roots=[]))
    assert report.ok and report.records == 60 and report.unsealed_records == 60 and report.seals == 0


async def test_tampered_envelope_is_named(db):
    await _append_many(db, 0, 20)
    async with db.engine.begin() as c:
        raw, mid = (await c.execute(text("SELECT envelope, message_id FROM message_log WHERE seq = 7"))).one()
        changed = raw.replace("Z2F0ZXdheQ==", "Z2F0ZXdheR==")  # one byte of the gateway's signature
        assert len(changed) == len(raw) and changed != raw
        await c.execute(text("UPDATE message_log SET envelope = :e WHERE seq = 7"), {"e": changed})
    report = await ml.verify_log(db, TrustStore(roots=[]))
    assert not report.ok
    assert (report.first_bad_seq, report.first_bad_message_id) == (7, mid)
    assert report.problems == [{"problem": "the envelope does not match its SHA-256", "seq": 7,
                                "messageId": mid}]


async def test_rehashed_record_and_removed_record_are_found(db):
    await _append_many(db, 0, 10)
    async with db.session() as s:
        rec = await s.get(LogRecord, 4)
        rec.sender_id = "someone_else"  # changed and its own hash recomputed
        rec.hash = ml.chain_hash(rec.prev_hash, ml.record_content(rec))
    report = await ml.verify_log(db, TrustStore(roots=[]))
    assert not report.ok and report.first_bad_seq == 4 and len(report.problems) == 1

    async with db.session() as s:
        await s.delete(await s.get(LogRecord, 10))
    report = await ml.verify_log(db, TrustStore(roots=[]))
    assert any("chain head" in p["problem"] for p in report.problems)


async def test_seal_verify_and_export(db, pki):
    signer, _, tsa, trust, _ = pki
    await _append_many(db, 0, 25)
    calls: list = []
    async with httpx.AsyncClient(transport=_tsa_transport(tsa, calls)) as client:
        seals = await ml.seal_pending(db, signer, "http://nca/tsa", max_records=10, client=client)
        assert [(x.first_seq, x.last_seq) for x in seals] == [(1, 10), (11, 20), (21, 25)]
        assert await ml.seal_pending(db, signer, "http://nca/tsa", client=client) == []
    assert calls == ["/tsa"] * 3

    report = await ml.verify_log(db, trust)
    assert report.ok, report.problems
    assert (report.seals, report.sealed_records, report.unsealed_records) == (3, 25, 0)

    async with db.session() as s:
        ids = {r.seq: r.message_id for r in await s.scalars(select(LogRecord))}
    doc = await ml.export_message(db, ids[14])
    assert doc["record"]["seq"] == 14 and doc["seal"]["firstSeq"] == 11 and doc["proof"]["treeSize"] == 10
    assert ml.verify_export(doc, trust) == []
    json.dumps(doc)  # JSON-ready
    token = base64.b64decode(doc["seal"]["timestampToken"])
    assert ml.verify_timestamp(token, bytes.fromhex(doc["seal"]["root"]), trust).tsa
    bad = json.loads(json.dumps(doc))
    bad["record"]["envelope"]["messageData"]["data"]["n"] = 999
    assert "the envelope does not match its SHA-256" in ml.verify_export(bad, trust)
    bad = json.loads(json.dumps(doc))
    bad["proof"]["path"][0] = "00" * 32
    assert ml.verify_export(bad) == ["the Merkle path does not lead to the sealed root"]
    assert await ml.export_message(db, "no-such-message") is None
    last = await ml.export_message(db, ids[25])
    assert last["next"] is None and ml.verify_export(last, trust) == []


async def test_forged_seals_are_refused(db, pki):
    signer, intruder, tsa, trust, other_roots = pki
    await _append_many(db, 0, 5)
    async with httpx.AsyncClient(transport=_tsa_transport(tsa)) as client:
        [seal] = await ml.seal_pending(db, signer, "http://nca/tsa", client=client)
    other_token = base64.b64encode(token_from_reply(
        build_timestamp_reply(tsa, timestamp_request(b"\x01" * 32)[0]), b"\x01" * 32)).decode()
    forged_sig = intruder.sign(ml.seal_statement(seal.first_seq, seal.last_seq, seal.last_hash, seal.root))
    async with db.session() as s:
        row = await s.get(LogSeal, seal.seal_id)
        row.timestamp_token, row.signature = other_token, forged_sig
    report = await ml.verify_log(db, trust)
    problems = [p["problem"] for p in report.problems]
    assert not report.ok and len(problems) == 2
    assert problems[0] == "bad time-stamp: the message imprint is not the sealed root"
    assert problems[1].startswith("bad seal signature: ECP_UNTRUSTED")

    # a time-stamp by another CA's TSA does not chain to the roots
    with pytest.raises(SignatureError) as err:
        ml.verify_timestamp(base64.b64decode(seal.timestamp_token), bytes.fromhex(seal.root),
                            TrustStore(roots=other_roots))
    assert err.value.code == "ECP_UNTRUSTED"


async def test_sealer_retries_when_the_tsa_is_down(db, pki, monkeypatch):
    signer, _, tsa, trust, _ = pki
    await _append_many(db, 0, 8)
    down = [True]
    sealer = ml.LogSealer(db, signer, "http://nca", interval=0.01)
    original = ml.seal_pending

    async def through_mock(db_, signer_, url, **kw):
        assert url == "http://nca/tsa"
        async with httpx.AsyncClient(transport=_tsa_transport(tsa, down=down)) as client:
            return await original(db_, signer_, url, client=client)

    monkeypatch.setattr(ml.seals, "seal_pending", through_mock)
    assert await sealer.run_once() == [] and "ConnectError" in sealer.last_error
    report = await ml.verify_log(db, trust)
    assert report.ok and report.unsealed_records == 8
    await _append_many(db, 8, 2)  # appends go on while unsealed
    down[0] = False
    task = asyncio.create_task(sealer.run())
    for _ in range(500):
        await asyncio.sleep(0.01)
        if sealer.last_success is not None:
            break
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert sealer.last_error is None
    report = await ml.verify_log(db, trust)
    assert report.ok and report.sealed_records == 10 and report.unsealed_records == 0


async def test_one_pass_seals_what_was_there_when_it_began(db, pki):
    """Under load a pass makes one seal (one time-stamp), not one per record that arrives meanwhile."""
    signer, _, tsa, trust, _ = pki
    await _append_many(db, 0, 5)
    arrivals = iter([3, 0, 0])

    async def handler(request: httpx.Request) -> httpx.Response:
        await _append_many(db, 100 + len(request.content), next(arrivals))  # records arrive during the call
        return httpx.Response(200, content=build_timestamp_reply(tsa, request.content))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        seals = await ml.seal_pending(db, signer, "http://nca/tsa", client=client)
        assert [(x.first_seq, x.last_seq) for x in seals] == [(1, 5)]
        report = await ml.verify_log(db, trust)
        assert report.ok and report.records == 8 and report.unsealed_records == 3
        seals = await ml.seal_pending(db, signer, "http://nca/tsa", client=client)
        assert [(x.first_seq, x.last_seq) for x in seals] == [(6, 8)]
