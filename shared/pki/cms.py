"""Detached CMS SignedData (RFC 5652) over raw bytes: make one, check one.

:func:`sign_detached` makes what ``openssl cms -sign -binary`` makes;
:func:`verify_detached` checks a signature step by step and raises
:class:`SignatureError` with the catalogue code (``ECP_*``) of the first failed step.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable, Sequence

from asn1crypto import cms as acms
from asn1crypto import core as acore
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7

from shared.errors import ApiError

from .certinfo import CertInfo, dn_string

#: digest algorithms accepted in SignerInfo
_HASHES: dict[str, tuple[Callable, type[hashes.HashAlgorithm]]] = {
    "sha256": (hashlib.sha256, hashes.SHA256),
    "sha384": (hashlib.sha384, hashes.SHA384),
    "sha512": (hashlib.sha512, hashes.SHA512),
}
_MAX_CHAIN = 8

#: a revocation hook: (signer certificate, its issuer) -> revocation entries for the report.
#: It raises SignatureError("ECP_REVOKED" / "ECP_REVOCATION_UNKNOWN") to refuse.
RevocationChecker = Callable[[x509.Certificate, x509.Certificate], list[dict]]


class SignatureError(ApiError):
    """A signature refused at one step; ``code`` is an ``ECP_*`` code of the catalogue."""

    def __init__(self, code: str, detail: str | None = None):
        super().__init__(code, detail=detail)


# --- signing -----------------------------------------------------------------------------


def sign_detached(data: bytes, key_pem, cert_pem, extra_certs_pem=None) -> bytes:
    """A detached CMS SignedData (DER) over ``data``: SHA-256, signed attributes
    content-type / signing-time / message-digest, the signer's certificate and
    ``extra_certs_pem`` (e.g. the chain) included. RSA (PKCS#1 v1.5) or ECDSA keys.

    The key, certificate and extra certificates may be given as PEM bytes or already loaded
    (loading an RSA key checks it, which costs more than signing: a frequent signer keeps them)."""
    key = serialization.load_pem_private_key(key_pem, password=None) if isinstance(key_pem, bytes) else key_pem
    cert = x509.load_pem_x509_certificate(cert_pem) if isinstance(cert_pem, bytes) else cert_pem
    extras = x509.load_pem_x509_certificates(extra_certs_pem) if isinstance(extra_certs_pem, bytes) \
        else list(extra_certs_pem or [])
    builder = pkcs7.PKCS7SignatureBuilder().set_data(data).add_signer(cert, key, hashes.SHA256())
    signer_der = cert.public_bytes(serialization.Encoding.DER)
    for extra in extras:
        if extra.public_bytes(serialization.Encoding.DER) != signer_der:
            builder = builder.add_certificate(extra)
    options = [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary, pkcs7.PKCS7Options.NoCapabilities]
    return builder.sign(serialization.Encoding.DER, options)


# --- the report ----------------------------------------------------------------------------


@dataclass
class SignerReport:
    certificate: x509.Certificate
    info: CertInfo
    chain: list[x509.Certificate]  # signer first, trust anchor last
    signing_time: datetime | None
    sign_alg: str
    revocations: list[dict] = field(default_factory=list)
    #: the checked time-stamp token, ``{genTime, policy, tsa, hash}``, when the signer carries one
    timestamp: dict | None = None

    def to_dict(self) -> dict:
        return {
            "certificate": self.info.to_dict(),
            "signingTime": self.signing_time.isoformat() if self.signing_time else None,
            "signAlg": self.sign_alg,
            "chain": [dn_string(c.subject) for c in self.chain],
            "revocations": list(self.revocations),
            "tsp": self.timestamp,
        }


@dataclass
class VerifyReport:
    """A signature that passed every check (failures raise instead)."""

    signers: list[SignerReport]
    valid: bool = True

    @property
    def signer(self) -> CertInfo:
        return self.signers[0].info

    @property
    def signer_cert(self) -> x509.Certificate:
        return self.signers[0].certificate

    @property
    def sign_alg(self) -> str:
        return self.signers[0].sign_alg

    @property
    def revocations(self) -> list[dict]:
        return [r for s in self.signers for r in s.revocations]

    def to_dict(self) -> dict:
        """JSON-ready, shaped like NCANode's verify response (REFERENCE.md §4)."""
        return {
            "valid": self.valid,
            "signAlg": self.sign_alg,
            "signers": [s.to_dict() for s in self.signers],
            "revocations": self.revocations,
        }


# --- verification --------------------------------------------------------------------------


class VerifyCache:
    """What one relying party learns once and reuses: certificates parsed from their DER, the chain
    that was built (and verified, link by link) for a signer certificate, and its description.
    A chain's links never change, so a chain found once under the same trust anchors stands; what
    does change — validity at a moment, key usage asked for, revocation — is still checked every
    time. Bounded: it starts over when full."""

    def __init__(self, size: int = 4096):
        self.size = size
        self._certs: dict[bytes, x509.Certificate] = {}
        self._chains: dict[bytes, list[x509.Certificate]] = {}
        self._infos: dict[bytes, CertInfo] = {}

    def certificate(self, der: bytes) -> x509.Certificate:
        cert = self._certs.get(der)
        if cert is None:
            if len(self._certs) >= self.size:
                self._certs.clear()
            cert = self._certs[der] = x509.load_der_x509_certificate(der)
        return cert

    def chain(self, cert: x509.Certificate, pool, trust_roots) -> list[x509.Certificate]:
        key = _der(cert)
        chain = self._chains.get(key)
        if chain is None:
            chain = _build_chain(cert, pool, trust_roots)
            if len(self._chains) >= self.size:
                self._chains.clear()
            self._chains[key] = chain
        return chain

    def info(self, cert: x509.Certificate) -> CertInfo:
        key = _der(cert)
        info = self._infos.get(key)
        if info is None:
            if len(self._infos) >= self.size:
                self._infos.clear()
            info = self._infos[key] = CertInfo.from_certificate(cert)
        return info


def verify_detached(
    signature: bytes | str,
    data: bytes,
    trust_roots: Sequence[x509.Certificate],
    *,
    intermediates: Iterable[x509.Certificate] = (),
    at: datetime | None = None,
    usage: str | None = "sign",
    revocation_checker: RevocationChecker | None = None,
    cache: VerifyCache | None = None,
) -> VerifyReport:
    """Check a detached CMS signature (DER, base64 or PEM) over ``data``; every signer must pass.

    In order, raising :class:`SignatureError` at the first failure:

    1. it parses as SignedData with at least one signer whose certificate is inside → ``ECP_MALFORMED``;
    2. the message-digest attribute is the SHA-256/384/512 of ``data``, and the signature over the
       signed attributes (or over ``data`` when there are none) verifies with the signer's key
       (RSA PKCS#1 v1.5 or ECDSA) → ``ECP_BAD_SIGNATURE``;
    3. a chain leads from the signer through the CMS certificates and ``intermediates`` to one of
       ``trust_roots``, each link's signature verifying and each issuer a CA → ``ECP_UNTRUSTED``;
    4. every certificate of the chain is valid at ``at`` (default now) → ``ECP_EXPIRED`` /
       ``ECP_NOT_YET_VALID``;
    5. ``usage="sign"``: keyUsage has nonRepudiation; ``usage="auth"``: keyEncipherment and no
       nonRepudiation; ``None`` skips → ``ECP_WRONG_KEY_USAGE``;
    6. ``revocation_checker(signer, issuer)``, if given, returns the revocation entries of the
       report or raises (``ECP_REVOKED`` / ``ECP_REVOCATION_UNKNOWN``); without it revocation is
       not checked and ``revocations`` stays empty.

    A signer carrying a time-stamp token (unsigned attribute signatureTimeStampToken) has it
    checked (``shared.pki.tsp.check_token``) and its chain checked at the token's genTime too;
    the report shows it as ``timestamp``. A :class:`VerifyCache` (one per set of trust anchors)
    saves parsing certificates and building chains already seen.
    """
    if usage not in ("sign", "auth", None):
        raise ValueError(f"usage must be 'sign', 'auth' or None, not {usage!r}")
    at = at or datetime.now(timezone.utc)
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    signed_data = _parse(signature)
    embedded = _embedded_certs(signed_data, cache)
    signers = [_find_signer(si, embedded) for si in signed_data["signer_infos"]]
    if not signers:
        raise SignatureError("ECP_MALFORMED", "no signer")

    content = signed_data["encap_content_info"]["content"]
    if not isinstance(content, acore.Void) and content.native is not None and content.native != data:
        raise SignatureError("ECP_BAD_SIGNATURE", "the encapsulated content differs from the data")

    reports = []
    for si, cert in signers:
        signing_time, sign_alg = _check_signature(si, cert, data)
        info = cache.info(cert) if cache else CertInfo.from_certificate(cert)
        reports.append(SignerReport(cert, info, [], signing_time, sign_alg))
    pool = [c for _, c in embedded] + list(intermediates)
    for (si, _), report in zip(signers, reports):
        report.chain = (cache.chain(report.certificate, pool, trust_roots) if cache
                        else _build_chain(report.certificate, pool, trust_roots))
        token = _timestamp_token(si)
        if token is not None:
            from .tsp import check_token

            report.timestamp = check_token(token, si["signature"].native, trust_roots, intermediates)
            _check_validity(report.chain, datetime.fromisoformat(report.timestamp["genTime"]))
        _check_validity(report.chain, at)
        _check_key_usage(report.certificate, usage)
        if revocation_checker is not None:
            report.revocations = list(revocation_checker(report.certificate, report.chain[1]))
    return VerifyReport(reports)


def _timestamp_token(si) -> acms.ContentInfo | None:
    """The signatureTimeStampToken unsigned attribute of a signer, if it carries one."""
    attrs = si["unsigned_attrs"]
    if isinstance(attrs, acore.Void):
        return None
    for attr in attrs:
        if attr["type"].native == "signature_time_stamp_token":
            return attr["values"][0]
    return None


def _parse(signature: bytes | str) -> acms.SignedData:
    """DER, PEM or base64 → SignedData; ``ECP_MALFORMED`` if it is not one."""
    try:
        raw = signature.encode("ascii") if isinstance(signature, str) else bytes(signature)
        if not raw.startswith(b"\x30"):
            if raw.lstrip().startswith(b"-----BEGIN"):
                raw = b"".join(line for line in raw.splitlines() if not line.startswith(b"-----"))
            raw = base64.b64decode(b"".join(raw.split()), validate=True)
        info = acms.ContentInfo.load(raw, strict=True)
        if info["content_type"].native != "signed_data":
            raise ValueError(f"content type is {info['content_type'].native}, not signed data")
        signed_data = info["content"]
        signed_data._parse_children(recurse=True)  # parse it all now (without building .native, which is slow)
        return signed_data
    except Exception as exc:  # asn1crypto raises assorted errors on garbage
        raise SignatureError("ECP_MALFORMED", f"not a CMS SignedData: {exc}") from None


def _embedded_certs(signed_data: acms.SignedData, cache: VerifyCache | None = None
                    ) -> list[tuple[object, x509.Certificate]]:
    """The certificates carried in the CMS that ``cryptography`` can read, as (asn1crypto, cryptography)."""
    out = []
    certs = signed_data["certificates"]
    load = cache.certificate if cache else x509.load_der_x509_certificate
    for choice in [] if isinstance(certs, acore.Void) else certs:
        if choice.name != "certificate":
            continue
        try:
            out.append((choice.chosen, load(choice.chosen.dump())))
        except ValueError:
            continue
    return out


def _find_signer(si, embedded) -> tuple[object, x509.Certificate]:
    """The certificate a SignerInfo names (issuer+serial or subject key id); ``ECP_MALFORMED`` if absent."""
    sid = si["sid"]
    for asn1_cert, cert in embedded:
        if sid.name == "issuer_and_serial_number":
            issuer = sid.chosen["issuer"]
            if (asn1_cert.serial_number == sid.chosen["serial_number"].native
                    and (asn1_cert.issuer.dump() == issuer.dump() or asn1_cert.issuer == issuer)):
                return si, cert
        elif asn1_cert.key_identifier is not None and asn1_cert.key_identifier == sid.native:
            return si, cert
    raise SignatureError("ECP_MALFORMED", "the signer's certificate is not inside the CMS")


def _check_signature(si, cert: x509.Certificate, data: bytes) -> tuple[datetime | None, str]:
    """The message digest and the signature value of one signer; returns (signing time, algorithm)."""
    digest_name = si["digest_algorithm"]["algorithm"].native
    if digest_name not in _HASHES:
        raise SignatureError("ECP_BAD_SIGNATURE", f"unsupported digest algorithm {digest_name}")
    hash_fn, hash_cls = _HASHES[digest_name]

    signed_attrs = si["signed_attrs"]
    signing_time = None
    if isinstance(signed_attrs, acore.Void) or len(signed_attrs) == 0:
        to_verify = data
    else:
        attrs = {a["type"].native: a["values"] for a in signed_attrs}
        if "message_digest" not in attrs:
            raise SignatureError("ECP_MALFORMED", "no message-digest signed attribute")
        if attrs["message_digest"][0].native != hash_fn(data).digest():
            raise SignatureError("ECP_BAD_SIGNATURE", "the message digest does not match the data")
        if "signing_time" in attrs:
            signing_time = attrs["signing_time"][0].native
        # the signature covers the DER SET OF attributes, not the [0] IMPLICIT form in SignerInfo
        to_verify = b"\x31" + signed_attrs.dump()[1:]

    try:
        algo = si["signature_algorithm"].signature_algo
    except ValueError:
        algo = si["signature_algorithm"]["algorithm"].dotted
    value = si["signature"].native
    try:
        key = cert.public_key()
    except Exception as exc:  # e.g. a GOST key cryptography cannot load
        raise SignatureError("ECP_BAD_SIGNATURE", f"unsupported signer key: {exc}") from None
    hash_name = digest_name.upper()
    try:
        if algo == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPublicKey):
            key.verify(value, to_verify, padding.PKCS1v15(), hash_cls())
            return signing_time, f"{hash_name}withRSA"
        if algo == "ecdsa" and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(value, to_verify, ec.ECDSA(hash_cls()))
            return signing_time, f"{hash_name}withECDSA"
    except Exception:
        raise SignatureError("ECP_BAD_SIGNATURE", "the signature does not verify") from None
    raise SignatureError("ECP_BAD_SIGNATURE", f"unsupported signature algorithm {algo} for this key")


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except (x509.ExtensionNotFound, ValueError):
        return False


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _build_chain(cert, pool, trust_roots) -> list[x509.Certificate]:
    """signer → … → a trust root, each issuer a CA that verifiably signed the one below;
    ``ECP_UNTRUSTED`` if there is no such path."""
    roots = {_der(r) for r in trust_roots}
    candidates = list(trust_roots) + list(pool)
    chain = [cert]
    while _der(chain[-1]) not in roots:
        if len(chain) > _MAX_CHAIN:
            raise SignatureError("ECP_UNTRUSTED", "the certificate chain is too long")
        current, seen = chain[-1], {_der(c) for c in chain}
        issuer = next((c for c in candidates if _der(c) not in seen and _issued(current, c)), None)
        if issuer is None:
            raise SignatureError("ECP_UNTRUSTED", f"no trusted issuer for {dn_string(current.subject)}")
        chain.append(issuer)
    return chain


def _issued(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject or not _is_ca(issuer):
        return False
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except Exception:
        return False


def _check_validity(chain: list[x509.Certificate], at: datetime) -> None:
    """Every certificate of the chain is inside its validity window at ``at``."""
    for cert in chain:
        if at < cert.not_valid_before_utc:
            raise SignatureError("ECP_NOT_YET_VALID", f"{dn_string(cert.subject)} is valid from "
                                                      f"{cert.not_valid_before_utc.isoformat()}")
        if at > cert.not_valid_after_utc:
            raise SignatureError("ECP_EXPIRED", f"{dn_string(cert.subject)} expired "
                                                f"{cert.not_valid_after_utc.isoformat()}")


def _check_key_usage(cert: x509.Certificate, usage: str | None) -> None:
    """SIGN needs nonRepudiation; AUTH needs keyEncipherment without nonRepudiation."""
    if usage is None:
        return
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except (x509.ExtensionNotFound, ValueError):
        raise SignatureError("ECP_WRONG_KEY_USAGE", "the certificate has no key usage") from None
    if usage == "sign" and not ku.content_commitment:
        raise SignatureError("ECP_WRONG_KEY_USAGE", "not a SIGN certificate (no nonRepudiation)")
    if usage == "auth" and (ku.content_commitment or not ku.key_encipherment):
        raise SignatureError("ECP_WRONG_KEY_USAGE", "not an AUTH certificate")
