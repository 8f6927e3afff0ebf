"""НУЦ — the development national CA: issuance and revocation by the CA operator, the
revocation list, CRL, OCSP and TSA."""
from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

import structlog

from shared.app import configure_logging, create_app
from shared.db import Database
from shared.pki.ca import DevCA, NoCA

from . import registry
from .builders import TimeStampAuthority, load_or_create_tsa
from .operators import Authenticator
from .router import router
from .settings import NcaSettings

log = structlog.get_logger("nca")


@dataclass
class Nca:
    settings: NcaSettings
    db: Database
    ca: DevCA
    tsa: TimeStampAuthority
    operators: Authenticator


def build(settings: NcaSettings | None = None) -> Nca:
    """The development CA (``pki_dir/ca``, made by the bootstrap: the nca never creates one),
    the TSA (``pki_dir/nca/tsa``) and the database."""
    settings = settings or NcaSettings()
    try:
        ca = DevCA.load(settings.pki_dir / "ca", base_url=settings.nca_url)
    except NoCA:
        raise RuntimeError(f"no НУЦ in {settings.data_dir.resolve()}: run `egov up` (the bootstrap) first "
                           "or set EGOV_DATA_DIR") from None
    db = settings.database("nca")
    return Nca(
        settings=settings,
        db=db,
        ca=ca,
        tsa=load_or_create_tsa(ca, settings.pki_dir / "nca" / "tsa"),
        operators=Authenticator(db, max_failed=settings.nca_max_failed_logins,
                                lockout_seconds=settings.nca_lockout_seconds),
    )


async def record_tsa(nca: Nca) -> None:
    """The TSA certificate is one the CA issued: record it like the others (best effort)."""
    try:
        async with nca.db.session() as s:
            await registry.record_certificate(s, nca.tsa.cert, "tsa")
    except Exception as exc:
        log.warning("could not record the TSA certificate", error=str(exc)[:200])


@asynccontextmanager
async def lifespan(app):
    nca = build()
    configure_logging(nca.settings.log_level)
    app.state.nca = nca
    app.state.health_checks = {"database": nca.db.ping, "ca_key": _ca_key}
    await record_tsa(nca)
    try:
        yield
    finally:
        await nca.db.dispose()


async def _ca_key() -> None:
    """The issuing CA key signs, and its signature verifies with the issuing certificate."""
    ca = app.state.nca.ca
    signature = ca.issuing_key.sign(b"health", padding.PKCS1v15(), hashes.SHA256())
    ca.issuing_cert.public_key().verify(signature, b"health", padding.PKCS1v15(), hashes.SHA256())


app = create_app(
    "nca",
    title="НУЦ — the development national CA (egov-sim)",
    description="Issuance (PKCS#10 → certificate) and revocation for the authenticated CA operator "
    "(HTTP Basic, `nca-operator`, password in `<data dir>/secrets/nca-operator.password`); the public "
    "revocation list, CRL (RFC 5280), OCSP responder (RFC 6960), time-stamping authority (RFC 3161) "
    "and CA certificate. See docs/nca.md.",
    lifespan=lifespan,
)
app.include_router(router)
