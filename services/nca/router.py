"""HTTP endpoints of the НУЦ: issuance and revocation (the CA operator only), the revocation
list, the CRL, OCSP, the TSA and the CA certificate (public, as they are in reality)."""
from __future__ import annotations

import base64
import binascii
import secrets
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Literal

import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp as x509_ocsp
from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.exceptions import HTTPException

from shared.app import JCSRoute
from shared.errors import CATALOGUE, ApiError

from . import authority, builders, registry
from .issuance import IssueRequest

router = APIRouter(route_class=JCSRoute)
log = structlog.get_logger("nca")

Reason = Literal["keyCompromise", "cessationOfOperation", "superseded", "affiliationChanged", "unspecified"]

OCSP_RESPONSE = "application/ocsp-response"
TS_REPLY = "application/timestamp-reply"
CRL_TYPE = "application/pkix-crl"
#: larger requests are not OCSP or TSA queries
_MAX_BODY = 64 * 1024


# --- the error body, for the OpenAPI ------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str
    message_ru: str
    message_kk: str
    step: str | None = None
    trace_id: str | None = None
    detail: str | None = Field(None, description="which field is wrong and why (issuance, revocation)")


class ErrorBody(BaseModel):
    """The one error body of every service (``shared/errors.py``)."""

    error: ErrorDetail


def _errors(*codes: str) -> dict:
    """OpenAPI ``responses`` for these catalogue codes, grouped by HTTP status."""
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(CATALOGUE[code].status, []).append(code)
    return {status: {"model": ErrorBody, "description": " | ".join(
        f"`{c}` — {CATALOGUE[c].message_ru}" for c in group)} for status, group in sorted(by_status.items())}


# --- the CA operator --------------------------------------------------------------------------


class _OperatorBasic(HTTPBasic):
    """HTTP Basic; malformed credentials count as none (401 CA_AUTH_FAILED, not a bare 401)."""

    async def __call__(self, request: Request) -> HTTPBasicCredentials | None:  # type: ignore[override]
        try:
            return await super().__call__(request)
        except HTTPException:
            return None


_basic = _OperatorBasic(auto_error=False, realm="egov-sim nca", scheme_name="CaOperator",
                        description="The CA operator: user `nca-operator`, password in "
                                    "`<data dir>/secrets/nca-operator.password` (made by `egov up`).")


async def ca_operator(request: Request, creds: HTTPBasicCredentials | None = Depends(_basic)) -> str:
    """The authenticated CA operator's name; 401 CA_AUTH_FAILED, 429 CA_AUTH_LOCKED otherwise."""
    auth = _nca(request).operators
    if creds is None:
        return await auth.authenticate(None, None)
    return await auth.authenticate(creds.username, creds.password)


_OPERATOR_ERRORS = ("CA_AUTH_FAILED", "CA_AUTH_LOCKED")


def _nca(request: Request):
    return request.app.state.nca


@contextmanager
def _detailed():
    """Refusals of the operator's own input carry their ``detail`` in the body (which field is
    wrong), so that the operator and ``egov pki`` can say it in one line."""
    try:
        yield
    except ApiError as exc:
        if exc.detail:
            exc.extra.setdefault("detail", exc.detail)
        raise


def _validity(request: Request) -> timedelta:
    return timedelta(seconds=_nca(request).settings.nca_validity_seconds)


# --- issuance ---------------------------------------------------------------------------------


class CertificateOut(BaseModel):
    serial_number: str = Field(description="lower-case hex, no leading zeros")
    subject: str = Field(description="RFC 4514")
    profile: str
    not_before: datetime
    not_after: datetime
    certificate: str = Field(description="PEM")
    chain: str = Field(description="PEM: the issuing CA, then the root")


@router.post("/api/v1/certificates", tags=["issuance"], status_code=201, response_model=CertificateOut,
             summary="Issue a certificate for a PKCS#10 request (CA operator)",
             responses=_errors(*_OPERATOR_ERRORS, "VALIDATION_ERROR", "CSR_INVALID", "IIN_BIN_INVALID",
                               "CERT_PROFILE_INVALID"))
async def issue(body: IssueRequest, request: Request, operator: str = Depends(ca_operator)) -> CertificateOut:
    """Signs a certificate for the key of ``csr`` (the key never leaves the requester; the CSR's
    own subject is ignored) with the holder's data of ``profile``, and records it (serial,
    subject, dates, DER), so that it can later be revoked by serial.

    * **individual**: `iin`, `full_name`; role individual; policy 1.2.398.3.3.2.3 (SIGN) / .2.4 (AUTH).
    * **employee**: `iin`, `bin`, `organization`, `full_name`, `roles` (first_head or `head`, sign,
      sign_financial, hr, employee); role legal_entity implied; policy .2.1 (SIGN) / .2.4 (AUTH).
    * **system**: `system_id`; clientAuth + emailProtection, usage sign only.

    Validity: by default from now for one year; at most `nca_max_validity_days` (1096) days, from
    2000 on, never past the issuing CA's expiry. A field that does not belong to the profile is
    refused. Keys: RSA 2048–8192 (e = 65537) or EC P-256 / P-384.
    """
    nca = _nca(request)
    with _detailed():
        async with nca.db.session() as s:
            cert = await authority.issue(s, nca.ca, body, max_days=nca.settings.nca_max_validity_days)
    serial = registry.normalize_serial(cert.serial_number)
    log.info("certificate issued", operator=operator, serial=serial, profile=body.profile,
             subject=cert.subject.rfc4514_string())
    return CertificateOut(serial_number=serial, subject=cert.subject.rfc4514_string(), profile=body.profile,
                          not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
                          certificate=cert.public_bytes(serialization.Encoding.PEM).decode(),
                          chain=nca.ca.chain_pem().decode())


# --- revocation -------------------------------------------------------------------------------


class RevokeRequest(BaseModel):
    """Exactly one of ``certificate`` and ``serial_number``."""

    model_config = ConfigDict(extra="forbid")

    certificate: str | None = Field(None, max_length=authority.MAX_CERTIFICATE,
                                    description="the certificate to revoke: PEM, or base64 DER")
    serial_number: str | None = Field(None, max_length=128, examples=["1f3a9c"],
                                      description="the serial of a certificate this CA issued, hex")
    reason: Reason = "unspecified"

    @model_validator(mode="after")
    def _one_of(self):
        if (self.certificate is None) == (self.serial_number is None):
            raise ValueError("give exactly one of certificate and serial_number")
        return self


class RevocationOut(BaseModel):
    serial_number: str
    issuer: str
    revoked_at: str
    reason: str


@router.post("/api/v1/revocations", tags=["revocation"], status_code=201, response_model=RevocationOut,
             summary="Revoke a certificate of the issuing CA (CA operator)",
             responses={200: {"model": RevocationOut, "description": "already revoked: the first record"},
                        **_errors(*_OPERATOR_ERRORS, "VALIDATION_ERROR", "CERTIFICATE_INVALID",
                                  "CERTIFICATE_NOT_FOUND")})
async def revoke(body: RevokeRequest, request: Request, response: Response,
                 operator: str = Depends(ca_operator)) -> dict:
    """By the certificate itself (it must verify with the issuing CA's key; it is recorded if it
    was not) or by the serial of a certificate the CA recorded. A serial is hex for a positive
    integer of at most 20 octets (RFC 5280 §4.1.2.2): VALIDATION_ERROR otherwise;
    CERTIFICATE_NOT_FOUND for a serial the CA never issued. 201 with the new record; revoking an
    already revoked certificate returns the first record (200). OCSP and the CRL answer
    `revoked` from the next request on."""
    nca = _nca(request)
    with _detailed():
        async with nca.db.session() as s:
            if body.certificate is not None:
                cert = authority.load_certificate(body.certificate)
                row, created = await authority.revoke_certificate(s, nca.ca, cert, body.reason)
            else:
                row, created = await authority.revoke_serial(s, nca.ca, body.serial_number, body.reason)
            out = registry.to_dict(row)
    log.info("certificate revoked", operator=operator, serial=out["serial_number"], reason=out["reason"],
             created=created)
    if not created:
        response.status_code = 200
    return out


@router.get("/api/v1/revocations", tags=["revocation"], response_model=list[RevocationOut],
            summary="The revoked certificates (public)")
async def list_revocations(request: Request) -> list[dict]:
    async with _nca(request).db.session() as s:
        return [registry.to_dict(r) for r in await registry.all_revocations(s)]


# --- status services (public) -----------------------------------------------------------------


@router.get("/crl/issuing.crl", tags=["status"], summary="The issuing CA's CRL (DER)")
async def crl(request: Request) -> Response:
    """A fresh CRL on every call, nextUpdate one hour later (``nca_validity_seconds``). A registry
    row that cannot be a revocation of this CA is left out (and logged), never a failure."""
    nca = _nca(request)
    async with nca.db.session() as s:
        entries = await registry.revocation_entries(s)
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
    try:
        der = builders.build_ocsp_response(nca.ca, req, revoked, validity=_validity(request))
    except (ValueError, TypeError) as exc:  # e.g. a nonce the builder refuses: an OCSP answer all the same
        log.warning("OCSP request refused", error=str(exc)[:200])
        der = builders.ocsp_error_response(x509_ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
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
