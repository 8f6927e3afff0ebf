"""What the bootstrap puts into the nca database: the CA operator's password hash, and every
certificate the bootstrap issued directly (systems, demo people, the TSA), so that they can be
revoked by serial like the ones issued through the API."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from cryptography import x509
from sqlalchemy.ext.asyncio import AsyncSession

from shared.pki.ca import DevCA

from . import operators, registry
from .issuance import profile_of


def issued_files(pki_dir: Path, ca: DevCA) -> list[x509.Certificate]:
    """The certificates of ``ca`` the bootstrap keeps as files under ``pki_dir`` (systems, demo
    people, the TSA); files of another CA or that do not parse are left alone."""
    pki_dir = Path(pki_dir)
    paths = [*sorted(pki_dir.glob("systems/*/cert.pem")), *sorted(pki_dir.glob("demo/*/*/cert.pem")),
             pki_dir / "nca" / "tsa" / "cert.pem"]
    certs = []
    for path in paths:
        try:
            cert = x509.load_pem_x509_certificate(path.read_bytes())
        except (OSError, ValueError):
            continue
        if ca.issued(cert):
            certs.append(cert)
    return certs


async def seed(session: AsyncSession, operator_password: str, certificates: Iterable[x509.Certificate]) -> int:
    """Store the operator's hash and record the certificates not recorded yet; returns how many were new."""
    await operators.seed(session, operator_password)
    known = await registry.recorded_serials(session)
    new = 0
    for cert in certificates:
        if registry.normalize_serial(cert.serial_number) not in known:
            await registry.record_certificate(session, cert, profile_of(cert))
            new += 1
    return new
