"""Public verification of a licence or certificate by its number: what a public registry shows."""
from __future__ import annotations

from fastapi import APIRouter, Path, Request

from shared.app import JCSRoute, error_responses
from shared.calendar import ALMATY
from shared.envelope import canonical
from shared.errors import ApiError
from shared.numbers import is_well_formed
from shared.pki.cms import SignatureError

from . import repository
from .models import Permit

router = APIRouter(route_class=JCSRoute, prefix="/api/v1", tags=["registry"])


def _iso(dt) -> str | None:
    return dt.astimezone(ALMATY).isoformat() if dt else None


async def _signature(trust, p: Permit) -> dict:
    """Whether the permit's current signed document verifies now (revocation included), and by whom."""
    try:
        report = await trust.verify(p.signature, canonical(p.document), usage="sign")
    except SignatureError as exc:
        if exc.retryable:
            raise
        return {"valid": False, "code": exc.code}
    signer = report.signer
    return {"valid": True, "signer": signer.common_name, "organisation": signer.organization,
            "signed_at": report.signers[0].signing_time.isoformat() if report.signers[0].signing_time else None}


@router.get("/permits/{number}", summary="Public registry: a licence or certificate by its number",
            responses=error_responses("NOT_FOUND", "ECP_REVOCATION_UNKNOWN", "VALIDATION_ERROR"))
async def permit(request: Request, number: str = Path(max_length=64)) -> dict:
    """What a public registry shows of a licence or certificate, and nothing more: its number, its
    kind (and the service it was issued under), the holder's name, its status, its validity, and
    whether its signature verifies (and by whom). Not the holder's IIN/BIN, the application, the form,
    its versions or who handled it. The number is the one the holder was given (random, with a check
    symbol): a malformed or unknown number is 404 NOT_FOUND. 503 ECP_REVOCATION_UNKNOWN while the НУЦ
    cannot be asked."""
    rt = request.app.state.rt
    if not is_well_formed(number):
        raise ApiError("NOT_FOUND")
    async with rt.db.read() as s:
        p = await repository.permit(s, number)
    if p is None:
        raise ApiError("NOT_FOUND")
    doc = p.document
    return {"number": p.number, "kind": p.kind, "service_code": p.service_code or doc.get("service_code"),
            "title_ru": doc.get("title_ru"), "title_kk": doc.get("title_kk"),
            "holder": {"name": (doc.get("holder") or {}).get("name")},
            "status": p.status, "valid_from": _iso(p.issued_at), "valid_until": doc.get("valid_until"),
            "signature": await _signature(rt.trust, p)}
