"""Public verification of a licence or certificate by its number."""
from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select

from shared.calendar import ALMATY
from shared.errors import ApiError

from .models import Permit, PermitEvent

router = APIRouter(prefix="/api/v1", tags=["registry"])


def _iso(dt) -> str | None:
    return dt.astimezone(ALMATY).isoformat() if dt else None


@router.get("/permits/{number}")
async def permit(number: str, request: Request) -> dict:
    """The registry's record of a licence or certificate: the current signed document (after the
    last re-issue or duplicate) and its history — issued, reissued, duplicated — each entry with
    the signed document of that version. Public; 404 NOT_FOUND for an unknown number."""
    async with request.app.state.rt.db.session() as s:
        p = await s.get(Permit, number)
        if p is None:
            raise ApiError("NOT_FOUND")
        events = list(await s.scalars(select(PermitEvent).where(PermitEvent.number == number)
                                      .order_by(PermitEvent.at, PermitEvent.id)))
        return {"number": p.number, "kind": p.kind, "service_code": p.service_code or p.document.get("service_code"),
                "status": p.status, "holder_iin_bin": p.holder_iin_bin, "provider_bin": p.provider_bin,
                "issued_at": _iso(p.issued_at), "updated_at": _iso(p.updated_at),
                "document": p.document, "signature": p.signature,
                "history": [{"event": e.event, "subtype": e.subtype, "application_number": e.application_number,
                             "at": _iso(e.at), "document": e.document, "signature": e.signature} for e in events]}
