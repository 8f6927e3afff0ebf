"""Pure builders of the НУЦ status and time services: the CRL (RFC 5280), OCSP answers
(RFC 6960) and RFC 3161 time-stamp replies, plus the TSA certificate.

Nothing here touches the database or the network: the router looks revocations up and
passes them in, and the unit tests call these functions directly.
"""
from __future__ import annotations

import fcntl
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from asn1crypto import algos as aalgos
from asn1crypto import cms as acms
from asn1crypto import tsp as atsp
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import structlog

from shared.pki.ca import DevCA, Issued, _key_usage, _new_key, _validity  # the CA module's helpers
from shared.pki.revocation import issuer_hashes

log = structlog.get_logger("nca")

#: the policy under which the TSA issues its tokens (TSTInfo.policy): the НУЦ's TSA policy arc
TSA_POLICY_OID = "1.2.398.3.3.2.6"
TSA_CN = "ҰКО EGOV-SIM TSA (DEV)"

#: registry reason names → RFC 5280 reason flags (``unspecified`` leaves the reason out, as §5.3.1 advises)
REASON_FLAGS: dict[str, x509.ReasonFlags | None] = {
    "keyCompromise": x509.ReasonFlags.key_compromise,
    "cessationOfOperation": x509.ReasonFlags.cessation_of_operation,
    "superseded": x509.ReasonFlags.superseded,
    "affiliationChanged": x509.ReasonFlags.affiliation_changed,
    "unspecified": None,
}

_TSA_HASHES = {"sha1": 20, "sha256": 32, "sha384": 48, "sha512": 64}


@dataclass(frozen=True)
class RevokedEntry:
    """A revoked certificate as the builders need it."""

    serial: int
    revoked_at: datetime
    reason: str = "unspecified"


def serial_hex(serial: int) -> str:
    """The registry's spelling of a serial: lower-case hex without leading zeros."""
    return format(serial, "x")


# --- the TSA certificate -------------------------------------------------------------------


@dataclass
class TimeStampAuthority:
    """The TSA's key and certificate (issued by the issuing CA)."""

    cert: x509.Certificate
    key: object


def load_or_create_tsa(ca: DevCA, directory: Path) -> TimeStampAuthority:
    """Load the TSA certificate kept in ``directory`` (``key.pem``, ``cert.pem``), issuing it from
    ``ca``'s issuing CA on first use, or again when the CA changed: keyUsage digitalSignature +
    nonRepudiation (critical), extendedKeyUsage timeStamping only (critical), as RFC 3161 §2.3 wants."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            cert_path, key_path = directory / "cert.pem", directory / "key.pem"
            if cert_path.exists() and key_path.exists():
                cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
                if _issued_by(cert, ca.issuing_cert) and cert.not_valid_after_utc > datetime.now(timezone.utc):
                    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
                    return TimeStampAuthority(cert, key)
            issued = issue_tsa_certificate(ca)
            issued.write(directory)
            return TimeStampAuthority(issued.cert, issued.key)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def issue_tsa_certificate(ca: DevCA) -> Issued:
    """A fresh TSA key and certificate signed by the issuing CA, valid one year."""
    key = _new_key("rsa")
    start, end = _validity(None, None)
    issuing_ski = ca.issuing_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, TSA_CN),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"),
    ])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.issuing_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(_key_usage(digital_signature=True, content_commitment=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuing_ski), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca.issuing_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return Issued(key_pem=key_pem, cert_pem=cert.public_bytes(serialization.Encoding.PEM),
                  chain_pem=ca.chain_pem(), cert=cert)


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except Exception:
        return False


# --- CRL -----------------------------------------------------------------------------------------


def build_crl(ca: DevCA, entries: list[RevokedEntry], *, now: datetime | None = None,
              validity: timedelta = timedelta(hours=1)) -> bytes:
    """A DER CRL (v2) of the issuing CA listing ``entries`` with their reasons, signed by the
    issuing CA key; thisUpdate ``now``, nextUpdate ``now + validity``, CRL number = Unix time."""
    now = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    issuing_ski = ca.issuing_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.issuing_cert.subject)
        .last_update(now)
        .next_update(now + validity)
        .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuing_ski), critical=False)
    )
    for entry in entries:
        try:
            revoked = (x509.RevokedCertificateBuilder()
                       .serial_number(entry.serial)
                       .revocation_date(entry.revoked_at))
            flag = REASON_FLAGS.get(entry.reason)
            if flag is not None:
                revoked = revoked.add_extension(x509.CRLReason(flag), critical=False)
            revoked = revoked.build()
        except (ValueError, TypeError, OverflowError) as exc:
            # one entry that cannot be encoded must not take the whole CRL down
            log.error("CRL entry skipped", serial=str(entry.serial)[:80], error=str(exc))
            continue
        builder = builder.add_revoked_certificate(revoked)
    crl = builder.sign(ca.issuing_key, hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.DER)


# --- OCSP ----------------------------------------------------------------------------------------


class OcspRequestError(Exception):
    """An OCSP request the responder answers with an unsuccessful status (``status``)."""

    def __init__(self, status: ocsp.OCSPResponseStatus, detail: str):
        super().__init__(detail)
        self.status = status


def parse_ocsp_request(ca: DevCA, der: bytes) -> ocsp.OCSPRequest:
    """Parse a DER OCSP request for one certificate of the issuing CA.

    Raises :class:`OcspRequestError` with MALFORMED_REQUEST when it does not parse (or asks about
    several certificates, or a serial that is not a positive integer of at most 20 octets —
    RFC 5280 §4.1.2.2), UNAUTHORIZED when its CertID names another issuer."""
    try:
        req = ocsp.load_der_ocsp_request(der)
        algorithm = req.hash_algorithm
        serial = req.serial_number
    except Exception as exc:
        raise OcspRequestError(ocsp.OCSPResponseStatus.MALFORMED_REQUEST, str(exc)) from None
    if not 0 < serial < 2 ** 159:
        raise OcspRequestError(ocsp.OCSPResponseStatus.MALFORMED_REQUEST, "not a serial of at most 20 octets")
    name_hash, key_hash = issuer_hashes(ca.issuing_cert, algorithm)
    if req.issuer_name_hash != name_hash or req.issuer_key_hash != key_hash:
        raise OcspRequestError(ocsp.OCSPResponseStatus.UNAUTHORIZED, "not a certificate of this CA")
    return req


def build_ocsp_response(ca: DevCA, req: ocsp.OCSPRequest, revoked: RevokedEntry | None, *,
                        now: datetime | None = None, validity: timedelta = timedelta(hours=1)) -> bytes:
    """A successful BasicOCSPResponse for ``req``, signed by the issuing CA (which is also the
    responder, named by key hash; its certificate is included): ``revoked`` with time and reason
    when ``revoked`` is given, ``good`` otherwise. The request's nonce is echoed."""
    now = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    if revoked is None:
        status, revocation_time, reason = ocsp.OCSPCertStatus.GOOD, None, None
    else:
        status, revocation_time = ocsp.OCSPCertStatus.REVOKED, revoked.revoked_at
        reason = REASON_FLAGS.get(revoked.reason)
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response_by_hash(
            issuer_name_hash=req.issuer_name_hash,
            issuer_key_hash=req.issuer_key_hash,
            serial_number=req.serial_number,
            algorithm=req.hash_algorithm,
            cert_status=status,
            this_update=now,
            next_update=now + validity,
            revocation_time=revocation_time,
            revocation_reason=reason,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, ca.issuing_cert)
        .certificates([ca.issuing_cert])
    )
    try:
        nonce = req.extensions.get_extension_for_class(x509.OCSPNonce).value
        builder = builder.add_extension(nonce, critical=False)
    except x509.ExtensionNotFound:
        pass
    return builder.sign(ca.issuing_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def ocsp_error_response(status: ocsp.OCSPResponseStatus) -> bytes:
    """An unsuccessful OCSP response (no body, not signed)."""
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(serialization.Encoding.DER)


# --- RFC 3161 time stamps --------------------------------------------------------------------------


def build_timestamp_reply(tsa: TimeStampAuthority, query_der: bytes, *, serial: int | None = None,
                          now: datetime | None = None, policy: str = TSA_POLICY_OID) -> bytes:
    """A DER TimeStampResp for the DER TimeStampReq ``query_der``.

    Granted: a TimeStampToken (CMS SignedData over TSTInfo, signed with the TSA key, SHA-256, with
    the ESS signingCertificateV2 attribute) whose TSTInfo carries ``policy``, the query's message
    imprint, ``serial`` (random 64 bits by default), genTime ``now``, accuracy 1 s and the query's
    nonce; the TSA certificate is included when the query's certReq is true.
    Rejection (no token): badDataFormat when the query does not parse, badAlg for a hash other than
    SHA-1/256/384/512 or a digest of the wrong length, unacceptedPolicy for another reqPolicy,
    unacceptedExtension when the query has extensions.
    """
    try:
        req = atsp.TimeStampReq.load(query_der, strict=True)
        req.native  # parse everything now
        imprint = req["message_imprint"]
        hash_name = imprint["hash_algorithm"]["algorithm"].native
    except Exception:
        return _ts_rejection("bad_data_format", "the query is not a TimeStampReq")
    if hash_name not in _TSA_HASHES or len(imprint["hashed_message"].native) != _TSA_HASHES[hash_name]:
        return _ts_rejection("bad_alg", f"unsupported message imprint algorithm {hash_name}")
    if req["req_policy"].native is not None and req["req_policy"].dotted != policy:
        return _ts_rejection("unaccepted_policy", f"only policy {policy} is served")
    if req["extensions"].native:
        return _ts_rejection("unaccepted_extensions", "extensions are not supported")

    now = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    tsa_cert = ax509.Certificate.load(tsa.cert.public_bytes(serialization.Encoding.DER))
    tst = {
        "version": "v1",
        "policy": policy,
        "message_imprint": imprint,
        "serial_number": serial if serial is not None else secrets.randbits(63) + 1,
        "gen_time": now,
        "accuracy": {"seconds": 1},
        "tsa": ax509.GeneralName(name="directory_name", value=tsa_cert.subject),
    }
    if req["nonce"].native is not None:
        tst["nonce"] = req["nonce"].native
    tst_info = atsp.TSTInfo(tst)

    ess = atsp.SigningCertificateV2({"certs": [{
        "hash_algorithm": {"algorithm": "sha256"},
        "cert_hash": hashlib.sha256(tsa_cert.dump()).digest(),
        "issuer_serial": {
            "issuer": [ax509.GeneralName(name="directory_name", value=tsa_cert.issuer)],
            "serial_number": tsa_cert.serial_number,
        },
    }]})
    attrs = [
        acms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
        acms.CMSAttribute({"type": "signing_time", "values": [acms.Time(name="utc_time", value=now)]}),
        acms.CMSAttribute({"type": "message_digest", "values": [hashlib.sha256(tst_info.dump()).digest()]}),
        acms.CMSAttribute({"type": "signing_certificate_v2", "values": [ess]}),
    ]
    attrs.sort(key=lambda a: a.dump())  # DER: a SET OF is sorted, and verifiers re-encode it so
    signed_attrs = acms.CMSAttributes(attrs)
    signature = tsa.key.sign(signed_attrs.dump(), padding.PKCS1v15(), hashes.SHA256())

    signer_info = acms.SignerInfo({
        "version": "v1",
        "sid": acms.SignerIdentifier(name="issuer_and_serial_number", value={
            "issuer": tsa_cert.issuer, "serial_number": tsa_cert.serial_number}),
        "digest_algorithm": {"algorithm": "sha256"},
        "signed_attrs": signed_attrs,
        "signature_algorithm": aalgos.SignedDigestAlgorithm({"algorithm": "rsassa_pkcs1v15"}),
        "signature": signature,
    })
    signed_data = {
        "version": "v3",
        "digest_algorithms": [{"algorithm": "sha256"}],
        "encap_content_info": {"content_type": "tst_info", "content": tst_info},
        "signer_infos": [signer_info],
    }
    if req["cert_req"].native:
        signed_data["certificates"] = [tsa_cert]
    token = acms.ContentInfo({"content_type": "signed_data", "content": acms.SignedData(signed_data)})
    return atsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump()


class _RejectionResp(atsp.TimeStampResp):
    """TimeStampResp with the token optional, as RFC 3161 §2.4.2 has it (asn1crypto requires it)."""

    _fields = [
        ("status", atsp.PKIStatusInfo),
        ("time_stamp_token", acms.ContentInfo, {"optional": True}),
    ]


def _ts_rejection(fail_info: str, text: str) -> bytes:
    return _RejectionResp({"status": {
        "status": "rejection",
        "status_string": [text],
        "fail_info": atsp.PKIFailureInfo({fail_info}),
    }}).dump()
