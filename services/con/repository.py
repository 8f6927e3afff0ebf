"""The ЦОН desk's queries — the only module of the service that speaks SQL: its operators, the
lookups, the scanned attachments, the receipts and their timelines. Who may see or change what is
decided by the router and the desk's processes (``service.py``, ``consumers.py``)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Attachment, Lookup, Operator, Receipt, ReceiptEvent


async def operator(s: AsyncSession, username: str) -> Operator | None:
    return await s.get(Operator, username)


async def lookup(s: AsyncSession, lookup_id: str) -> Lookup | None:
    return await s.get(Lookup, lookup_id)


async def attachment(s: AsyncSession, attachment_id: str) -> Attachment | None:
    return await s.get(Attachment, attachment_id)


async def receipt(s: AsyncSession, number: str) -> Receipt | None:
    """The receipt of this number (``CON-…`` of the desk, ``P-…`` of a portal request's paper result)."""
    return await s.scalar(select(Receipt).where(Receipt.number == number))


async def receipt_of_request(s: AsyncSession, request_id: str) -> Receipt | None:
    return await s.scalar(select(Receipt).where(Receipt.request_id == request_id))


async def nonce_used(s: AsyncSession, nonce: str) -> bool:
    return await s.scalar(select(Receipt.id).where(Receipt.nonce == nonce)) is not None


async def events_of(s: AsyncSession, receipt_id: int) -> list[ReceiptEvent]:
    """A receipt's timeline, oldest first."""
    return list(await s.scalars(select(ReceiptEvent).where(ReceiptEvent.receipt_id == receipt_id)
                                .order_by(ReceiptEvent.at, ReceiptEvent.id)))
