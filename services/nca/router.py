"""HTTP endpoints of the НУЦ: the revocation registry (admin), the CRL, OCSP and the TSA."""
from __future__ import annotations

import base64
import binascii
import secrets
from datetime import timedelta
from typing import Literal

from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from shared.errors import ApiError

from . import builders, registry

router = APIRouter()

Reason = Literal["keyCompromise", "cessationOfOperation", "superseded", "affiliationChanged", "unspecified"]

OCSP_RESPONSE = "application/ocsp-response"
TS_REPLY = "application/timestamp-reply"
CRL_TYPE = "application/pkix-crl"
#: larger requests are not OCSP or TSA queries
_MAX_BODY = 64 * 1024


class RevokeRequest(BaseModel):
    serial_number: str = Field(description="the certificate serial in hex", examples=["1f3a9c"])
    reason: Reason = "unspecified"


class RevocationOut(BaseModel):
    serial_number: str
    issuer: str
    revoked_at: str
    reason: str


def _nca(request: Request):
    return request.app.state.nca


def _validity(request: Request) -> timedelta:
    return timedelta(seconds=_nca(request).settings.nca_validity_seconds)


@router.post("/api/v1/revocations", tags=["registry"], status_code=201, response_model=RevocationOut,
             summary="Revoke a certificate of the issuing CA")
async def revoke(body: RevokeRequest, request: Request, response: Response) -> dict:
    """Adds the serial to the registry (201); revoking an already revoked serial returns the
    first record (200). VALIDATION_ERROR when the serial is not hex."""
    nca = _nca(request)
    try:
        registry.normalize_serial(body.serial_number)
    except ValueError:
        raise ApiError("VALIDATION_ERROR", detail="serial_number must be hex") from None
    async with nca.db.session() as s:
        row, created = await registry.revoke(s, body.serial_number, nca.ca.issuing_cert.subject.rfc4514_string(),
                                             body.reason)
    if not created:
        response.status_code = 200
    return registry.to_dict(row)


@router.get("/api/v1/revocations", tags=["registry"], response_model=list[RevocationOut],
            summary="The revoked certificates")
async def list_revocations(request: Request) -> list[dict]:
    async with _nca(request).db.session() as s:
        return [registry.to_dict(r) for r in await registry.all_revocations(s)]


@router.get("/crl/issuing.crl", tags=["status"], summary="The issuing CA's CRL (DER)")
async def crl(request: Request) -> Response:
    """A fresh CRL on every call, nextUpdate one hour later (``nca_validity_seconds``)."""
    nca = _nca(request)
    async with nca.db.session() as s:
        entries = [registry.to_entry(r) for r in await registry.all_revocations(s)]
    der = builders.build_crl(nca.ca, entries, validity=_validity(request))
    return Response(der, media_type=CRL_TYPE)


@router.get("/cert/issuing.cer", tags=["status"], summary="The issuing CA certificate (DER), AIA caIssuers")
async def issuing_cert(request: Request) -> Response:
    return Response(_nca(request).ca.issuing_cert.public_bytes(serialization.Encoding.DER),
                    media_type="application/pkix-cert")


async def _ocsp(request: Request, der: bytes) -> Response:
    nca = _nca(request)
    try:
        req = builders.parse_ocsp_request(nca.ca, der)
    except builders.OcspRequestError as exc:
        return Response(builders.ocsp_error_response(exc.status), media_type=OCSP_RESPONSE)
    async with nca.db.session() as s:
        revoked = await registry.lookup(s, req.serial_number)
    der = builders.build_ocsp_response(nca.ca, req, revoked, validity=_validity(request))
    return Response(der, media_type=OCSP_RESPONSE)


@router.post("/ocsp", tags=["status"], summary="OCSP responder (RFC 6960), POST")
async def ocsp_post(request: Request) -> Response:
    """``application/ocsp-request`` → ``application/ocsp-response``: good / revoked, signed by the
    issuing CA; malformedRequest or unauthorized (another issuer) otherwise."""
    return await _ocsp(request, (await request.body())[:_MAX_BODY])


@router.get("/ocsp/{encoded:path}", tags=["status"], summary="OCSP responder (RFC 6960), GET")
async def ocsp_get(encoded: str, request: Request) -> Response:
    """The DER request base64-encoded (URL-encoded) in the path, RFC 6960 appendix A.1."""
    try:
        url_safe = "-" in encoded or "_" in encoded
        der = base64.b64decode(encoded + "=" * (-len(encoded) % 4), altchars=b"-_" if url_safe else None)
    except (binascii.Error, ValueError):
        der = b""
    return await _ocsp(request, der)


@router.post("/tsa", tags=["time"], summary="Time-stamping (RFC 3161)")
async def tsa(request: Request) -> Response:
    """``application/timestamp-query`` → ``application/timestamp-reply``; TSTInfo policy
    1.2.398.3.3.2.6, random 63-bit serial, the nonce echoed, the TSA certificate when certReq."""
    body = (await request.body())[:_MAX_BODY]
    reply = builders.build_timestamp_reply(_nca(request).tsa, body, serial=secrets.randbits(63) + 1)
    return Response(reply, media_type=TS_REPLY)
