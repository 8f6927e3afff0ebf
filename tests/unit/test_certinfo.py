"""Reading certificates: the national CA's real test certificates and our own."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from shared.pki.ca import DevCA
from shared.pki.certinfo import CertInfo, cert_info, has_signing_right, load_certificate

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "nca-test"
needs_fixtures = pytest.mark.skipif(not FIXTURES.is_dir(), reason=f"no NCA fixtures at {FIXTURES}")

IIN, BIN = "860717450455", "123456789021"


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return DevCA.load_or_create(tmp_path_factory.mktemp("ca"))


# --- real certificates ---------------------------------------------------------------------


@needs_fixtures
def test_real_individual_sign_certificate():
    info = cert_info(load_certificate((FIXTURES / "individual_valid_sign_2004_rsa.cer").read_bytes()))
    assert info.iin == "123456789011" and info.bin is None and info.organization is None
    assert (info.common_name, info.surname, info.given_name) == ("ТЕСТОВ ТЕСТ", "ТЕСТОВ", "ТЕСТОВИЧ")
    assert info.full_name == "ТЕСТОВ ТЕСТ ТЕСТОВИЧ"
    assert info.country == "KZ"
    assert info.key_usage == "SIGN"
    assert info.roles == ["individual"]
    assert info.policies == ["1.2.398.3.3.2.3"]
    assert info.crl_urls == ["http://test.pki.gov.kz/crl/nca_rsa_test.crl"]
    assert info.ocsp_urls == ["http://test.pki.gov.kz/ocsp/"]
    assert info.serial_number == "41e45cc8a04c705963e5cd6769848a934d8eaef5"
    assert info.not_before == datetime(2022, 1, 18, 4, 38, 50, tzinfo=timezone.utc)
    assert info.not_after == datetime(2023, 1, 18, 4, 38, 50, tzinfo=timezone.utc)
    assert info.sign_alg == "SHA256withRSA"
    assert info.issuer_dn == "CN=ҰКО 3.0 (RSA TEST),C=KZ"
    assert "SERIALNUMBER=IIN123456789011" in info.dn and "CN=ТЕСТОВ ТЕСТ" in info.dn
    assert not has_signing_right(info, "123456789021")

    body = info.to_dict()
    json.dumps(body)
    assert body["subject"]["iin"] == "123456789011" and body["subject"]["commonName"] == "ТЕСТОВ ТЕСТ"
    assert body["keyUsage"] == "SIGN" and body["keyUser"] == ["individual"]
    assert body["notAfter"] == "2023-01-18T04:38:50+00:00"
    assert body["revocationEndpoints"] == {
        "ocsp": ["http://test.pki.gov.kz/ocsp/"], "crl": ["http://test.pki.gov.kz/crl/nca_rsa_test.crl"],
    }
    assert body["issuer"]["commonName"] == "ҰКО 3.0 (RSA TEST)"


@needs_fixtures
def test_real_ca_certificate_pem_and_der():
    pem = (FIXTURES / "nca_rsa_test.crt").read_bytes()
    cert = load_certificate(pem)
    assert load_certificate(cert.public_bytes(serialization.Encoding.DER)) == cert
    info = CertInfo.from_certificate(cert)
    assert info.common_name == "ҰКО 3.0 (RSA TEST)" and info.iin is None
    assert info.key_usage is None and info.roles == [] and info.policies == ["1.2.398.3.3.1.1"]
    assert info.ocsp_urls == [] and info.crl_urls == ["http://test.pki.gov.kz/crl/root_rsa.crl"]


def test_load_certificate_rejects_garbage():
    for junk in (b"", b"junk", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"):
        with pytest.raises(ValueError):
            load_certificate(junk)


# --- our certificates ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "roles, expected, right",
    [
        (["first_head"], ["legal_entity", "first_head"], True),
        (["sign", "sign_financial"], ["legal_entity", "sign", "sign_financial"], True),
        (["hr", "employee"], ["legal_entity", "hr", "employee"], False),
    ],
)
def test_employee_certificate(ca, roles, expected, right):
    cert = ca.issue_employee(IIN, BIN, 'ТОО "ҚҰРЫЛЫС"', "АХМЕТОВ АЙДАР СЕРИКОВИЧ", roles, key_type="ec").cert
    info = cert_info(cert)
    assert (info.iin, info.bin, info.organization) == (IIN, BIN, 'ТОО "ҚҰРЫЛЫС"')
    assert (info.common_name, info.surname, info.given_name) == ("АХМЕТОВ АЙДАР", "АХМЕТОВ", "СЕРИКОВИЧ")
    assert info.roles == expected and info.key_usage == "SIGN"
    assert info.policies == ["1.2.398.3.3.2.1"]
    assert info.crl_urls == ["http://127.0.0.1:8005/crl/issuing.crl"]
    assert info.ocsp_urls == ["http://127.0.0.1:8005/ocsp"]
    assert info.issuer_dn == "CN=ҰКО EGOV-SIM 3.0 (RSA DEV),C=KZ"
    assert has_signing_right(info, BIN) is right
    assert has_signing_right(info, "999999999999") is False
    assert info.to_dict()["subject"]["bin"] == BIN and info.to_dict()["keyUser"] == expected


def test_individual_auth_and_system(ca):
    info = cert_info(ca.issue_individual(IIN, "ТЕСТОВ ТЕСТ", usage="auth", key_type="ec").cert)
    assert info.key_usage == "AUTH" and info.roles == ["individual"] and info.policies == ["1.2.398.3.3.2.4"]
    assert info.given_name is None and not has_signing_right(info, BIN)
    system = cert_info(ca.issue_system("PORTAL", key_type="ec").cert)
    assert (system.common_name, system.organization, system.iin) == ("PORTAL", "egov-sim systems", None)
    assert system.key_usage == "SIGN" and system.roles == []
