"""Public verification of a licence or certificate by its number."""
from __future__ import annotations

from fastapi import APIRouter, Request

from shared.errors import ApiError

from .models import Permit

router = APIRouter(prefix="/api/v1", tags=["registry"])


@router.get("/permits/{number}")
async def permit(number: str, request: Request) -> dict:
    """The registry's record of a licence or certificate with its signed document."""
    async with request.app.state.rt.db.session() as s:
        p = await s.get(Permit, number)
        if p is None:
            raise ApiError("NOT_FOUND")
        return {"number": p.number, "kind": p.kind, "holder_iin_bin": p.holder_iin_bin,
                "provider_bin": p.provider_bin, "issued_at": p.issued_at.isoformat(),
                "document": p.document, "signature": p.signature}
