"""The НУЦ's offline operations, for ``egov pki`` when the nca is not running.

Holding the CA key files is the CA operator's authority: these work on the CA files and the
nca database directly (migrating it if needed), with the same checks and records as the API
(``authority.py``); the running service sees the change on its next CRL / OCSP answer. They
never create a CA (:class:`shared.pki.ca.NoCA` when there is none) and refuse with
:class:`shared.errors.ApiError` (catalogue codes) like the API does.
"""
from __future__ import annotations

import asyncio
from pathlib import Path

from cryptography import x509

from shared.db import Database
from shared.db.migrate import upgrade
from shared.errors import ApiError
from shared.pki.ca import DevCA
from shared.settings import CommonSettings

from . import authority, registry
from .issuance import IssueRequest
from .models import REASONS
from .settings import NcaSettings


def load_ca(settings: CommonSettings) -> DevCA:
    """The development CA of ``settings``' data dir; NoCA when there is none."""
    return DevCA.load(settings.pki_dir / "ca", base_url=settings.nca_url)


def _run(settings: CommonSettings, work):
    url = settings.database_url("nca")
    upgrade("nca", url)

    async def run():
        db = Database(url)
        try:
            async with db.session() as s:
                return await work(s)
        finally:
            await db.dispose()

    return asyncio.run(run())


def issue(settings: CommonSettings, req: IssueRequest) -> x509.Certificate:
    """Check ``req``, sign the certificate with the CA files and record it in the nca database."""
    ca = load_ca(settings)
    max_days = settings.nca_max_validity_days if isinstance(settings, NcaSettings) else NcaSettings().nca_max_validity_days
    return _run(settings, lambda s: authority.issue(s, ca, req, max_days=max_days))


def revoke(settings: CommonSettings, cert_path: Path | None = None, reason: str = "unspecified", *,
           serial: str | None = None) -> dict:
    """Revoke the certificate in ``cert_path`` (PEM or DER), which the development CA must have
    issued, or the recorded certificate of ``serial``.

    Returns ``{"serial_number", "issuer", "revoked_at", "reason", "created"}`` (revoking twice keeps
    the first record). ApiError VALIDATION_ERROR (reason, serial), CERTIFICATE_INVALID (not a
    certificate of this CA), CERTIFICATE_NOT_FOUND (a serial the CA never recorded).
    """
    if reason not in REASONS:
        raise ApiError("VALIDATION_ERROR", detail=f"reason must be one of {', '.join(REASONS)}")
    if (cert_path is None) == (serial is None):
        raise ApiError("VALIDATION_ERROR", detail="give exactly one of a certificate and a serial")
    ca = load_ca(settings)
    cert = None if cert_path is None else authority.load_certificate(Path(cert_path).read_bytes())
    if cert is not None:
        authority.check_issued(ca, cert)

    async def work(s) -> dict:
        if cert is not None:
            row, created = await authority.revoke_certificate(s, ca, cert, reason)
        else:
            row, created = await authority.revoke_serial(s, ca, serial, reason)
        return {**registry.to_dict(row), "created": created}

    return _run(settings, work)
