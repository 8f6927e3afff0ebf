"""Seals: batches of records under a Merkle root, signed by the gateway and time-stamped by the НУЦ, off the request path."""
from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from datetime import datetime

import httpx
import structlog
from asn1crypto import cms as acms
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database, utcnow
from shared.envelope import canonical
from shared.pki import tsp
from shared.pki.cms import SignatureError, verify_detached
from shared.pki.tsp import TimestampError, token_from_reply
from shared.signing import Signer, TrustStore
from shared.topics import SystemId

from ..models import LogRecord, LogSeal

from .merkle import merkle_root

log = structlog.get_logger("message_log")

SEAL_TYPE = "egov-sim/message-log-seal"
#: at most this many records per seal (X-Road: one time-stamp covers up to 10,000 signatures)
MAX_SEAL_RECORDS = 10_000




def seal_statement(first_seq: int, last_seq: int, last_hash: str, root: str) -> bytes:
    """What the gateway signs for a seal."""
    return canonical({"type": SEAL_TYPE, "firstSeq": first_seq, "lastSeq": last_seq,
                      "lastHash": last_hash, "root": root})


timestamp_request = tsp.query


@dataclass
class TimestampInfo:
    gen_time: datetime
    digest: bytes
    serial: int
    tsa: str | None


def verify_timestamp(token_der: bytes, digest: bytes, trust: TrustStore) -> TimestampInfo:
    """Check an RFC 3161 token over the SHA-256 ``digest`` (``shared.pki.tsp.verify_token``).
    Raises TimestampError or SignatureError."""
    tst, tsa_cert = tsp.verify_token(token_der, trust.roots, trust.intermediates)
    imprint = tst["message_imprint"]
    if imprint["hash_algorithm"]["algorithm"].native != "sha256":
        raise TimestampError("the message imprint is not SHA-256")
    if imprint["hashed_message"].native != digest:
        raise TimestampError("the message imprint is not the sealed root")
    cn = tsa_cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return TimestampInfo(gen_time=tst["gen_time"].native, digest=digest, serial=tst["serial_number"].native,
                         tsa=cn[0].value if cn else None)


def verify_seal_signature(seal: LogSeal, trust: TrustStore, at: datetime | None = None) -> None:
    """The gateway's CMS over the seal statement (raises SignatureError)."""
    statement = seal_statement(seal.first_seq, seal.last_seq, seal.last_hash, seal.root)
    report = verify_detached(seal.signature, statement, trust.roots, intermediates=trust.intermediates,
                             at=at, usage="sign", revocation_checker=trust.revocation)
    cn = report.signer_cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not cn or cn[0].value != SystemId.GATEWAY:
        raise SignatureError("ECP_UNTRUSTED", "the seal is not signed by the gateway's certificate")


async def _last_sealed_seq(session: AsyncSession) -> int:
    return (await session.scalar(select(func.max(LogSeal.last_seq)))) or 0


async def seal_pending(db: Database, signer: Signer, tsa_url: str, *, max_records: int = MAX_SEAL_RECORDS,
                       timeout: float = 10.0, client: httpx.AsyncClient | None = None) -> list[LogSeal]:
    """Seal the records unsealed when called, ``max_records`` per seal; returns the seals made. The TSA is
    asked with no transaction open; an error (TSA down, refusal) propagates and stores nothing
    for that batch."""
    if client is None:
        async with httpx.AsyncClient(timeout=timeout) as own:
            return await seal_pending(db, signer, tsa_url, max_records=max_records, client=own)
    made: list[LogSeal] = []
    upto: int | None = None  # one pass seals what was there when it began: one time-stamp per pass under load
    while True:
        async with db.session() as s:
            if upto is None:
                upto = (await s.scalar(select(func.max(LogRecord.seq)))) or 0
            after = await _last_sealed_seq(s)
            rows = (await s.execute(
                select(LogRecord.seq, LogRecord.hash).where(LogRecord.seq > after, LogRecord.seq <= upto)
                .order_by(LogRecord.seq).limit(max_records))).all()
        if not rows:
            return made
        seqs = [r.seq for r in rows]
        if seqs != list(range(after + 1, after + 1 + len(seqs))):
            raise RuntimeError(f"the message log has a gap after record {after}")
        first, last, last_hash = seqs[0], seqs[-1], rows[-1].hash
        root = merkle_root([bytes.fromhex(r.hash) for r in rows])
        signature = signer.sign(seal_statement(first, last, last_hash, root.hex()))
        query, nonce = timestamp_request(root)
        r = await client.post(tsa_url, content=query, headers={"content-type": "application/timestamp-query"})
        r.raise_for_status()
        token = token_from_reply(r.content, root, nonce)
        gen_time = tsp.tst_info(acms.ContentInfo.load(token))["gen_time"].native
        seal = LogSeal(first_seq=first, last_seq=last, last_hash=last_hash, root=root.hex(),
                       signature=signature, timestamp_token=base64.b64encode(token).decode(),
                       timestamp_time=gen_time, sealed_at=utcnow())
        async with db.session() as s:
            if await _last_sealed_seq(s) != after:
                continue  # another sealer was quicker: look again
            s.add(seal)
        made.append(seal)
        log.info("message log sealed", first_seq=first, last_seq=last, root=root.hex())


class LogSealer:
    """The background task: :func:`seal_pending` every ``interval`` seconds; failures are logged
    and retried on the next pass."""

    def __init__(self, db: Database, signer: Signer, nca_url: str, *, interval: float = 10.0):
        self.db = db
        self.signer = signer
        self.tsa_url = nca_url.rstrip("/") + "/tsa"
        self.interval = interval
        self.last_error: str | None = None
        self.last_success: datetime | None = None
        #: one client for every pass (a new one per pass cost a TLS context each time: 3 % of the gateway's CPU)
        self._client: httpx.AsyncClient | None = None

    async def run_once(self) -> list[LogSeal]:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=10.0)
        try:
            seals = await seal_pending(self.db, self.signer, self.tsa_url, client=self._client)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.last_error = f"{exc.__class__.__name__}: {exc}"
            log.warning("message log not sealed; will retry", error=self.last_error)
            return []
        self.last_error, self.last_success = None, utcnow()
        return seals

    async def run(self) -> None:
        try:
            while True:
                await asyncio.sleep(self.interval)
                await self.run_once()
        finally:
            if self._client is not None:
                await self._client.aclose()


