"""Revocation checking on the relying side: OCSP (RFC 6960) first, the CRL (RFC 5280) as fallback.

:class:`RevocationChecker` is the ``revocation_checker`` hook of
:func:`shared.pki.cms.verify_detached`. It is **synchronous** (``httpx.Client``, short
timeouts): call it from a worker thread (``asyncio.to_thread``) in async code if the
blocking matters. The pure parts — :func:`build_ocsp_request`, :func:`read_ocsp_response`,
:func:`read_crl` — are usable on their own.
"""
from __future__ import annotations

import asyncio
import os
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Sequence

import httpx
from asn1crypto import keys as akeys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

from shared import telemetry

from .cms import SignatureError

#: tolerated clock difference for thisUpdate / nextUpdate
CLOCK_SKEW = timedelta(minutes=5)


class Unusable(Exception):
    """An answer that cannot be relied on (unreachable, unsigned, stale, for another certificate...)."""


@dataclass(frozen=True)
class Status:
    """What one source said about one certificate."""

    status: str  # "good" | "revoked"
    by: str  # "OCSP" | "CRL"
    url: str | None = None
    revoked_at: datetime | None = None
    reason: str | None = None
    #: until when the answer may be reused (nextUpdate), if the source said
    next_update: datetime | None = None


# --- pure parts --------------------------------------------------------------------------------


def build_ocsp_request(cert: x509.Certificate, issuer: x509.Certificate, *, nonce: bool = True) -> tuple[bytes, bytes | None]:
    """A DER OCSP request for ``cert`` (CertID with SHA-1, as most responders expect) and the nonce it carries."""
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1())
    value = os.urandom(16) if nonce else None
    if value is not None:
        builder = builder.add_extension(x509.OCSPNonce(value), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER), value


def read_ocsp_response(der: bytes, cert: x509.Certificate, issuer: x509.Certificate, *,
                       nonce: bytes | None = None, now: datetime | None = None) -> Status:
    """Check an OCSP response for ``cert`` and return its status; :class:`Unusable` if it cannot be trusted.

    Checks: successful status; signed by ``issuer`` itself or by a responder certificate that
    ``issuer`` signed with the OCSPSigning EKU; exactly the CertID of ``cert``; thisUpdate not in
    the future and nextUpdate not past (±5 min); the nonce echoed when the response has one.
    ``unknown`` is unusable too.
    """
    now = now or datetime.now(timezone.utc)
    try:
        resp = ocsp.load_der_ocsp_response(der)
    except Exception as exc:
        raise Unusable(f"not an OCSP response: {exc}") from None
    if resp.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise Unusable(f"OCSP status {resp.response_status.name}")
    _check_ocsp_signature(resp, issuer)
    single = next(iter(resp.responses), None)
    if single is None or resp.serial_number != cert.serial_number:
        raise Unusable("the response is about another certificate")
    algorithm = single.hash_algorithm
    name_hash, key_hash = issuer_hashes(issuer, algorithm)
    if single.issuer_name_hash != name_hash or single.issuer_key_hash != key_hash:
        raise Unusable("the response names another issuer")
    if single.this_update_utc > now + CLOCK_SKEW:
        raise Unusable("thisUpdate is in the future")
    if single.next_update_utc is not None and single.next_update_utc < now - CLOCK_SKEW:
        raise Unusable("the response is stale (nextUpdate passed)")
    if nonce is not None:
        try:
            echoed = resp.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        except x509.ExtensionNotFound:
            echoed = None
        if echoed is not None and echoed != nonce:
            raise Unusable("the nonce does not match")
    if single.certificate_status == ocsp.OCSPCertStatus.GOOD:
        return Status("good", "OCSP", next_update=single.next_update_utc)
    if single.certificate_status == ocsp.OCSPCertStatus.REVOKED:
        reason = single.revocation_reason
        return Status("revoked", "OCSP", revoked_at=single.revocation_time_utc,
                      reason=reason.name if reason is not None else "unspecified",
                      next_update=single.next_update_utc)
    raise Unusable("the responder does not know the certificate")


def read_crl(der: bytes, cert: x509.Certificate, issuer: x509.Certificate, *,
             now: datetime | None = None) -> Status:
    """Check a CRL (DER or PEM) of ``issuer`` and look ``cert`` up in it; :class:`Unusable` if the
    CRL is not ``issuer``'s, its signature fails, or it is stale (nextUpdate passed, ±5 min)."""
    now = now or datetime.now(timezone.utc)
    try:
        crl = (x509.load_pem_x509_crl(der) if der.lstrip().startswith(b"-----BEGIN")
               else x509.load_der_x509_crl(der))
    except Exception as exc:
        raise Unusable(f"not a CRL: {exc}") from None
    if crl.issuer != issuer.subject or not crl.is_signature_valid(issuer.public_key()):
        raise Unusable("the CRL is not signed by the issuer")
    if crl.last_update_utc > now + CLOCK_SKEW:
        raise Unusable("the CRL's thisUpdate is in the future")
    if crl.next_update_utc is not None and crl.next_update_utc < now - CLOCK_SKEW:
        raise Unusable("the CRL is stale (nextUpdate passed)")
    entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
    if entry is None:
        return Status("good", "CRL", next_update=crl.next_update_utc)
    try:
        reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason.name
    except x509.ExtensionNotFound:
        reason = "unspecified"
    return Status("revoked", "CRL", revoked_at=entry.revocation_date_utc, reason=reason,
                  next_update=crl.next_update_utc)


def ocsp_urls(cert: x509.Certificate) -> list[str]:
    """The OCSP URLs of the certificate's AIA."""
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return []
    return [d.access_location.value for d in aia
            if d.access_method == AuthorityInformationAccessOID.OCSP
            and isinstance(d.access_location, x509.UniformResourceIdentifier)]


def crl_urls(cert: x509.Certificate) -> list[str]:
    """The http(s) URLs of the certificate's CRL distribution points."""
    try:
        points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return []
    return [name.value for point in points for name in (point.full_name or [])
            if isinstance(name, x509.UniformResourceIdentifier) and name.value.startswith(("http://", "https://"))]


def issuer_hashes(issuer: x509.Certificate, algorithm: hashes.HashAlgorithm) -> tuple[bytes, bytes]:
    """CertID's issuerNameHash and issuerKeyHash (RFC 6960 §4.1.1): over the issuer's DER name and
    the value of its subjectPublicKey BIT STRING."""
    spki = issuer.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    key_bits = akeys.PublicKeyInfo.load(spki)["public_key"].contents[1:]

    def digest(data: bytes) -> bytes:
        h = hashes.Hash(algorithm)
        h.update(data)
        return h.finalize()

    return digest(issuer.subject.public_bytes()), digest(key_bits)


def _verify(public_key, signature: bytes, data: bytes, hash_algorithm) -> None:
    if isinstance(public_key, rsa.RSAPublicKey):
        public_key.verify(signature, data, padding.PKCS1v15(), hash_algorithm)
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        public_key.verify(signature, data, ec.ECDSA(hash_algorithm))
    else:
        raise Unusable(f"unsupported responder key {type(public_key).__name__}")


def _check_ocsp_signature(resp: ocsp.OCSPResponse, issuer: x509.Certificate) -> None:
    """The response is signed by the issuer, or by a delegated responder the issuer certified."""
    candidates = [issuer]
    for responder in resp.certificates:
        if responder.issuer != issuer.subject:
            continue
        try:
            responder.verify_directly_issued_by(issuer)
            eku = responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except Exception:
            continue
        if ExtendedKeyUsageOID.OCSP_SIGNING in eku:
            candidates.append(responder)
    for signer in candidates:
        if resp.responder_name is not None and resp.responder_name != signer.subject:
            continue
        if resp.responder_key_hash is not None and resp.responder_key_hash != (
                x509.SubjectKeyIdentifier.from_public_key(signer.public_key()).digest):
            continue
        try:
            _verify(signer.public_key(), resp.signature, resp.tbs_response_bytes, resp.signature_hash_algorithm)
            return
        except Unusable:
            raise
        except Exception:
            continue
    raise Unusable("the OCSP response is not signed by the issuer or its responder")


# --- the checker ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Query:
    """One way to ask about a certificate: an OCSP POST or a CRL GET, and how to read the answer."""

    label: str  # "OCSP" | "CRL"
    method: str
    url: str
    content: bytes | None
    nonce: bytes | None = None

    def read(self, body: bytes, cert, issuer) -> Status:
        if self.label == "OCSP":
            status = read_ocsp_response(body, cert, issuer, nonce=self.nonce)
        else:
            status = read_crl(body, cert, issuer)
        return replace(status, url=self.url)


_OCSP_HEADERS = {"Content-Type": "application/ocsp-request"}


class RevocationChecker:
    """``await checker.check(cert, issuer)`` (services) or ``checker(cert, issuer)`` (the command
    line; the ``revocation_checker`` hook of :func:`~shared.pki.cms.verify_detached`) →
    ``[{"by", "status", "checkedAt", "url"}]``.

    Asks the OCSP URL of the certificate's AIA (``prefer="ocsp"``, the default) and falls back to
    the CRL distribution point when OCSP is unreachable or its answer unusable (``prefer="crl"``
    swaps the order). Raises ``SignatureError("ECP_REVOKED")`` for a revoked certificate and the
    retryable ``SignatureError("ECP_REVOCATION_UNKNOWN")`` when no source gives a usable answer
    (fail closed).

    ``trust_roots``: the issuer passed in must be one of them or directly issued by one (when
    called after ``verify_detached`` it already chains to them). Answers — a revocation as well —
    are cached for ``cache_seconds``, never past the source's nextUpdate. Concurrent checks of one
    certificate share one round trip. Each source gets ``timeout`` seconds.
    """

    def __init__(self, trust_roots: Sequence[x509.Certificate], *, cache_seconds: float = 300,
                 timeout: float = 3.0, prefer: str = "ocsp"):
        if prefer not in ("ocsp", "crl"):
            raise ValueError("prefer must be 'ocsp' or 'crl'")
        self.trust_roots = list(trust_roots)
        self.cache_seconds = cache_seconds
        self.timeout = timeout
        self.prefer = prefer
        self._cache: dict[tuple[bytes, int], tuple[float, Status, datetime]] = {}
        self._lock = threading.Lock()
        self._inflight: dict[tuple[bytes, int], asyncio.Future] = {}
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        #: issuers already found anchored in the trust roots (by SHA-256 fingerprint)
        self._anchored: set[bytes] = set()

    # -- the two ways in --

    def __call__(self, cert: x509.Certificate, issuer: x509.Certificate) -> list[dict]:
        key = self._key(cert, issuer)
        cached = self._cached(key)
        if cached is None:
            with telemetry.sync_http_client(timeout=self.timeout) as client:
                cached = self._store(key, self._ask(cert, issuer, lambda q: client.request(
                    q.method, q.url, content=q.content, headers=_OCSP_HEADERS if q.label == "OCSP" else None)))
        return self._entries(cert, *cached)

    async def check(self, cert: x509.Certificate, issuer: x509.Certificate) -> list[dict]:
        key = self._key(cert, issuer)
        cached = self._cached(key)
        telemetry.REVOCATION.labels("cache" if cached is not None else "nca").inc()
        if cached is None:
            pending = self._inflight.get(key)
            if pending is None:
                pending = asyncio.ensure_future(self._fetch(key, cert, issuer))
                self._inflight[key] = pending
                pending.add_done_callback(lambda _f: self._inflight.pop(key, None))
            cached = await asyncio.shield(pending)
        return self._entries(cert, *cached)

    def clear(self) -> None:
        """Forget every cached answer."""
        with self._lock:
            self._cache.clear()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- internals --

    def _key(self, cert, issuer) -> tuple[bytes, int]:
        fingerprint = issuer.fingerprint(hashes.SHA256())
        if fingerprint not in self._anchored:
            self._check_issuer(issuer)
            self._anchored.add(fingerprint)
        return fingerprint, cert.serial_number

    def _cached(self, key) -> tuple[Status, datetime] | None:
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1], hit[2]
        return None

    def _store(self, key, status: Status) -> tuple[Status, datetime]:
        checked_at = datetime.now(timezone.utc)
        ttl = self.cache_seconds
        if status.next_update is not None:
            ttl = min(ttl, (status.next_update - checked_at).total_seconds())
        if ttl > 0:
            with self._lock:
                self._cache[key] = (time.monotonic() + ttl, status, checked_at)
        return status, checked_at

    @staticmethod
    def _entries(cert, status: Status, checked_at: datetime) -> list[dict]:
        if status.status == "revoked":
            raise SignatureError(
                "ECP_REVOKED",
                f"serial {cert.serial_number:x} revoked at {status.revoked_at.isoformat() if status.revoked_at else '?'}"
                f" ({status.reason}), by {status.by}",
            )
        return [{"by": status.by, "status": status.status, "checkedAt": checked_at.isoformat(), "url": status.url}]

    def _check_issuer(self, issuer: x509.Certificate) -> None:
        for root in self.trust_roots:
            if issuer == root:
                return
            try:
                issuer.verify_directly_issued_by(root)
                return
            except Exception:
                continue
        raise SignatureError("ECP_REVOCATION_UNKNOWN", "the issuer is not anchored in the trust roots")

    def _queries(self, cert, issuer) -> list[_Query]:
        ocsp_queries = []
        urls = ocsp_urls(cert)
        if urls:
            request, nonce = build_ocsp_request(cert, issuer)
            ocsp_queries = [_Query("OCSP", "POST", url, request, nonce) for url in urls]
        crl_queries = [_Query("CRL", "GET", url, None) for url in crl_urls(cert)]
        return ocsp_queries + crl_queries if self.prefer == "ocsp" else crl_queries + ocsp_queries

    def _ask(self, cert, issuer, send) -> Status:
        """Each source in turn (``send(query)`` → an httpx response) until one answers usably."""
        problems: list[str] = []
        for q in self._queries(cert, issuer):
            try:
                r = send(q)
                r.raise_for_status()
                return q.read(r.content, cert, issuer)
            except (httpx.HTTPError, Unusable) as exc:
                problems.append(f"{q.label} {q.url}: {exc.__class__.__name__}: {exc}")
        raise SignatureError("ECP_REVOCATION_UNKNOWN", "; ".join(problems) or "no OCSP or CRL URL in the certificate")

    async def _fetch(self, key, cert, issuer) -> tuple[Status, datetime]:
        client = self._async_client()
        problems: list[str] = []
        for q in self._queries(cert, issuer):
            try:
                r = await client.request(q.method, q.url, content=q.content,
                                         headers=_OCSP_HEADERS if q.label == "OCSP" else None)
                r.raise_for_status()
                return self._store(key, q.read(r.content, cert, issuer))
            except (httpx.HTTPError, Unusable) as exc:
                problems.append(f"{q.label} {q.url}: {exc.__class__.__name__}: {exc}")
        raise SignatureError("ECP_REVOCATION_UNKNOWN", "; ".join(problems) or "no OCSP or CRL URL in the certificate")

    def _async_client(self) -> httpx.AsyncClient:
        """One pooled client per event loop (kept connections to the НУЦ)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            self._client = telemetry.http_client(timeout=self.timeout)
            self._client_loop = loop
        return self._client
