"""Issuance by the НУЦ without the network: CSR → certificate through the same functions the API
and the offline CLI use, every field's validation, the registry's records and the CRL / OCSP
builders' resistance to rows they cannot use."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

from services.nca import authority, builders, issuance, registry
from services.nca.builders import RevokedEntry
from services.nca.models import Revocation
from shared.db import Database
from shared.db.migrate import upgrade
from shared.errors import ApiError
from shared.pki import oids
from shared.pki.ca import DevCA, NoCA
from shared.pki.certinfo import cert_info

IIN, BIN = "860717450455", "810840000017"
NOW = datetime.now(timezone.utc).replace(microsecond=0)
MAX_DAYS = 1096


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return DevCA.load_or_create(tmp_path_factory.mktemp("ca"), base_url="http://127.0.0.1:18005")


@pytest.fixture(scope="module")
def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def csr_pem(key, cn: str = "ignored by the CA") -> str:
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
           .sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def request(key, **fields) -> issuance.IssueRequest:
    base = dict(profile="individual", iin=IIN, full_name="ИВАНОВА АЙГУЛЬ СЕРИКОВНА")
    return issuance.IssueRequest(csr=csr_pem(key), **{**base, **fields})


def refused(ca, req, code: str, match: str | None = None) -> ApiError:
    with pytest.raises(ApiError, match=match) as err:
        issuance.certify(ca, req, max_days=MAX_DAYS)
    assert err.value.code == code, err.value
    return err.value


# --- CSR → certificate ---------------------------------------------------------------------------


def test_individual_from_a_csr_carries_the_csr_key_and_the_ca_made_subject(ca, ec_key):
    cert = issuance.certify(ca, request(ec_key), max_days=MAX_DAYS)
    assert cert.public_key().public_numbers() == ec_key.public_key().public_numbers()
    assert ca.issued(cert) and cert.serial_number.bit_length() <= 159
    info = cert_info(cert).to_dict()
    assert info["subject"]["iin"] == IIN and info["subject"]["commonName"] == "ИВАНОВА АЙГУЛЬ"
    assert info["keyUsage"] == "SIGN" and info["keyUser"] == ["individual"]
    assert "ignored" not in cert.subject.rfc4514_string()
    assert timedelta(days=365) <= cert.not_valid_after_utc - cert.not_valid_before_utc <= timedelta(days=365, minutes=1)


def test_employee_auth_with_role_aliases(ca, ec_key):
    req = request(ec_key, profile="employee", bin=BIN, organization='ТОО "ҚҰРЫЛЫС"', usage="auth",
                  roles=["head", "hr"])
    info = cert_info(issuance.certify(ca, req, max_days=MAX_DAYS)).to_dict()
    assert info["keyUsage"] == "AUTH" and info["subject"]["bin"] == BIN
    assert info["keyUser"] == ["legal_entity", "first_head", "hr"]


def test_system_with_an_rsa_key_and_explicit_dates(ca):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    start, end = NOW - timedelta(days=10), NOW + timedelta(days=20)
    req = issuance.IssueRequest(csr=csr_pem(key), profile="system", system_id="registries", not_before=start,
                                not_after=end)
    cert = issuance.certify(ca, req, max_days=MAX_DAYS)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "registries"
    assert (cert.not_valid_before_utc, cert.not_valid_after_utc) == (start, end)
    assert issuance.profile_of(cert) == "system"


def test_naive_dates_are_utc(ca, ec_key):
    cert = issuance.certify(ca, request(ec_key, not_before=datetime(2026, 1, 1), not_after=datetime(2026, 6, 1)),
                            max_days=MAX_DAYS)
    assert cert.not_valid_before_utc == datetime(2026, 1, 1, tzinfo=timezone.utc)


# --- the CSR -----------------------------------------------------------------------------------


def test_csr_that_is_not_one(ca, ec_key):
    refused(ca, request(ec_key).model_copy(update={"csr": "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"}),
            "CSR_INVALID")
    refused(ca, request(ec_key).model_copy(update={"csr": "hello"}), "CSR_INVALID")


def test_csr_not_signed_by_its_own_key(ca, ec_key):
    """A request carrying someone else's public key (no proof of possession) is refused."""
    pem = csr_pem(ec_key).encode()
    der = x509.load_pem_x509_csr(pem).public_bytes(serialization.Encoding.DER)
    tampered = bytearray(der)
    tampered[-5] ^= 0x01  # inside the signature
    import base64
    text = "-----BEGIN CERTIFICATE REQUEST-----\n" + base64.encodebytes(bytes(tampered)).decode() + \
        "-----END CERTIFICATE REQUEST-----\n"
    refused(ca, request(ec_key).model_copy(update={"csr": text}), "CSR_INVALID")


@pytest.mark.parametrize("make_key, match", [
    (lambda: rsa.generate_private_key(public_exponent=65537, key_size=1024), "2048"),
    (lambda: rsa.generate_private_key(public_exponent=3, key_size=2048), "65537"),
    (lambda: ec.generate_private_key(ec.SECP256K1()), "secp256r1"),
    (lambda: dsa.generate_private_key(2048), "unsupported key type"),
], ids=["rsa1024", "rsa-e3", "secp256k1", "dsa"])
def test_keys_the_ca_does_not_certify(ca, make_key, match):
    refused(ca, request(make_key()), "CSR_INVALID", match)


# --- the profile ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fields, code, match", [
    (dict(iin="860717450456"), "IIN_BIN_INVALID", "check digit"),
    (dict(iin=None), "IIN_BIN_INVALID", "12 digits"),
    (dict(iin="86071745045"), "IIN_BIN_INVALID", "12 digits"),
    (dict(profile="employee", bin="810840000018", organization="ТОО", roles=["employee"]), "IIN_BIN_INVALID", "BIN"),
    (dict(full_name="ИВАНОВА"), "CERT_PROFILE_INVALID", "2 to 5 words"),
    (dict(full_name=None), "CERT_PROFILE_INVALID", "required"),
    (dict(full_name="ИВАНОВА АЙГУЛЬ1"), "CERT_PROFILE_INVALID", "letters"),
    (dict(full_name="ROBERT'); DROP TABLE"), "CERT_PROFILE_INVALID", "letters"),
    (dict(full_name="ИВАНОВА " + "А" * 70), "CERT_PROFILE_INVALID", "too long"),
    (dict(bin=BIN), "CERT_PROFILE_INVALID", "bin is not part of an individual"),
    (dict(roles=["employee"]), "CERT_PROFILE_INVALID", "roles is not part"),
    (dict(profile="employee", bin=BIN, organization="ТОО «Тест»", roles=["boss"]), "CERT_PROFILE_INVALID", "unknown role"),
    (dict(profile="employee", bin=BIN, organization="ТОО «Тест»", roles=["individual"]), "CERT_PROFILE_INVALID", "unknown role"),
    (dict(profile="employee", bin=BIN, organization="ТОО «Тест»", roles=[]), "CERT_PROFILE_INVALID", "at least one role"),
    (dict(profile="employee", bin=BIN, organization=None, roles=["hr"]), "CERT_PROFILE_INVALID", "organization"),
    (dict(profile="employee", bin=BIN, organization="ТОО\x00Тест", roles=["hr"]), "CERT_PROFILE_INVALID", "control"),
    (dict(profile="employee", bin=BIN, organization="Т" * 201, roles=["hr"]), "CERT_PROFILE_INVALID", "200"),
    (dict(profile="system", iin=None, full_name=None, system_id="bad id!"), "CERT_PROFILE_INVALID", "system_id"),
    (dict(profile="system", full_name=None, system_id="portal"), "CERT_PROFILE_INVALID", "iin is not part"),
    (dict(profile="system", iin=None, full_name=None, system_id="portal", usage="auth"), "CERT_PROFILE_INVALID", "AUTH"),
    (dict(not_before=NOW, not_after=NOW - timedelta(days=1)), "CERT_PROFILE_INVALID", "later than"),
    (dict(not_before=NOW, not_after=NOW + timedelta(days=MAX_DAYS + 1)), "CERT_PROFILE_INVALID", "at most"),
    (dict(not_before=datetime(1999, 1, 1, tzinfo=timezone.utc), not_after=datetime(1999, 6, 1, tzinfo=timezone.utc)),
     "CERT_PROFILE_INVALID", "2000"),
    (dict(not_before=NOW + timedelta(days=365 * 6)), "CERT_PROFILE_INVALID", "issuing CA"),
], ids=lambda v: v if isinstance(v, str) and v.isupper() else None)
def test_every_field_is_checked(ca, ec_key, fields, code, match):
    refused(ca, request(ec_key, **fields), code, match)


def test_unknown_fields_and_profiles_are_validation_errors(ec_key):
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        issuance.IssueRequest(csr=csr_pem(ec_key), profile="robot")
    with pytest.raises(ValidationError):
        issuance.IssueRequest(csr=csr_pem(ec_key), profile="individual", subject="CN=root")


# --- the registry: recorded, revocable by serial -----------------------------------------------


def test_issued_certificates_are_recorded_and_revocable_by_serial(tmp_path, ca, ec_key):
    url = f"sqlite+aiosqlite:///{tmp_path / 'nca.db'}"
    upgrade("nca", url)

    async def run():
        db = Database(url)
        try:
            async with db.session() as s:
                cert = await authority.issue(s, ca, request(ec_key), max_days=MAX_DAYS)
            async with db.session() as s:
                row = await registry.find_certificate(s, cert.serial_number)
                assert row.subject == cert.subject.rfc4514_string() and row.profile == "individual"
                assert x509.load_der_x509_certificate(row.der) == cert and row.not_after == cert.not_valid_after_utc
                revoked, created = await authority.revoke_serial(s, ca, format(cert.serial_number, "X"), "superseded")
                assert created and revoked.serial == format(cert.serial_number, "x")
            async with db.session() as s:
                with pytest.raises(ApiError) as err:
                    await authority.revoke_serial(s, ca, "1f3a9c", "superseded")
                assert err.value.code == "CERTIFICATE_NOT_FOUND"
                with pytest.raises(ApiError) as err:
                    await authority.revoke_serial(s, ca, "f" * 200, "superseded")
                assert err.value.code == "VALIDATION_ERROR"
                with pytest.raises(ApiError) as err:
                    await authority.revoke_certificate(s, ca, other.issue_system("x").cert, "superseded")
                assert err.value.code == "CERTIFICATE_INVALID"
                # bad rows written behind the registry's back: the CRL entries skip them
                s.add_all([Revocation(serial="z" * 10, issuer="?", revoked_at=NOW, reason="keyCompromise"),
                           Revocation(serial="f" * 64, issuer="?", revoked_at=NOW, reason="keyCompromise"),
                           Revocation(serial="0", issuer="?", revoked_at=NOW, reason="keyCompromise"),
                           Revocation(serial="00" + format(cert.serial_number, "x"), issuer="?", revoked_at=NOW,
                                      reason="boredom"),
                           Revocation(serial="abc", issuer="?", revoked_at=NOW, reason="boredom")])
            async with db.session() as s:
                entries = await registry.revocation_entries(s)
                assert sorted(e.serial for e in entries) == sorted([cert.serial_number, 0xABC])
                assert {e.reason for e in entries} <= {"superseded", "unspecified"}
                assert (await registry.lookup(s, 0xABC)).reason == "unspecified"
                assert await registry.lookup(s, 2 ** 200) is None and await registry.lookup(s, 0) is None
                crl = x509.load_der_x509_crl(builders.build_crl(ca, entries))
                assert len(crl) == 2
        finally:
            await db.dispose()

    other = DevCA.load_or_create(tmp_path / "other")
    asyncio.run(run())


# --- the builders never fail on one bad entry or request ---------------------------------------


def test_crl_skips_an_entry_it_cannot_encode(ca):
    good = ca.issue_system("x").cert
    der = builders.build_crl(ca, [RevokedEntry(2 ** 800, NOW), RevokedEntry(-3, NOW),
                                  RevokedEntry(good.serial_number, NOW, "keyCompromise")], now=NOW)
    crl = x509.load_der_x509_crl(der)
    assert [r.serial_number for r in crl] == [good.serial_number]
    assert crl.is_signature_valid(ca.issuing_cert.public_key())


@pytest.mark.parametrize("serial", [0, 2 ** 159, 2 ** 800])
def test_ocsp_request_for_a_serial_that_cannot_be_one_is_malformed(ca, serial):
    from shared.pki.revocation import issuer_hashes

    name_hash, key_hash = issuer_hashes(ca.issuing_cert, hashes.SHA1())
    der = (ocsp.OCSPRequestBuilder().add_certificate_by_hash(name_hash, key_hash, serial, hashes.SHA1())
           .build().public_bytes(serialization.Encoding.DER))
    with pytest.raises(builders.OcspRequestError) as err:
        builders.parse_ocsp_request(ca, der)
    assert err.value.status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


# --- the CA is only ever created by the bootstrap ----------------------------------------------


def test_load_never_creates_a_ca(tmp_path, ca):
    with pytest.raises(NoCA):
        DevCA.load(tmp_path / "nothing")
    assert not (tmp_path / "nothing").exists()
    assert DevCA.load(ca.directory).issuing_cert == ca.issuing_cert


def test_certify_uses_the_given_key_and_issue_still_makes_one(ca, ec_key):
    cert = ca.certify_employee(ec_key.public_key(), IIN, BIN, "ТОО", "А Б", ["sign"], usage="auth")
    assert cert.public_key().public_numbers() == ec_key.public_key().public_numbers()
    assert oids.ROLE_OIDS["sign"] in {o.dotted_string for o in
                                      cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value}
    issued = ca.issue_individual(IIN, "А Б", key_type="ec")
    assert issued.key.public_key().public_numbers() == issued.cert.public_key().public_numbers()
