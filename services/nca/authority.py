"""What the НУЦ does as a certificate authority — issue and revoke — on a database session.

The API (``router.py``, for an authenticated CA operator) and the offline ``egov pki``
(``cli.py``, for whoever holds the CA key files) both call these, so both validate alike and
record alike: every issued certificate is recorded (serial, subject, dates, DER), and only a
certificate of the issuing CA, or the serial of a recorded one, can be revoked.
"""
from __future__ import annotations

import base64
import binascii

from cryptography import x509
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import ApiError
from shared.pki.ca import DevCA

from . import issuance, registry
from .models import Certificate, Revocation

#: larger input is not a certificate
MAX_CERTIFICATE = 64 * 1024


async def issue(session: AsyncSession, ca: DevCA, req: issuance.IssueRequest, *,
                max_days: int) -> x509.Certificate:
    """Check ``req``, sign the certificate for the CSR's key and record it."""
    cert = issuance.certify(ca, req, max_days=max_days)
    await registry.record_certificate(session, cert, req.profile)
    return cert


def load_certificate(data: str | bytes) -> x509.Certificate:
    """A certificate given as PEM, DER, or base64 DER; CERTIFICATE_INVALID when it is none of them."""
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_CERTIFICATE:
        raise ApiError("CERTIFICATE_INVALID", detail="too large for a certificate")
    try:
        if b"-----BEGIN" in raw:
            return x509.load_pem_x509_certificate(raw)
        try:
            return x509.load_der_x509_certificate(raw)
        except ValueError:
            return x509.load_der_x509_certificate(base64.b64decode(raw, validate=False))
    except (ValueError, binascii.Error) as exc:
        raise ApiError("CERTIFICATE_INVALID", detail=f"not a certificate (PEM, DER or base64 DER): {exc}"[:300]) from None


def check_issued(ca: DevCA, cert: x509.Certificate) -> None:
    """CERTIFICATE_INVALID unless ``cert`` was signed by the development CA's issuing key."""
    if not ca.issued(cert):
        raise ApiError("CERTIFICATE_INVALID",
                       detail=f"not issued by this CA's issuing key ({ca.issuing_cert.subject.rfc4514_string()})")


async def revoke_certificate(session: AsyncSession, ca: DevCA, cert: x509.Certificate,
                             reason: str) -> tuple[Revocation, bool]:
    """Revoke ``cert``, which must be the issuing CA's; it is recorded if it was not yet."""
    check_issued(ca, cert)
    try:
        await registry.record_certificate(session, cert, issuance.profile_of(cert))
    except ValueError as exc:  # a serial no certificate of this CA can have
        raise ApiError("CERTIFICATE_INVALID", detail=str(exc)) from None
    return await registry.revoke(session, cert.serial_number, ca.issuing_cert.subject.rfc4514_string(), reason)


async def revoke_serial(session: AsyncSession, ca: DevCA, serial: str | int,
                        reason: str) -> tuple[Revocation, bool]:
    """Revoke the recorded certificate of ``serial``: VALIDATION_ERROR for a serial that is not
    one (hex, positive, at most 20 octets), CERTIFICATE_NOT_FOUND for one the CA never recorded."""
    try:
        key = registry.normalize_serial(serial)
    except ValueError as exc:
        raise ApiError("VALIDATION_ERROR", detail=f"serial_number: {exc}") from None
    row: Certificate | None = await registry.find_certificate(session, key)
    if row is None:
        raise ApiError("CERTIFICATE_NOT_FOUND", detail=f"no certificate with serial {key} was issued by this CA")
    return await registry.revoke(session, key, ca.issuing_cert.subject.rfc4514_string(), reason)
