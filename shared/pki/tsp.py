"""RFC 3161 time-stamping, the client side: ask the НУЦ's TSA for a token, read the reply,
check a token, attach one to a CMS signature as the unsigned attribute
signatureTimeStampToken (RFC 3161 appendix A).

A token over a signature value proves the signature existed at ``genTime``: the verifier then
checks the signer's certificate at that time as well as now. The gateway's message log uses
the same functions to time-stamp its seals.
"""
from __future__ import annotations

import hashlib
import secrets
from typing import Iterable, Sequence

import httpx
from asn1crypto import cms as acms
from asn1crypto import core as acore
from asn1crypto import tsp as atsp
from cryptography import x509

from shared import telemetry

from . import cms


class TimestampError(ValueError):
    """The TSA's reply is not a granted time-stamp for what was asked."""


def query(digest: bytes) -> tuple[bytes, int]:
    """A DER TimeStampReq for a SHA-256 ``digest`` (certReq, random nonce), and the nonce."""
    nonce = secrets.randbits(63) + 1
    req = atsp.TimeStampReq({
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": digest},
        "nonce": nonce,
        "cert_req": True,
    })
    return req.dump(), nonce


def tst_info(token: acms.ContentInfo) -> atsp.TSTInfo:
    if token["content_type"].native != "signed_data":
        raise TimestampError("the time-stamp token is not SignedData")
    eci = token["content"]["encap_content_info"]
    if eci["content_type"].native != "tst_info":
        raise TimestampError("the time-stamp token does not hold a TSTInfo")
    return atsp.TSTInfo.load(eci["content"].contents)  # explicit: a token nested in a CMS attribute parses generically


def token_from_reply(reply_der: bytes, digest: bytes, nonce: int | None = None) -> bytes:
    """The DER TimeStampToken of a granted reply for ``digest``; raises TimestampError otherwise."""
    try:
        reply = atsp.TimeStampResp.load(reply_der)
        status = reply["status"]["status"].native
    except Exception as exc:
        raise TimestampError(f"not a TimeStampResp: {exc}") from None
    if status not in ("granted", "granted_with_mods"):
        text = reply["status"]["status_string"].native
        raise TimestampError(f"time-stamp refused: {status} {text or ''}".strip())
    token = reply["time_stamp_token"]
    tst = tst_info(token)
    if tst["message_imprint"]["hashed_message"].native != digest:
        raise TimestampError("the time-stamp's message imprint is not the digest sent")
    if nonce is not None and tst["nonce"].native != nonce:
        raise TimestampError("the time-stamp's nonce is not the one sent")
    return token.dump()


def timestamp_response(token_der: bytes) -> bytes:
    """A granted DER TimeStampResp around a stored token (what ``openssl ts -verify -in`` reads)."""
    token = acms.ContentInfo.load(token_der)
    return atsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump()


def request_token(tsa_url: str, data: bytes, *, timeout: float = 5.0) -> bytes:
    """A TimeStampToken (DER) over SHA-256(data) from the TSA at ``tsa_url`` (synchronous)."""
    digest = hashlib.sha256(data).digest()
    der, nonce = query(digest)
    r = httpx.post(tsa_url, content=der, timeout=timeout,
                   headers={"Content-Type": "application/timestamp-query", **telemetry.trace_headers()})
    r.raise_for_status()
    return token_from_reply(r.content, digest, nonce)


def verify_token(token: acms.ContentInfo | bytes, trust_roots: Sequence[x509.Certificate],
                 intermediates: Iterable[x509.Certificate] = ()) -> tuple[atsp.TSTInfo, x509.Certificate]:
    """The TSA's signature over TSTInfo, its chain to the roots (valid at genTime) and its
    timeStamping purpose. Returns (TSTInfo, TSA certificate); the caller checks the imprint.
    Raises ``SignatureError`` (``ECP_MALFORMED``, ``ECP_BAD_SIGNATURE``, ``ECP_UNTRUSTED``, …)."""
    try:
        if isinstance(token, bytes):
            token = acms.ContentInfo.load(token, strict=True)
        tst = tst_info(token)
        signed = token["content"]
        tst_bytes = signed["encap_content_info"]["content"].contents
        embedded = cms._embedded_certs(signed)
        si, tsa_cert = cms._find_signer(signed["signer_infos"][0], embedded)
    except cms.SignatureError:
        raise
    except Exception as exc:
        raise cms.SignatureError("ECP_MALFORMED", f"time-stamp token: {exc}") from None
    cms._check_signature(si, tsa_cert, tst_bytes)
    chain = cms._build_chain(tsa_cert, [c for _, c in embedded] + list(intermediates), trust_roots)
    cms._check_validity(chain, tst["gen_time"].native)
    try:
        eku = tsa_cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        eku = []
    if x509.oid.ExtendedKeyUsageOID.TIME_STAMPING not in eku:
        raise cms.SignatureError("ECP_BAD_SIGNATURE", "the token's signer is not a time-stamping authority")
    return tst, tsa_cert


def signature_values(signature_der: bytes) -> list[bytes]:
    return [si["signature"].native for si in acms.ContentInfo.load(signature_der)["content"]["signer_infos"]]


def attach(signature_der: bytes, token_der: bytes, signer_index: int = 0) -> bytes:
    """The CMS with ``token_der`` added to the signer's unsigned attributes."""
    info = acms.ContentInfo.load(signature_der)
    si = info["content"]["signer_infos"][signer_index]
    attrs = [] if isinstance(si["unsigned_attrs"], acore.Void) else list(si["unsigned_attrs"])
    attrs.append(acms.CMSAttribute({"type": "signature_time_stamp_token",
                                    "values": [acms.ContentInfo.load(token_der)]}))
    si["unsigned_attrs"] = acms.CMSAttributes(attrs)
    return info.dump()  # asn1crypto re-encodes the mutated parts (force=True would re-encode all, slowly)


def check_token(token: acms.ContentInfo, signature_value: bytes, trust_roots: Sequence[x509.Certificate],
                intermediates: Iterable[x509.Certificate] = ()) -> dict:
    """A signatureTimeStampToken: ``verify_token`` plus its imprint over ``signature_value``.
    Returns the report part ``{genTime, policy, tsa, hash}``."""
    tst, tsa_cert = verify_token(token, trust_roots, intermediates)
    imprint = tst["message_imprint"]
    alg = imprint["hash_algorithm"]["algorithm"].native
    if alg not in cms._HASHES or cms._HASHES[alg][0](signature_value).digest() != imprint["hashed_message"].native:
        raise cms.SignatureError("ECP_BAD_SIGNATURE", "the time-stamp token is over other data")
    return {"genTime": tst["gen_time"].native.isoformat(), "policy": tst["policy"].native,
            "tsa": tsa_cert.subject.rfc4514_string(), "hash": imprint["hashed_message"].native.hex()}
