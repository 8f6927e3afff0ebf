"""The gateway's message log against a real НУЦ process: a few hundred messages accepted
concurrently through ``service.accept`` (two engines, as two workers would, with the sealer running
alongside), sealed with the НУЦ's RFC 3161 time-stamps, verified — by ``verify_log`` and by
``openssl ts -verify`` — and then one byte of one stored envelope changed behind the log's back.

On SQLite and, when EGOV_TEST_POSTGRES_URL is set, on PostgreSQL."""
from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, text

from services.gateway import log_cli, message_log, service
from services.gateway.directory import Directory
from services.gateway.models import Acl, LogRecord, Service, System
from services.gateway.seed import cert_sha256
from services.gateway.settings import GatewaySettings
from shared import envelope
from shared.db import Database
from shared.db.migrate import drop_database, upgrade
from shared.signing import Signer, TrustStore
from shared.topics import SystemId

from .test_nca import NcaProcess, free_port, openssl

pytestmark = pytest.mark.integration

PG_URL = os.environ.get("EGOV_TEST_POSTGRES_URL")
SERVICE = "LOG_TEST"
SENDER, RECIPIENT = "log_sender", "log_recipient"
PASSWORD = "sender-password"
N_MESSAGES = 240


@pytest.fixture(scope="module")
def nca(tmp_path_factory):
    process = NcaProcess(tmp_path_factory.mktemp("nca"))
    try:
        yield process
    finally:
        process.stop()


class Setup:
    def __init__(self, settings: GatewaySettings, nca: NcaProcess, keys: Path):
        self.settings = settings
        self.url = settings.database_url("gateway")
        self.nca = nca
        self.gateway_signer = Signer.from_dir(keys / SystemId.GATEWAY)
        self.sender_signer = Signer.from_dir(keys / SENDER)
        roots, inter = nca.ca.roots(), nca.ca.intermediates()
        self.accept_trust = TrustStore(roots=roots, intermediates=inter)  # sender checks, no OCSP
        self.trust = TrustStore.from_pki_dir(settings.pki_dir, check_revocation=True)  # with OCSP

    def request(self) -> dict:
        env = envelope.build(service_id=SERVICE, message_type="REQUEST", sender_id=SENDER,
                             data={"text": "өтініш", "n": uuid.uuid4().hex}, correlation_id=envelope.new_id())
        envelope.sign(env, self.sender_signer)
        env["messageInfo"]["sender"]["password"] = PASSWORD
        return env

    async def accept(self, db: Database, env: dict | None = None):
        """What the gateway's router does: authenticate, check the signature, then one transaction."""
        env = env or self.request()
        directory = Directory(db)
        system = await service.authenticate(directory, SENDER, PASSWORD)
        await service.check_signature(env["signature"], envelope.sender_signed_bytes(env), system, self.accept_trust)
        target, recipient = service.route(await directory.current(), env, system, "async")
        async with db.session() as s:
            [accepted] = await service.accept(s, [service.Offer(env, system, target, recipient)],
                                              signer=self.gateway_signer, deliver_for=timedelta(hours=1),
                                              first_redelivery=timedelta(seconds=5))
            return accepted.message


@pytest.fixture(params=["sqlite", "postgresql"])
def setup(request, nca, tmp_path):
    if request.param == "postgresql" and not PG_URL:
        pytest.skip("EGOV_TEST_POSTGRES_URL is not set")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "pki").symlink_to(nca.data_dir / "pki")
    settings = GatewaySettings(
        data_dir=tmp_path / "data", nca_url=nca.url,
        db_server="sqlite" if request.param == "sqlite" else PG_URL,
        db_prefix=f"egov_h6{uuid.uuid4().hex[:8]}_")
    url = settings.database_url("gateway")
    upgrade("gateway", url)
    keys = tmp_path / "keys"
    nca.ca.issue_system(SystemId.GATEWAY).write(keys / SystemId.GATEWAY)
    sender = nca.ca.issue_system(SENDER)
    sender.write(keys / SENDER)

    async def seed():
        db = Database(url)
        cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # verify reads these from the hash
        async with db.session() as s:
            s.add(System(system_id=SENDER, title="sender", password_hash=cheap.hash(PASSWORD),
                         cert_sha256=cert_sha256(sender.cert), cert_pem=sender.cert_pem.decode()))
            s.add(System(system_id=RECIPIENT, title="recipient", password_hash=cheap.hash("x"),
                         cert_sha256="0" * 64, cert_pem=""))
        async with db.session() as s:
            s.add(Service(service_id=SERVICE, title="log test", recipient_id=RECIPIENT, channel="async",
                          enabled=True))
        async with db.session() as s:
            s.add(Acl(sender_id=SENDER, service_id=SERVICE))
        await db.dispose()

    asyncio.run(seed())
    try:
        yield Setup(settings, nca, keys)
    finally:
        if request.param == "postgresql":
            asyncio.run(drop_database(url))


async def _accept_concurrently(setup: Setup, n: int) -> list[str]:
    workers = [Database(setup.url), Database(setup.url)]
    sealer_db = Database(setup.url)
    sealer = message_log.LogSealer(sealer_db, setup.gateway_signer, setup.nca.url, interval=0.5)
    sealing = asyncio.create_task(sealer.run())
    gate = asyncio.Semaphore(12)

    async def one(i: int) -> str:
        async with gate:
            return (await setup.accept(workers[i % 2])).message_id

    try:
        ids = await asyncio.gather(*(one(i) for i in range(n)))
    finally:
        sealing.cancel()
        await asyncio.gather(sealing, return_exceptions=True)
        for db in (*workers, sealer_db):
            await db.dispose()
    return ids


async def _tamper_one_byte(db: Database, seq: int) -> None:
    """Change one character of the gateway's signature inside the stored envelope of record ``seq``."""
    pg = not db.url.startswith("sqlite")
    async with db.engine.begin() as c:
        raw = await c.scalar(text(f"SELECT {'envelope::text' if pg else 'envelope'} FROM message_log "
                                  "WHERE seq = :s"), {"s": seq})
        at = raw.index('"gatewaySignature"') + len('"gatewaySignature": "') + 40
        changed = raw[:at] + ("B" if raw[at] != "B" else "C") + raw[at + 1:]
        assert len(changed) == len(raw) and changed != raw
        await c.execute(text(f"UPDATE message_log SET envelope = {'CAST(:e AS JSON)' if pg else ':e'} "
                             "WHERE seq = :s"), {"e": changed, "s": seq})


async def test_log_sealed_verified_and_tampering_named(setup, tmp_path):
    ids = await _accept_concurrently(setup, N_MESSAGES)
    db = Database(setup.url)
    try:
        # the same message again is accepted once: no second record
        async with db.session() as s:
            first = await s.scalar(select(LogRecord).where(LogRecord.seq == 1))
        again = (
            {**first.envelope, "messageInfo": {**first.envelope["messageInfo"],
                                               "sender": {"senderId": SENDER, "password": PASSWORD}}})
        assert (await setup.accept(db, again)).message_id == first.message_id

        await message_log.seal_pending(db, setup.gateway_signer, setup.nca.url + "/tsa")
        report = await message_log.verify_log(db, setup.trust)
        assert report.ok, report.problems
        assert report.records == N_MESSAGES and report.head_seq == N_MESSAGES
        assert report.sealed_records == N_MESSAGES and report.unsealed_records == 0 and report.seals >= 1
        async with db.session() as s:
            logged = set(await s.scalars(select(LogRecord.message_id)))
            rec = await s.scalar(select(LogRecord).where(LogRecord.seq == 100))
        assert logged == set(ids)
        # the logged envelope carries both signatures, and they verify
        await envelope.verify_sender(rec.envelope, setup.accept_trust)
        assert (await envelope.verify_gateway(rec.envelope, setup.accept_trust)).signer.common_name == SystemId.GATEWAY

        out = io.StringIO()
        assert await asyncio.to_thread(log_cli.verify, setup.settings, out=out) == 0 and json.loads(out.getvalue())["ok"]
        out = io.StringIO()  # the same audit without the network: trust anchors only, no НУЦ asked
        assert await asyncio.to_thread(lambda: log_cli.verify(setup.settings, out=out, offline=True)) == 0
        assert json.loads(out.getvalue())["ok"] and json.loads(out.getvalue())["revocationChecked"] is False

        # one message's proof, and its seal's token through openssl
        out = io.StringIO()
        tsr = tmp_path / "token.tsr"
        assert await asyncio.to_thread(log_cli.export, rec.message_id, setup.settings, tsr=tsr, out=out) == 0
        doc = json.loads(out.getvalue())
        assert doc["record"]["seq"] == 100 and doc["proof"]["treeSize"] == doc["seal"]["lastSeq"] - doc["seal"]["firstSeq"] + 1
        assert message_log.verify_export(doc, setup.trust) == []
        pki = setup.nca.pki
        v = openssl("ts", "-verify", "-digest", doc["seal"]["root"], "-in", str(tsr),
                    "-CAfile", str(pki / "root.pem"), "-untrusted", str(pki / "issuing.pem"))
        assert "Verification: OK" in v.stdout, v.stdout + v.stderr
        (tmp_path / "token.tst").write_bytes(base64.b64decode(doc["seal"]["timestampToken"]))
        v = openssl("ts", "-verify", "-digest", doc["seal"]["root"], "-in", str(tmp_path / "token.tst"),
                    "-token_in", "-CAfile", str(pki / "root.pem"), "-untrusted", str(pki / "issuing.pem"))
        assert "Verification: OK" in v.stdout, v.stdout + v.stderr
        wrong = "00" * 32
        v = openssl("ts", "-verify", "-digest", wrong, "-in", str(tsr),
                    "-CAfile", str(pki / "root.pem"), "-untrusted", str(pki / "issuing.pem"))
        assert "Verification: OK" not in v.stdout
        assert await asyncio.to_thread(log_cli.export, "no-such-message", setup.settings, out=io.StringIO()) == 2

        # one byte of one record's stored envelope, changed directly in the database
        await _tamper_one_byte(db, 137)
        async with db.session() as s:
            tampered_id = await s.scalar(select(LogRecord.message_id).where(LogRecord.seq == 137))
        report = await message_log.verify_log(db, setup.trust)
        assert not report.ok
        assert (report.first_bad_seq, report.first_bad_message_id) == (137, tampered_id)
        assert [p["seq"] for p in report.problems] == [137]
        out = io.StringIO()
        assert await asyncio.to_thread(log_cli.verify, setup.settings, out=out) == 1
        assert json.loads(out.getvalue())["firstBadMessageId"] == tampered_id
    finally:
        await db.dispose()


async def test_tsa_unreachable_leaves_records_unsealed_and_accepting_goes_on(setup):
    db = Database(setup.url)
    try:
        dead = message_log.LogSealer(db, setup.gateway_signer, f"http://127.0.0.1:{free_port()}", interval=0.1)
        for _ in range(3):
            await setup.accept(db)
        assert await dead.run_once() == [] and dead.last_error
        for _ in range(2):
            await setup.accept(db)  # sendMessage does not wait for the TSA
        report = await message_log.verify_log(db, setup.trust)
        assert report.ok and report.records == 5 and report.unsealed_records == 5 and report.seals == 0

        live = message_log.LogSealer(db, setup.gateway_signer, setup.nca.url, interval=0.1)
        [seal] = await live.run_once()
        assert (seal.first_seq, seal.last_seq) == (1, 5) and live.last_error is None
        report = await message_log.verify_log(db, setup.trust)
        assert report.ok and report.sealed_records == 5 and report.unsealed_records == 0
    finally:
        await db.dispose()
