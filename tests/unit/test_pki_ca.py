"""The development CA: files, concurrency, and certificates shaped like the national CA's."""
from __future__ import annotations

import shutil
import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from shared.pki import oids
from shared.pki.ca import DevCA

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")

IIN, BIN = "860717450455", "123456789021"
ROLE = {name: x509.ObjectIdentifier(oid) for name, oid in oids.ROLE_OIDS.items()}


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return DevCA.load_or_create(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def certs(ca):
    """One certificate of each kind, issued once for the module."""
    return {
        "ind_sign_rsa": ca.issue_individual(IIN, "ТЕСТОВ ТЕСТ ТЕСТОВИЧ"),
        "ind_auth_ec": ca.issue_individual(IIN, "ТЕСТОВ ТЕСТ", usage="auth", key_type="ec"),
        "head_sign_ec": ca.issue_employee(IIN, BIN, 'АО "ТЕСТ"', "ТЕСТОВ ТЕСТ ТЕСТОВИЧ", ["first_head"], key_type="ec"),
        "hr_auth_rsa": ca.issue_employee(IIN, BIN, 'АО "ТЕСТ"', "ТЕСТОВ ТЕСТ", ["hr", "employee"], usage="auth"),
        "system": ca.issue_system("E_LICENSING"),
    }


def _ext(cert, cls):
    return cert.extensions.get_extension_for_class(cls)


def _subject(cert) -> dict[str, str]:
    return {a.oid.dotted_string: a.value for a in cert.subject}


# --- the CA itself -----------------------------------------------------------------------


def test_ca_files_and_reload(ca):
    d = ca.directory
    for name in ("root.pem", "issuing.pem", "root.key.pem", "issuing.key.pem"):
        assert (d / name).exists()
    assert stat.S_IMODE((d / "root.key.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE((d / "issuing.key.pem").stat().st_mode) == 0o600
    again = DevCA.load_or_create(d)
    assert again.root_cert == ca.root_cert and again.issuing_cert == ca.issuing_cert


def test_ca_certificates(ca):
    root, issuing = ca.root_cert, ca.issuing_cert
    assert root.subject.rfc4514_string() == "CN=ҰКО EGOV-SIM ROOT (DEV),C=KZ"
    assert issuing.subject.rfc4514_string() == "CN=ҰКО EGOV-SIM 3.0 (RSA DEV),C=KZ"
    assert issuing.issuer == root.subject
    issuing.verify_directly_issued_by(root)
    for cert, years in ((root, 10), (issuing, 5)):
        assert _ext(cert, x509.BasicConstraints).value.ca
        assert _ext(cert, x509.KeyUsage).value.key_cert_sign
        days = (cert.not_valid_after_utc - cert.not_valid_before_utc).days
        assert 365 * years <= days <= 365 * years + 3
    assert ca.roots_pem().count(b"BEGIN CERTIFICATE") == 1
    assert x509.load_pem_x509_certificates(ca.chain_pem()) == [issuing, root]


def test_concurrent_creation_yields_one_ca(tmp_path):
    with ThreadPoolExecutor(4) as pool:
        cas = list(pool.map(lambda _: DevCA.load_or_create(tmp_path / "ca"), range(4)))
    assert len({c.root_cert.fingerprint(c.root_cert.signature_hash_algorithm) for c in cas}) == 1
    on_disk = x509.load_pem_x509_certificate((tmp_path / "ca" / "root.pem").read_bytes())
    assert on_disk == cas[0].root_cert
    cas[0].issuing_cert.verify_directly_issued_by(on_disk)


def test_base_url_is_configurable(tmp_path):
    other = DevCA.load_or_create(tmp_path / "ca", base_url="http://pki.test:9000/")
    cert = other.issue_individual(IIN, "ТЕСТОВ ТЕСТ", key_type="ec").cert
    crl = _ext(cert, x509.CRLDistributionPoints).value[0].full_name[0].value
    assert crl == "http://pki.test:9000/crl/issuing.crl"


# --- end-entity certificates ---------------------------------------------------------------


def _common_checks(ca, cert):
    assert cert.issuer == ca.issuing_cert.subject
    cert.verify_directly_issued_by(ca.issuing_cert)
    assert cert.serial_number > 0 and cert.serial_number.bit_length() <= 160
    aki = _ext(cert, x509.AuthorityKeyIdentifier).value.key_identifier
    assert aki == _ext(ca.issuing_cert, x509.SubjectKeyIdentifier).value.digest
    assert _ext(cert, x509.SubjectKeyIdentifier).value.digest
    crl = _ext(cert, x509.CRLDistributionPoints).value
    assert [dp.full_name[0].value for dp in crl] == ["http://127.0.0.1:8005/crl/issuing.crl"]
    aia = {
        d.access_method.dotted_string: d.access_location.value
        for d in _ext(cert, x509.AuthorityInformationAccess).value
    }
    assert aia == {
        "1.3.6.1.5.5.7.48.1": "http://127.0.0.1:8005/ocsp",
        "1.3.6.1.5.5.7.48.2": "http://127.0.0.1:8005/cert/issuing.cer",
    }
    ku = _ext(cert, x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature
    validity = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert timedelta(days=365) <= validity <= timedelta(days=365, minutes=2)
    assert cert.not_valid_before_utc <= datetime.now(timezone.utc)


def _policies(cert):
    return [p.policy_identifier.dotted_string for p in _ext(cert, x509.CertificatePolicies).value]


def test_individual_sign_rsa(ca, certs):
    cert = certs["ind_sign_rsa"].cert
    _common_checks(ca, cert)
    assert [(a.oid, a.value) for a in cert.subject] == [
        (NameOID.COMMON_NAME, "ТЕСТОВ ТЕСТ"),
        (NameOID.SURNAME, "ТЕСТОВ"),
        (NameOID.SERIAL_NUMBER, f"IIN{IIN}"),
        (NameOID.COUNTRY_NAME, "KZ"),
        (NameOID.GIVEN_NAME, "ТЕСТОВИЧ"),
    ]
    ku = _ext(cert, x509.KeyUsage).value
    assert ku.content_commitment and not ku.key_encipherment
    assert list(_ext(cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.EMAIL_PROTECTION, ROLE["individual"]]
    assert _policies(cert) == ["1.2.398.3.3.2.3"]
    assert isinstance(cert.public_key(), rsa.RSAPublicKey) and cert.public_key().key_size == 2048
    assert cert.signature_algorithm_oid.dotted_string == "1.2.840.113549.1.1.11"  # sha256WithRSA


def test_individual_auth_ec(ca, certs):
    cert = certs["ind_auth_ec"].cert
    _common_checks(ca, cert)
    subject = _subject(cert)
    assert subject["2.5.4.3"] == "ТЕСТОВ ТЕСТ" and "2.5.4.42" not in subject  # no patronymic
    ku = _ext(cert, x509.KeyUsage).value
    assert ku.key_encipherment and not ku.content_commitment
    assert list(_ext(cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CLIENT_AUTH, ROLE["individual"]]
    assert _policies(cert) == ["1.2.398.3.3.2.4"]
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.public_key().curve.name == "secp256r1"


def test_employee_sign_with_roles(ca, certs):
    cert = certs["head_sign_ec"].cert
    _common_checks(ca, cert)
    subject = _subject(cert)
    assert subject["2.5.4.10"] == 'АО "ТЕСТ"' and subject["2.5.4.11"] == f"BIN{BIN}"
    assert subject["2.5.4.5"] == f"IIN{IIN}"
    assert list(_ext(cert, x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.EMAIL_PROTECTION, ROLE["legal_entity"], ROLE["first_head"],
    ]
    assert _policies(cert) == ["1.2.398.3.3.2.1"]
    assert _ext(cert, x509.KeyUsage).value.content_commitment


def test_employee_auth_rsa(ca, certs):
    cert = certs["hr_auth_rsa"].cert
    _common_checks(ca, cert)
    assert list(_ext(cert, x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.CLIENT_AUTH, ROLE["legal_entity"], ROLE["hr"], ROLE["employee"],
    ]
    assert _policies(cert) == ["1.2.398.3.3.2.4"]
    assert _ext(cert, x509.KeyUsage).value.key_encipherment


def test_system_certificate(ca, certs):
    cert = certs["system"].cert
    _common_checks(ca, cert)
    assert cert.subject.rfc4514_string() == "C=KZ,O=egov-sim systems,CN=E_LICENSING"
    ku = _ext(cert, x509.KeyUsage).value
    assert ku.content_commitment and not ku.key_encipherment
    assert ExtendedKeyUsageOID.CLIENT_AUTH in _ext(cert, x509.ExtendedKeyUsage).value


def test_role_aliases_and_unknown_roles(ca):
    cert = ca.issue_employee(IIN, BIN, "ТОО", "А Б", ["head"], key_type="ec").cert
    assert ROLE["first_head"] in _ext(cert, x509.ExtendedKeyUsage).value
    with pytest.raises(ValueError):
        ca.issue_employee(IIN, BIN, "ТОО", "А Б", ["boss"], key_type="ec")
    with pytest.raises(ValueError):
        ca.issue_individual("123", "А Б", key_type="ec")


def test_explicit_validity(ca):
    past = datetime.now(timezone.utc) - timedelta(days=10)
    cert = ca.issue_individual(IIN, "А Б", key_type="ec", not_after=past).cert
    assert cert.not_valid_after_utc == past.replace(microsecond=0)
    assert cert.not_valid_before_utc < cert.not_valid_after_utc
    future = datetime.now(timezone.utc) + timedelta(days=10)
    cert = ca.issue_individual(IIN, "А Б", key_type="ec", not_before=future).cert
    assert cert.not_valid_before_utc == future.replace(microsecond=0)


def test_issued_write(tmp_path, certs):
    issued = certs["ind_auth_ec"]
    issued.write(tmp_path / "out")
    assert (tmp_path / "out" / "cert.pem").read_bytes() == issued.cert_pem
    assert (tmp_path / "out" / "chain.pem").read_bytes().count(b"BEGIN CERTIFICATE") == 2
    key = tmp_path / "out" / "key.pem"
    assert key.read_bytes() == issued.key_pem and stat.S_IMODE(key.stat().st_mode) == 0o600
    assert issued.key.public_key() == issued.cert.public_key()


# --- openssl reads and verifies them ---------------------------------------------------------


@needs_openssl
@pytest.mark.parametrize("kind", ["ind_sign_rsa", "ind_auth_ec", "head_sign_ec", "hr_auth_rsa", "system"])
def test_openssl_reads_and_verifies(ca, certs, kind, tmp_path):
    certs[kind].write(tmp_path)
    text = subprocess.run(
        ["openssl", "x509", "-noout", "-text", "-nameopt", "utf8", "-in", str(tmp_path / "cert.pem")],
        capture_output=True, text=True, check=True,
    ).stdout
    assert "Issuer: C=KZ, CN=ҰКО EGOV-SIM 3.0 (RSA DEV)" in text
    assert ("X509v3 Certificate Policies" in text) == (kind != "system")
    out = subprocess.run(
        ["openssl", "verify", "-CAfile", str(ca.directory / "root.pem"),
         "-untrusted", str(ca.directory / "issuing.pem"), str(tmp_path / "cert.pem")],
        capture_output=True, text=True,
    )
    assert out.returncode == 0 and out.stdout.strip().endswith(": OK"), out.stdout + out.stderr
