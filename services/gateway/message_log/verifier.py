"""The check of the whole log: every hash recomputed, every seal (root, signature, time-stamp) verified."""
from __future__ import annotations

import base64
from dataclasses import dataclass, field

import structlog
from sqlalchemy import select

from shared.db import Database
from shared.pki.cms import SignatureError
from shared.pki.tsp import TimestampError
from shared.signing import TrustStore

from ..models import LogHead, LogRecord, LogSeal

from .chain import GENESIS_HASH, HEAD_ID, record_problem
from .merkle import merkle_root
from .seals import verify_seal_signature, verify_timestamp

log = structlog.get_logger("message_log")

_PAGE = 1000




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


