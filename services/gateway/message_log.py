"""The gateway's message log (REFERENCE.md §2, X-Road's message log): a hash chain of every
accepted message, sealed in batches off the request path.

**Chain.** Every accepted message is appended, in the transaction that records it, as a
``message_log`` record::

    content = {"seq", "messageId", "correlationId", "senderId", "recipientId", "serviceId",
               "messageType", "receivedAt", "envelopeSha256", "envelope"}
    hash    = SHA-256(bytes.fromhex(prev_hash) || JCS(content))     (hex in the table)

where ``envelope`` is the delivered envelope (sender's ``signature`` and the gateway's
``gatewaySignature`` inside), ``envelopeSha256`` the SHA-256 of its JCS, and ``prev_hash`` the
previous record's hash (64 zeros before the first). Appends are serialised by the one-row
``log_head`` table (the last seq and hash), read ``FOR UPDATE`` on PostgreSQL and updated in the
same transaction; SQLite transactions here begin IMMEDIATE, which serialises them already.

**Seal.** A background task (:class:`LogSealer`, every ``gateway_log_seal_seconds``) takes the
unsealed records (up to 10,000 per seal), builds an RFC 9162 Merkle tree over their hashes
(leaf = SHA-256(0x00 || hash), node = SHA-256(0x01 || left || right)), signs the seal
statement ``JCS({"type": "egov-sim/message-log-seal", "firstSeq", "lastSeq", "lastHash",
"root"})`` with the gateway's key (detached CMS) and gets an RFC 3161 time-stamp from the НУЦ
whose message imprint is SHA-256 / the root (the root *is* the imprint: ``openssl ts -verify
-digest <root hex>``). Since every record hash covers the previous one, the root commits to the
whole chain up to ``lastSeq``. If the TSA is unreachable nothing is stored and the next pass
retries; sendMessage never waits for it.

**Check.** :func:`verify_log` walks the chain, recomputes every hash, checks the seals (roots,
signatures, time-stamps) and names the first altered record; :func:`export_message` gives one
message's record with its proof, and :func:`verify_export` checks such an export alone.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Sequence

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
from shared.pki.tsp import TimestampError, timestamp_response, token_from_reply
from shared.signing import Signer, TrustStore
from shared.topics import SystemId

from .models import LogHead, LogRecord, LogSeal, Message

log = structlog.get_logger("message_log")

GENESIS_HASH = "0" * 64
HEAD_ID = 1
SEAL_TYPE = "egov-sim/message-log-seal"
#: at most this many records per seal (X-Road: one time-stamp covers up to 10,000 signatures)
MAX_SEAL_RECORDS = 10_000
_PAGE = 1000


# --- the chain --------------------------------------------------------------------------------


def envelope_sha256(envelope: dict) -> str:
    return hashlib.sha256(canonical(envelope)).hexdigest()


def record_content(rec: LogRecord) -> dict:
    """What a record's hash covers (everything but ``prev_hash`` and ``hash`` themselves)."""
    return {
        "seq": rec.seq,
        "messageId": rec.message_id,
        "correlationId": rec.correlation_id,
        "senderId": rec.sender_id,
        "recipientId": rec.recipient_id,
        "serviceId": rec.service_id,
        "messageType": rec.message_type,
        "receivedAt": rec.received_at,
        "envelopeSha256": rec.envelope_sha256,
        "envelope": rec.envelope,
    }


def chain_hash(prev_hash: str, content: dict) -> str:
    """SHA-256(prev_hash bytes || JCS(content)), hex."""
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical(content)).hexdigest()


def record_problem(rec: LogRecord, expected_seq: int, expected_prev: str) -> str | None:
    """Why ``rec`` does not fit the chain after (expected_seq - 1, expected_prev), or None."""
    if rec.seq != expected_seq:
        return f"expected record {expected_seq}, found {rec.seq} (a record is missing or inserted)"
    if rec.prev_hash != expected_prev:
        return "prev_hash is not the previous record's hash"
    if envelope_sha256(rec.envelope) != rec.envelope_sha256:
        return "the envelope does not match its SHA-256"
    if chain_hash(rec.prev_hash, record_content(rec)) != rec.hash:
        return "the record's content does not match its hash"
    return None


async def _lock_head(session: AsyncSession) -> LogHead:
    """The chain head, locked for this transaction (FOR UPDATE; SQLite's IMMEDIATE transaction
    holds the database write lock already). Created at genesis when the migration did not."""
    stmt = select(LogHead).where(LogHead.id == HEAD_ID).with_for_update()
    head = (await session.execute(stmt)).scalar_one_or_none()
    if head is None:
        head = LogHead(id=HEAD_ID, seq=0, hash=GENESIS_HASH)
        session.add(head)
        await session.flush()
    return head


async def append(session: AsyncSession, message: Message) -> LogRecord:
    """Append the accepted ``message`` to the log in the caller's transaction."""
    env = message.envelope
    delivery = env.get("deliveryInfo") or {}
    received = delivery.get("receivedAt") or message.received_at.isoformat()
    env_hash = envelope_sha256(env)
    head = await _lock_head(session)
    rec = LogRecord(
        seq=head.seq + 1,
        message_id=message.message_id,
        correlation_id=message.correlation_id,
        sender_id=message.sender_id,
        recipient_id=message.recipient_id,
        service_id=message.service_id,
        message_type=message.message_type,
        received_at=received,
        envelope_sha256=env_hash,
        envelope=env,
        prev_hash=head.hash,
    )
    rec.hash = chain_hash(rec.prev_hash, record_content(rec))
    head.seq, head.hash = rec.seq, rec.hash
    session.add(rec)
    return rec


# --- the Merkle tree (RFC 9162 §2.1) ----------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _mth(leaves: Sequence[bytes], lo: int, hi: int) -> bytes:
    n = hi - lo
    if n == 1:
        return leaf_hash(leaves[lo])
    k = _split(n)
    return node_hash(_mth(leaves, lo, lo + k), _mth(leaves, lo + k, hi))


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 over the leaves' data (here: record hashes, 32 bytes each)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    return _mth(leaves, 0, len(leaves))


def inclusion_path(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1: the audit path of leaf ``index``, bottom up."""
    if not 0 <= index < len(leaves):
        raise IndexError(index)
    path: list[bytes] = []

    def walk(m: int, lo: int, hi: int) -> None:
        n = hi - lo
        if n == 1:
            return
        k = _split(n)
        if m < k:
            walk(m, lo, lo + k)
            path.append(_mth(leaves, lo + k, hi))
        else:
            walk(m - k, lo + k, hi)
            path.append(_mth(leaves, lo, lo + k))

    walk(index, 0, len(leaves))
    return path


def verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does ``path`` prove ``leaf`` at ``index`` of a tree of ``size`` with ``root``?"""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf_hash(leaf)
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


# --- seals --------------------------------------------------------------------------------------


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

    async def run_once(self) -> list[LogSeal]:
        try:
            seals = await seal_pending(self.db, self.signer, self.tsa_url)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.last_error = f"{exc.__class__.__name__}: {exc}"
            log.warning("message log not sealed; will retry", error=self.last_error)
            return []
        self.last_error, self.last_success = None, utcnow()
        return seals

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.run_once()


# --- verification -------------------------------------------------------------------------------


@dataclass
class LogReport:
    ok: bool = True
    records: int = 0
    head_seq: int | None = None
    seals: int = 0
    sealed_records: int = 0
    unsealed_records: int = 0
    #: the first altered record (seq, message id) when the chain is broken
    first_bad_seq: int | None = None
    first_bad_message_id: str | None = None
    problems: list[dict] = field(default_factory=list)

    def fail(self, problem: str, *, seq: int | None = None, message_id: str | None = None,
             seal_id: int | None = None) -> None:
        self.ok = False
        entry = {"problem": problem}
        if seq is not None:
            entry["seq"] = seq
        if message_id is not None:
            entry["messageId"] = message_id
        if seal_id is not None:
            entry["sealId"] = seal_id
        self.problems.append(entry)
        if seq is not None and (self.first_bad_seq is None or seq < self.first_bad_seq):
            self.first_bad_seq, self.first_bad_message_id = seq, message_id

    def to_dict(self) -> dict:
        return {
            "ok": self.ok, "records": self.records, "headSeq": self.head_seq, "seals": self.seals,
            "sealedRecords": self.sealed_records, "unsealedRecords": self.unsealed_records,
            "firstBadSeq": self.first_bad_seq, "firstBadMessageId": self.first_bad_message_id,
            "problems": self.problems,
        }


async def verify_log(db: Database, trust: TrustStore, *, max_problems: int = 100) -> LogReport:
    """Walk the chain from genesis, recompute every hash, check the head and every seal."""
    report = LogReport()
    hashes: list[str] = []  # every record's stored hash, index seq - 1
    ids: list[str] = []
    prev, expected = GENESIS_HASH, 1
    async with db.session() as s:  # a live log grows meanwhile: check it up to the head read here
        head = await s.get(LogHead, HEAD_ID)
        seals = list(await s.scalars(select(LogSeal).order_by(LogSeal.first_seq)))
    head_seq, head_hash = (head.seq, head.hash) if head is not None else (0, GENESIS_HASH)
    while True:
        async with db.session() as s:
            page = list(await s.scalars(select(LogRecord).where(LogRecord.seq >= expected,
                                                                LogRecord.seq <= head_seq)
                                        .order_by(LogRecord.seq).limit(_PAGE)))
        if not page:
            break
        for rec in page:
            problem = record_problem(rec, expected, prev)
            if problem is not None and len(report.problems) < max_problems:
                if problem.startswith("prev_hash") and hashes:
                    # the previous record was changed and re-hashed: name it, the altered one
                    report.fail(f"its hash is not record {rec.seq}'s prev_hash (changed and re-hashed?)",
                                seq=expected - 1, message_id=ids[-1])
                else:
                    report.fail(problem, seq=rec.seq, message_id=rec.message_id)
            # carry on along the stored hashes, so that one altered record is named once
            hashes.append(rec.hash)
            ids.append(rec.message_id)
            prev, expected = rec.hash, rec.seq + 1
            report.records += 1
    report.head_seq = head_seq
    if (head_seq, head_hash) != (expected - 1, prev):
        report.fail(f"the chain head (record {head_seq}) is not the last record ({expected - 1}): "
                    "records were removed or added outside the log")

    next_first = 1
    for seal in seals:
        report.seals += 1
        if seal.first_seq != next_first:
            report.fail(f"seals are not contiguous: expected one from record {next_first}", seal_id=seal.seal_id)
        next_first = seal.last_seq + 1
        covered = hashes[seal.first_seq - 1:seal.last_seq]
        if len(covered) != seal.last_seq - seal.first_seq + 1:
            report.fail("records of this seal are missing", seal_id=seal.seal_id)
            continue
        report.sealed_records += len(covered)
        root = merkle_root([bytes.fromhex(h) for h in covered]).hex()
        if root != seal.root or covered[-1] != seal.last_hash:
            report.fail(f"the seal's root does not match records {seal.first_seq}..{seal.last_seq}",
                        seal_id=seal.seal_id)
        try:
            ts = verify_timestamp(base64.b64decode(seal.timestamp_token), bytes.fromhex(seal.root), trust)
        except (TimestampError, SignatureError) as exc:
            report.fail(f"bad time-stamp: {_why(exc)}", seal_id=seal.seal_id)
            ts = None
        try:
            verify_seal_signature(seal, trust, at=ts.gen_time if ts else None)
        except SignatureError as exc:
            report.fail(f"bad seal signature: {_why(exc)}", seal_id=seal.seal_id)
    report.unsealed_records = max(0, report.records - report.sealed_records)
    return report


def _why(exc: Exception) -> str:
    if isinstance(exc, SignatureError):
        return f"{exc.code}: {exc.detail}" if getattr(exc, "detail", None) else exc.code
    return str(exc)


# --- export -------------------------------------------------------------------------------------


async def export_message(db: Database, message_id: str) -> dict | None:
    """One message's log record with its proof: the record and its hash, the neighbours' hashes,
    and — once sealed — the Merkle audit path, the seal and its time-stamp (base64). None when the
    message is not in the log."""
    async with db.session() as s:
        rec = await s.scalar(select(LogRecord).where(LogRecord.message_id == message_id))
        if rec is None:
            return None
        nxt = await s.get(LogRecord, rec.seq + 1)
        seal = await s.scalar(select(LogSeal).where(LogSeal.first_seq <= rec.seq, LogSeal.last_seq >= rec.seq))
        leaves = []
        if seal is not None:
            leaves = [bytes.fromhex(h) for h in await s.scalars(
                select(LogRecord.hash).where(LogRecord.seq.between(seal.first_seq, seal.last_seq))
                .order_by(LogRecord.seq))]
    out: dict = {
        "record": {**record_content(rec), "prevHash": rec.prev_hash, "hash": rec.hash},
        "next": {"seq": nxt.seq, "prevHash": nxt.prev_hash, "hash": nxt.hash} if nxt else None,
        "hashRule": "hash = SHA-256(bytes(prevHash) || JCS(record without prevHash and hash))",
        "proof": None,
        "seal": None,
    }
    if seal is not None:
        index = rec.seq - seal.first_seq
        token = base64.b64decode(seal.timestamp_token)
        out["proof"] = {
            "type": "RFC 9162 inclusion proof (leaf = SHA-256(0x00 || hash), node = SHA-256(0x01 || l || r))",
            "leafIndex": index,
            "treeSize": len(leaves),
            "path": [p.hex() for p in inclusion_path(leaves, index)],
        }
        out["seal"] = {
            "sealId": seal.seal_id,
            "firstSeq": seal.first_seq,
            "lastSeq": seal.last_seq,
            "lastHash": seal.last_hash,
            "root": seal.root,
            "statement": seal_statement(seal.first_seq, seal.last_seq, seal.last_hash, seal.root).decode(),
            "signature": seal.signature,
            "timestampTime": seal.timestamp_time.isoformat(),
            "timestampToken": seal.timestamp_token,
            "timestampResponse": base64.b64encode(timestamp_response(token)).decode(),
            "sealedAt": seal.sealed_at.isoformat(),
        }
    return out


def verify_export(doc: dict, trust: TrustStore | None = None) -> list[str]:
    """Check an :func:`export_message` document on its own; the problems found (empty: good).
    Without ``trust`` the seal's signature and time-stamp are not checked."""
    problems: list[str] = []
    r = doc["record"]
    content = {k: r[k] for k in ("seq", "messageId", "correlationId", "senderId", "recipientId", "serviceId",
                                 "messageType", "receivedAt", "envelopeSha256", "envelope")}
    if envelope_sha256(r["envelope"]) != r["envelopeSha256"]:
        problems.append("the envelope does not match its SHA-256")
    if chain_hash(r["prevHash"], content) != r["hash"]:
        problems.append("the record does not match its hash")
    if doc.get("next") and doc["next"]["prevHash"] != r["hash"]:
        problems.append("the next record does not chain to this one")
    seal, proof = doc.get("seal"), doc.get("proof")
    if seal is None:
        return problems
    if r["seq"] == seal["lastSeq"] and r["hash"] != seal["lastHash"]:
        problems.append("the seal's last hash is not this record's")
    if not verify_inclusion(bytes.fromhex(r["hash"]), proof["leafIndex"], proof["treeSize"],
                            [bytes.fromhex(p) for p in proof["path"]], bytes.fromhex(seal["root"])):
        problems.append("the Merkle path does not lead to the sealed root")
    if trust is not None:
        obj = LogSeal(first_seq=seal["firstSeq"], last_seq=seal["lastSeq"], last_hash=seal["lastHash"],
                      root=seal["root"], signature=seal["signature"])
        ts = None
        try:
            ts = verify_timestamp(base64.b64decode(seal["timestampToken"]), bytes.fromhex(seal["root"]), trust)
        except (TimestampError, SignatureError) as exc:
            problems.append(f"bad time-stamp: {_why(exc)}")
        try:
            verify_seal_signature(obj, trust, at=ts.gen_time if ts else None)
        except SignatureError as exc:
            problems.append(f"bad seal signature: {_why(exc)}")
    return problems
