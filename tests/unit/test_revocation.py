"""The pure parts of revocation and time-stamping: the nca's builders (CRL, OCSP, TSA) against the
client-side readers of shared.pki.revocation, with real keys from a DevCA. No network."""
from __future__ import annotations

import hashlib
import os
from datetime import datetime, timedelta, timezone

import pytest
from asn1crypto import cms as acms
from asn1crypto import core as asn1_core
from asn1crypto import tsp as atsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from services.nca import builders, registry
from services.nca.builders import RevokedEntry
from shared.pki.ca import DevCA
from shared.pki.cms import SignatureError
from shared.pki.revocation import (
    RevocationChecker,
    Unusable,
    build_ocsp_request,
    crl_urls,
    ocsp_urls,
    read_crl,
    read_ocsp_response,
)

NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return DevCA.load_or_create(tmp_path_factory.mktemp("ca"), base_url="http://127.0.0.1:18005")


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory):
    return DevCA.load_or_create(tmp_path_factory.mktemp("other-ca"))


@pytest.fixture(scope="module")
def person(ca):
    return ca.issue_individual("900101300123", "Тестов Тест Тестович").cert


@pytest.fixture(scope="module")
def tsa(ca, tmp_path_factory):
    return builders.load_or_create_tsa(ca, tmp_path_factory.mktemp("tsa"))


# --- CRL -----------------------------------------------------------------------------------------


def test_crl_lists_revoked_serials_with_reasons(ca, person):
    other = ca.issue_system("x").cert
    der = builders.build_crl(ca, [RevokedEntry(person.serial_number, NOW, "keyCompromise"),
                                  RevokedEntry(other.serial_number, NOW, "unspecified")], now=NOW)
    crl = x509.load_der_x509_crl(der)
    assert crl.issuer == ca.issuing_cert.subject and crl.is_signature_valid(ca.issuing_cert.public_key())
    assert crl.next_update_utc - crl.last_update_utc == timedelta(hours=1)
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == int(NOW.timestamp())
    entry = crl.get_revoked_certificate_by_serial_number(person.serial_number)
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.key_compromise
    # "unspecified" leaves the reason code out (RFC 5280 §5.3.1)
    assert len(crl.get_revoked_certificate_by_serial_number(other.serial_number).extensions) == 0

    status = read_crl(der, person, ca.issuing_cert, now=NOW)
    assert (status.status, status.by, status.reason) == ("revoked", "CRL", "key_compromise")
    assert read_crl(builders.build_crl(ca, [], now=NOW), person, ca.issuing_cert, now=NOW).status == "good"


def test_crl_reader_refuses_foreign_stale_and_garbage(ca, other_ca, person):
    with pytest.raises(Unusable, match="not signed"):
        read_crl(builders.build_crl(other_ca, [], now=NOW), person, ca.issuing_cert, now=NOW)
    with pytest.raises(Unusable, match="stale"):
        read_crl(builders.build_crl(ca, [], now=NOW), person, ca.issuing_cert, now=NOW + timedelta(hours=2))
    with pytest.raises(Unusable, match="not a CRL"):
        read_crl(b"garbage", person, ca.issuing_cert)


# --- OCSP ----------------------------------------------------------------------------------------


def _answer(ca, cert, revoked=None, *, now=NOW, nonce=True):
    request, value = build_ocsp_request(cert, ca.issuing_cert, nonce=nonce)
    req = builders.parse_ocsp_request(ca, request)
    assert req.serial_number == cert.serial_number
    return builders.build_ocsp_response(ca, req, revoked, now=now), value


def test_ocsp_good_and_revoked(ca, person):
    der, nonce = _answer(ca, person)
    resp = ocsp.load_der_ocsp_response(der)
    assert resp.responder_key_hash == x509.SubjectKeyIdentifier.from_public_key(
        ca.issuing_cert.public_key()).digest
    assert resp.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == nonce
    good = read_ocsp_response(der, person, ca.issuing_cert, nonce=nonce, now=NOW)
    assert (good.status, good.by, good.next_update) == ("good", "OCSP", NOW + timedelta(hours=1))

    revoked_at = NOW - timedelta(minutes=3)
    der, nonce = _answer(ca, person, RevokedEntry(person.serial_number, revoked_at, "cessationOfOperation"))
    status = read_ocsp_response(der, person, ca.issuing_cert, nonce=nonce, now=NOW)
    assert (status.status, status.revoked_at, status.reason) == ("revoked", revoked_at, "cessation_of_operation")


def test_ocsp_reader_refuses_what_it_cannot_trust(ca, other_ca, person):
    der, nonce = _answer(ca, person)
    with pytest.raises(Unusable, match="nonce"):
        read_ocsp_response(der, person, ca.issuing_cert, nonce=os.urandom(16), now=NOW)
    with pytest.raises(Unusable, match="stale"):
        read_ocsp_response(der, person, ca.issuing_cert, now=NOW + timedelta(hours=2))
    with pytest.raises(Unusable, match="future"):
        read_ocsp_response(der, person, ca.issuing_cert, now=NOW - timedelta(hours=1))
    with pytest.raises(Unusable, match="another certificate"):
        read_ocsp_response(der, ca.issue_system("y").cert, ca.issuing_cert, now=NOW)
    # an answer signed by another CA's key (the other CA "answering" for a certificate it issued)
    stranger = other_ca.issue_system("z").cert
    foreign, _ = _answer(other_ca, stranger)
    with pytest.raises(Unusable, match="not signed"):
        read_ocsp_response(foreign, stranger, ca.issuing_cert, now=NOW)
    with pytest.raises(Unusable, match="MALFORMED_REQUEST"):
        read_ocsp_response(builders.ocsp_error_response(ocsp.OCSPResponseStatus.MALFORMED_REQUEST),
                           person, ca.issuing_cert)


def test_ocsp_responder_refuses_garbage_and_other_issuers(ca, other_ca, person):
    with pytest.raises(builders.OcspRequestError) as err:
        builders.parse_ocsp_request(ca, b"\x30\x03\x02\x01\x00")
    assert err.value.status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    request, _ = build_ocsp_request(other_ca.issue_system("z").cert, other_ca.issuing_cert)
    with pytest.raises(builders.OcspRequestError) as err:
        builders.parse_ocsp_request(ca, request)
    assert err.value.status == ocsp.OCSPResponseStatus.UNAUTHORIZED
    # a SHA-256 CertID is understood as well as the default SHA-1
    req = ocsp.OCSPRequestBuilder().add_certificate(person, ca.issuing_cert, hashes.SHA256()).build()
    parsed = builders.parse_ocsp_request(ca, req.public_bytes(serialization.Encoding.DER))
    assert read_ocsp_response(builders.build_ocsp_response(ca, parsed, None, now=NOW), person,
                              ca.issuing_cert, now=NOW).status == "good"


def test_urls_come_from_the_certificate(ca, person):
    assert ocsp_urls(person) == ["http://127.0.0.1:18005/ocsp"]
    assert crl_urls(person) == ["http://127.0.0.1:18005/crl/issuing.crl"]


def test_checker_fails_closed_without_a_source_or_anchor(ca, other_ca, person):
    with pytest.raises(SignatureError) as err:
        RevocationChecker(other_ca.roots())(person, ca.issuing_cert)
    assert err.value.code == "ECP_REVOCATION_UNKNOWN"
    bare = (x509.CertificateBuilder().subject_name(person.subject).issuer_name(person.issuer)
            .public_key(person.public_key()).serial_number(7)
            .not_valid_before(person.not_valid_before_utc).not_valid_after(person.not_valid_after_utc)
            .sign(ca.issuing_key, hashes.SHA256()))
    with pytest.raises(SignatureError) as err:
        RevocationChecker(ca.roots())(bare, ca.issuing_cert)
    assert err.value.code == "ECP_REVOCATION_UNKNOWN" and "no OCSP or CRL URL" in err.value.detail
    with pytest.raises(ValueError):
        RevocationChecker(ca.roots(), prefer="carrier pigeon")


# --- TSA -----------------------------------------------------------------------------------------


def _query(digest: bytes, *, algorithm="sha256", nonce=12345, cert_req=True, **extra) -> bytes:
    return atsp.TimeStampReq({
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": algorithm}, "hashed_message": digest},
        "nonce": nonce,
        "cert_req": cert_req,
        **extra,
    }).dump()


def test_tsa_certificate(ca, tsa, tmp_path_factory):
    cert = tsa.cert
    cert.verify_directly_issued_by(ca.issuing_cert)
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.content_commitment and not ku.key_cert_sign
    # kept on disk: a second load returns the same certificate
    d = tmp_path_factory.mktemp("tsa2")
    first = builders.load_or_create_tsa(ca, d)
    assert builders.load_or_create_tsa(ca, d).cert == first.cert


def test_timestamp_reply_is_granted_and_signed(tsa):
    digest = hashlib.sha256(b"document").digest()
    reply = atsp.TimeStampResp.load(builders.build_timestamp_reply(tsa, _query(digest), serial=42, now=NOW))
    assert reply["status"]["status"].native == "granted"
    signed = reply["time_stamp_token"]["content"]
    tst = signed["encap_content_info"]["content"].parsed
    assert tst["policy"].dotted == builders.TSA_POLICY_OID
    assert tst["message_imprint"]["hashed_message"].native == digest
    assert (tst["serial_number"].native, tst["nonce"].native, tst["gen_time"].native) == (42, 12345, NOW)
    assert len(signed["certificates"]) == 1

    si = signed["signer_infos"][0]
    attrs = {a["type"].native: a["values"][0] for a in si["signed_attrs"]}
    assert attrs["content_type"].native == "tst_info"
    assert attrs["message_digest"].native == hashlib.sha256(tst.dump()).digest()
    tsa_der = tsa.cert.public_bytes(serialization.Encoding.DER)
    assert attrs["signing_certificate_v2"]["certs"][0]["cert_hash"].native == hashlib.sha256(tsa_der).digest()
    tsa.cert.public_key().verify(si["signature"].native, b"\x31" + si["signed_attrs"].dump()[1:],
                                 padding.PKCS1v15(), hashes.SHA256())

    without = atsp.TimeStampResp.load(builders.build_timestamp_reply(tsa, _query(digest, cert_req=False, nonce=None)))
    token = without["time_stamp_token"]["content"]
    assert isinstance(token, acms.SignedData) and not token["certificates"].native
    assert token["encap_content_info"]["content"].parsed["nonce"].native is None


@pytest.mark.parametrize("query, fail_info", [
    (b"garbage", "bad_data_format"),
    (_query(b"\x00" * 16, algorithm="md5"), "bad_alg"),
    (_query(b"\x00" * 20), "bad_alg"),  # a SHA-256 imprint must be 32 bytes
    (_query(b"\x00" * 32, req_policy="1.2.3.4"), "unaccepted_policy"),
], ids=["garbage", "md5", "short-imprint", "other-policy"])
def test_timestamp_rejections(tsa, query, fail_info):
    reply = asn1_core.Sequence.load(builders.build_timestamp_reply(tsa, query))
    assert len(reply) == 1  # the status only, no token
    status = atsp.PKIStatusInfo.load(reply[0].dump())
    assert status["status"].native == "rejection"
    assert status["fail_info"].native == {fail_info}


# --- registry and CLI -----------------------------------------------------------------------------


def test_serial_normalisation():
    assert registry.normalize_serial("0x00:1F:3a") == "1f3a" == registry.normalize_serial(0x1F3A)
    for bad in ("xyz", "0", "", "0x", "1_0", "-1f", "1f 3a"):
        with pytest.raises(ValueError):
            registry.normalize_serial(bad)


def test_serials_are_at_most_twenty_octets():
    """RFC 5280 §4.1.2.2: positive, at most 20 octets in DER (the sign bit included: 159 bits)."""
    largest = 2 ** 159 - 1
    assert registry.normalize_serial(largest) == format(largest, "x")
    assert registry.normalize_serial("00" * 10 + format(largest, "x")) == format(largest, "x")
    for bad in (2 ** 159, "8" + "0" * 39, "f" * 41, "a" * 200, -5, 0):
        with pytest.raises(ValueError):
            registry.normalize_serial(bad)


def test_cli_revoke_writes_the_registry_with_the_service_stopped(tmp_path, other_ca):
    from services.nca.cli import revoke
    from shared.errors import ApiError
    from shared.settings import CommonSettings

    settings = CommonSettings(data_dir=tmp_path)
    ca = DevCA.load_or_create(settings.pki_dir / "ca")
    ca.issue_individual("900101300123", "Тестов Тест").write(tmp_path / "me")
    first = revoke(settings, tmp_path / "me" / "cert.pem", "keyCompromise")
    serial = x509.load_pem_x509_certificate((tmp_path / "me" / "cert.pem").read_bytes()).serial_number
    assert first["serial_number"] == format(serial, "x") and first["created"] and first["reason"] == "keyCompromise"
    again = revoke(settings, tmp_path / "me" / "cert.pem", "superseded")
    assert not again["created"] and again["reason"] == "keyCompromise"
    # revoking by certificate recorded it: now its serial is known
    assert not revoke(settings, serial=format(serial, "X"), reason="superseded")["created"]
    with pytest.raises(ApiError, match="reason") as err:
        revoke(settings, tmp_path / "me" / "cert.pem", "boredom")
    assert err.value.code == "VALIDATION_ERROR"
    other_ca.issue_system("foreign").write(tmp_path / "foreign")
    with pytest.raises(ApiError, match="not issued") as err:
        revoke(settings, tmp_path / "foreign" / "cert.pem")
    assert err.value.code == "CERTIFICATE_INVALID"
    with pytest.raises(ApiError) as err:
        revoke(settings, serial="1f3a9c")
    assert err.value.code == "CERTIFICATE_NOT_FOUND"
    with pytest.raises(ApiError) as err:
        revoke(settings, serial="a" * 200)
    assert err.value.code == "VALIDATION_ERROR"


def test_cli_never_creates_a_ca(tmp_path):
    from services.nca.cli import revoke
    from shared.pki.ca import NoCA
    from shared.settings import CommonSettings

    with pytest.raises(NoCA):
        revoke(CommonSettings(data_dir=tmp_path), serial="1f")
    assert not (tmp_path / "pki" / "ca").exists()
