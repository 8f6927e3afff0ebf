"""One message's record with its proof (neighbours, Merkle path, seal, time-stamp), and its check alone."""
from __future__ import annotations

import base64

import structlog
from sqlalchemy import select

from shared.db import Database
from shared.pki.cms import SignatureError
from shared.pki.tsp import TimestampError, timestamp_response
from shared.signing import TrustStore

from ..models import LogRecord, LogSeal

from .chain import chain_hash, envelope_sha256, record_content
from .merkle import inclusion_path, verify_inclusion
from .seals import seal_statement, verify_seal_signature, verify_timestamp
from .verifier import _why

log = structlog.get_logger("message_log")




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

