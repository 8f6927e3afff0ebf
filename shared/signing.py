"""What a service holds to sign and to verify: its own key, and the trust anchors."""
from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from shared import telemetry
from shared.pki.cms import SignatureError, VerifyCache, VerifyReport, sign_detached, verify_detached
from shared.pki.revocation import RevocationChecker


@dataclass
class Signer:
    """A signing key with its certificate (and the chain to include in each CMS), loaded once."""

    key_pem: bytes
    cert_pem: bytes
    chain_pem: bytes | None = None

    def __post_init__(self) -> None:
        self._key = serialization.load_pem_private_key(self.key_pem, password=None)
        self._cert = x509.load_pem_x509_certificate(self.cert_pem)
        self._chain = x509.load_pem_x509_certificates(self.chain_pem) if self.chain_pem else []

    @classmethod
    def from_dir(cls, directory: Path) -> "Signer":
        chain = directory / "chain.pem"
        return cls(
            key_pem=(directory / "key.pem").read_bytes(),
            cert_pem=(directory / "cert.pem").read_bytes(),
            chain_pem=chain.read_bytes() if chain.exists() else None,
        )

    def sign(self, data: bytes) -> str:
        """Base64 DER CMS SignedData, detached, over ``data``."""
        return base64.b64encode(sign_detached(data, self._key, self._cert, self._chain)).decode()


@dataclass
class TrustStore:
    """The trust anchors (development НУЦ roots), known intermediates, and — when given — the
    revocation check (OCSP with CRL fallback, fail closed) every verification goes through.

    ``await verify(...)`` never blocks the event loop: the CMS and chain work runs in a worker
    thread, the revocation check over ``httpx.AsyncClient``. Call it before opening a database
    transaction, so that a slow НУЦ holds no lock. ``verify_sync`` is for the command line."""

    roots: list[x509.Certificate]
    intermediates: list[x509.Certificate] = field(default_factory=list)
    revocation: RevocationChecker | None = None
    #: certificates parsed and chains built once (see ``shared.pki.cms.VerifyCache``)
    cache: VerifyCache = field(default_factory=VerifyCache)

    @classmethod
    def from_pki_dir(cls, pki_dir: Path, *, check_revocation: bool = True,
                     freshness_seconds: float = 300) -> "TrustStore":
        roots = x509.load_pem_x509_certificates((pki_dir / "ca" / "root.pem").read_bytes())
        inter_file = pki_dir / "ca" / "issuing.pem"
        inter = x509.load_pem_x509_certificates(inter_file.read_bytes()) if inter_file.exists() else []
        checker = RevocationChecker(roots, cache_seconds=freshness_seconds) if check_revocation else None
        return cls(roots=roots, intermediates=inter, revocation=checker)

    async def verify(self, signature: str | bytes, data: bytes, *, usage: str | None = "sign") -> VerifyReport:
        """Raises ``SignatureError`` (with an ``ECP_*`` code) unless the signature is good; the
        retryable ``ECP_REVOCATION_UNKNOWN`` when the НУЦ cannot be asked."""
        try:
            report = await asyncio.to_thread(verify_detached, signature, data, self.roots,
                                             intermediates=self.intermediates, usage=usage, cache=self.cache)
            if self.revocation is not None:
                for signer in report.signers:
                    signer.revocations = await self.revocation.check(signer.certificate, signer.chain[1])
        except SignatureError as exc:
            telemetry.SIGNATURES.labels(exc.code).inc()
            raise
        telemetry.SIGNATURES.labels("ok").inc()
        return report

    def verify_sync(self, signature: str | bytes, data: bytes, *, usage: str | None = "sign") -> VerifyReport:
        """The same check for synchronous callers (the command line)."""
        return verify_detached(signature, data, self.roots, intermediates=self.intermediates, usage=usage,
                               revocation_checker=self.revocation, cache=self.cache)

    async def aclose(self) -> None:
        if self.revocation is not None:
            await self.revocation.aclose()
