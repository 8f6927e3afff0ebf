"""RFC 3161 time-stamp tokens: ask the НУЦ's TSA for one, attach it to a CMS signature as the
unsigned attribute signatureTimeStampToken (RFC 3161 appendix A), and check one.

A token over a signature value proves the signature existed at ``genTime``: the verifier then
checks the signer's certificate at that time as well as now.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Iterable, Sequence

import httpx
from asn1crypto import cms as acms
from asn1crypto import core as acore
from asn1crypto import tsp as atsp
from cryptography import x509

from . import cms


def request_token(tsa_url: str, data: bytes, *, timeout: float = 5.0) -> bytes:
    """A TimeStampToken (DER ContentInfo) over SHA-256(data) from the TSA at ``tsa_url``."""
    nonce = secrets.randbits(63)
    query = atsp.TimeStampReq({
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": hashlib.sha256(data).digest()},
        "nonce": nonce,
        "cert_req": True,
    })
    r = httpx.post(tsa_url, content=query.dump(), headers={"Content-Type": "application/timestamp-query"},
                   timeout=timeout)
    r.raise_for_status()
    reply = atsp.TimeStampResp.load(r.content)
    if reply["status"]["status"].native not in ("granted", "granted_with_mods"):
        raise ValueError(f"the TSA refused: {reply['status']['status'].native}")
    token = reply["time_stamp_token"]
    if token["content"]["encap_content_info"]["content"].parsed["nonce"].native != nonce:
        raise ValueError("the TSA answered another query (nonce)")
    return token.dump()


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
    """Check a token over ``signature_value``: the TSA's signature over TSTInfo, the TSA's chain to
    the roots, the timeStamping purpose, and the message imprint. Returns the report part
    ``{genTime, policy, tsa, hash}``; raises ``SignatureError("ECP_BAD_SIGNATURE")``."""
    try:
        signed = token["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].native != "tst_info":
            raise ValueError("not a time-stamp token")
        tst_bytes = encap["content"].contents
        tst = atsp.TSTInfo.load(tst_bytes)
        embedded = cms._embedded_certs(signed)
        si, tsa_cert = cms._find_signer(signed["signer_infos"][0], embedded)
    except cms.SignatureError:
        raise
    except Exception as exc:
        raise cms.SignatureError("ECP_MALFORMED", f"time-stamp token: {exc}") from None
    cms._check_signature(si, tsa_cert, tst_bytes)
    chain = cms._build_chain(tsa_cert, [c for _, c in embedded] + list(intermediates), trust_roots)
    gen_time: datetime = tst["gen_time"].native
    cms._check_validity(chain, gen_time)
    try:
        eku = tsa_cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if x509.oid.ExtendedKeyUsageOID.TIME_STAMPING not in eku:
            raise x509.ExtensionNotFound("", x509.oid.ExtensionOID.EXTENDED_KEY_USAGE)
    except x509.ExtensionNotFound:
        raise cms.SignatureError("ECP_BAD_SIGNATURE", "the token's signer is not a time-stamping authority")
    imprint = tst["message_imprint"]
    alg = imprint["hash_algorithm"]["algorithm"].native
    if alg not in cms._HASHES or cms._HASHES[alg][0](signature_value).digest() != imprint["hashed_message"].native:
        raise cms.SignatureError("ECP_BAD_SIGNATURE", "the time-stamp token is over other data")
    return {"genTime": gen_time.isoformat(), "policy": tst["policy"].native,
            "tsa": tsa_cert.subject.rfc4514_string(), "hash": imprint["hashed_message"].native.hex()}
