"""Command-line operations of the НУЦ, to be wired into ``egov pki`` by the CLI.

They work on the nca database directly (through the nca's models), so they work with the
service stopped; the running service sees the change on its next CRL / OCSP answer.
"""
from __future__ import annotations

import asyncio
from pathlib import Path

from cryptography import x509

from shared.db import Database
from shared.db.migrate import upgrade
from shared.pki.ca import DevCA
from shared.settings import CommonSettings

from . import registry
from .models import REASONS


def revoke(settings: CommonSettings, cert_path: Path, reason: str = "unspecified") -> dict:
    """Revoke the certificate in ``cert_path`` (PEM or DER), which the development CA must have issued.

    Migrates the nca database if needed, records the revocation (revoking twice keeps the first
    record) and returns ``{"serial_number", "issuer", "revoked_at", "reason", "created"}``.
    Raises ValueError for an unknown reason or a certificate of another CA.
    """
    if reason not in REASONS:
        raise ValueError(f"reason must be one of {', '.join(REASONS)}")
    raw = Path(cert_path).read_bytes()
    cert = x509.load_pem_x509_certificate(raw) if b"-----BEGIN" in raw else x509.load_der_x509_certificate(raw)
    ca = DevCA.load_or_create(settings.pki_dir / "ca")
    if cert.issuer != ca.issuing_cert.subject:
        raise ValueError(f"{cert_path} was not issued by the development CA ({ca.issuing_cert.subject.rfc4514_string()})")
    try:
        cert.verify_directly_issued_by(ca.issuing_cert)
    except Exception:
        raise ValueError(f"{cert_path} is not signed by the development CA's issuing key") from None
    url = settings.database_url("nca")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade("nca", url)

    async def run() -> dict:
        db = Database(url)
        try:
            async with db.session() as s:
                row, created = await registry.revoke(s, cert.serial_number, cert.issuer.rfc4514_string(), reason)
                return {**registry.to_dict(row), "created": created}
        finally:
            await db.dispose()

    return asyncio.run(run())
