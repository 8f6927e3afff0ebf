"""НУЦ — the status and time services of the national CA: revocation registry, CRL, OCSP, TSA."""
from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from shared.app import configure_logging, create_app
from shared.db import Database
from shared.pki.ca import DevCA

from .builders import TimeStampAuthority, load_or_create_tsa
from .router import router
from .settings import NcaSettings


@dataclass
class Nca:
    settings: NcaSettings
    db: Database
    ca: DevCA
    tsa: TimeStampAuthority


def build(settings: NcaSettings | None = None) -> Nca:
    """The development CA (``pki_dir/ca``), the TSA (``pki_dir/nca/tsa``) and the database."""
    settings = settings or NcaSettings()
    ca = DevCA.load_or_create(settings.pki_dir / "ca")
    return Nca(
        settings=settings,
        db=Database(settings.database_url("nca")),
        ca=ca,
        tsa=load_or_create_tsa(ca, settings.pki_dir / "nca" / "tsa"),
    )


@asynccontextmanager
async def lifespan(app):
    nca = build()
    configure_logging(nca.settings.log_level)
    app.state.nca = nca
    app.state.health_checks = {"database": nca.db.ping, "ca_key": _ca_key}
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
    title="НУЦ — status and time services (egov-sim)",
    description="The development national CA's revocation registry, CRL (RFC 5280), OCSP responder "
    "(RFC 6960) and time-stamping authority (RFC 3161).",
    lifespan=lifespan,
)
app.include_router(router)
