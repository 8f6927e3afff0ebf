"""The chain: every accepted message appended, in its own transaction, as a hash-chained record."""
from __future__ import annotations

import hashlib

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.envelope import canonical

from ..models import LogHead, LogRecord, Message


log = structlog.get_logger("message_log")

GENESIS_HASH = "0" * 64
HEAD_ID = 1



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


async def append(session: AsyncSession, messages: list[Message]) -> list[LogRecord]:
    """Append the accepted ``messages``, in order, to the log in the caller's transaction (the head
    locked and moved once)."""
    if not messages:
        return []
    head = await _lock_head(session)
    records = []
    for message in messages:
        env = message.envelope
        received = (env.get("deliveryInfo") or {}).get("receivedAt") or message.received_at.isoformat()
        rec = LogRecord(
            seq=head.seq + 1,
            message_id=message.message_id,
            correlation_id=message.correlation_id,
            sender_id=message.sender_id,
            recipient_id=message.recipient_id,
            service_id=message.service_id,
            message_type=message.message_type,
            received_at=received,
            envelope_sha256=envelope_sha256(env),
            envelope=env,
            prev_hash=head.hash,
        )
        rec.hash = chain_hash(rec.prev_hash, record_content(rec))
        head.seq, head.hash = rec.seq, rec.hash
        records.append(rec)
    session.add_all(records)
    return records
