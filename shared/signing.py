"""What a service holds to sign and to verify: its own key, and the trust anchors."""
from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from shared.pki.cms import VerifyReport, sign_detached, verify_detached
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
    revocation check (OCSP with CRL fallback, fail closed) every verification goes through."""

    roots: list[x509.Certificate]
    intermediates: list[x509.Certificate] = field(default_factory=list)
    revocation: RevocationChecker | None = None

    @classmethod
    def from_pki_dir(cls, pki_dir: Path, *, check_revocation: bool = True) -> "TrustStore":
        roots = x509.load_pem_x509_certificates((pki_dir / "ca" / "root.pem").read_bytes())
        inter_file = pki_dir / "ca" / "issuing.pem"
        inter = x509.load_pem_x509_certificates(inter_file.read_bytes()) if inter_file.exists() else []
        return cls(roots=roots, intermediates=inter, revocation=RevocationChecker(roots) if check_revocation else None)

    def verify(self, signature: str | bytes, data: bytes, *, usage: str | None = "sign") -> VerifyReport:
        """Raises ``SignatureError`` (with an ``ECP_*`` code) unless the signature is good."""
        return verify_detached(signature, data, self.roots, intermediates=self.intermediates, usage=usage,
                               revocation_checker=self.revocation)
