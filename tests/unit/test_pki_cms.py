"""Detached CMS signatures: ours pass openssl, openssl's pass ours, each refusal has its code."""
from __future__ import annotations

import base64
import json
import shutil
import subprocess
from datetime import datetime, timedelta, timezone

import pytest

from shared.pki.ca import DevCA
from shared.pki.cms import SignatureError, sign_detached, verify_detached

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")

IIN, BIN = "860717450455", "123456789021"
DOC = '{"iin_bin":"860717450455","service_code":"S2"}'.encode()


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return DevCA.load_or_create(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory):
    """A second CA with the very same names but other keys."""
    return DevCA.load_or_create(tmp_path_factory.mktemp("other-ca"))


@pytest.fixture(scope="module")
def signers(ca):
    return {
        "rsa": ca.issue_individual(IIN, "ТЕСТОВ ТЕСТ ТЕСТОВИЧ"),
        "ec": ca.issue_employee(IIN, BIN, 'АО "ТЕСТ"', "ТЕСТОВ ТЕСТ", ["first_head"], key_type="ec"),
        "auth": ca.issue_individual(IIN, "ТЕСТОВ ТЕСТ", usage="auth", key_type="ec"),
    }


def _sign(issued, data=DOC, chain=True):
    return sign_detached(data, issued.key_pem, issued.cert_pem, issued.chain_pem if chain else None)


def _code(excinfo) -> str:
    return excinfo.value.code


# --- round trip --------------------------------------------------------------------------


@pytest.mark.parametrize("kind, alg", [("rsa", "SHA256withRSA"), ("ec", "SHA256withECDSA")])
def test_sign_and_verify(ca, signers, kind, alg):
    sig = _sign(signers[kind])
    report = verify_detached(sig, DOC, ca.roots())
    assert report.valid and report.sign_alg == alg
    assert report.signer.iin == IIN and report.signer.key_usage == "SIGN"
    assert report.signer_cert == signers[kind].cert
    body = report.to_dict()
    json.dumps(body)
    assert body["valid"] is True and body["signAlg"] == alg and body["revocations"] == []
    (signer,) = body["signers"]
    assert signer["certificate"]["subject"]["iin"] == IIN
    assert len(signer["chain"]) == 3 and "EGOV-SIM ROOT" in signer["chain"][-1]
    assert abs(datetime.fromisoformat(signer["signingTime"]) - datetime.now(timezone.utc)) < timedelta(minutes=1)


def test_base64_inputs(ca, signers):
    sig = _sign(signers["ec"])
    b64 = base64.b64encode(sig)
    assert verify_detached(b64, DOC, ca.roots()).signer.bin == BIN
    assert verify_detached(b64.decode(), DOC, ca.roots()).valid
    wrapped = "\n".join(b64.decode()[i:i + 64] for i in range(0, len(b64), 64))
    assert verify_detached(wrapped, DOC, ca.roots()).valid


def test_chain_from_intermediates(ca, signers):
    sig = _sign(signers["rsa"], chain=False)
    with pytest.raises(SignatureError) as e:
        verify_detached(sig, DOC, ca.roots())
    assert _code(e) == "ECP_UNTRUSTED"
    assert verify_detached(sig, DOC, ca.roots(), intermediates=ca.intermediates()).valid


def test_revocation_hook(ca, signers):
    sig = _sign(signers["rsa"])
    seen = []

    def checker(cert, issuer):
        seen.append((cert, issuer))
        return [{"by": "OCSP", "revoked": False}]

    report = verify_detached(sig, DOC, ca.roots(), revocation_checker=checker)
    assert seen == [(signers["rsa"].cert, ca.issuing_cert)]
    assert report.to_dict()["signers"][0]["revocations"] == [{"by": "OCSP", "revoked": False}]

    def revoked(cert, issuer):
        raise SignatureError("ECP_REVOKED", "revoked")

    with pytest.raises(SignatureError) as e:
        verify_detached(sig, DOC, ca.roots(), revocation_checker=revoked)
    assert _code(e) == "ECP_REVOKED"


# --- each refusal from a real input -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_tampered_data(ca, signers, kind):
    with pytest.raises(SignatureError) as e:
        verify_detached(_sign(signers[kind]), DOC + b" ", ca.roots())
    assert _code(e) == "ECP_BAD_SIGNATURE"


def test_tampered_signature_value(ca, signers):
    sig = bytearray(_sign(signers["rsa"]))
    sig[-5] ^= 0x01  # inside the signature value, the last field of the SignerInfo
    with pytest.raises(SignatureError) as e:
        verify_detached(bytes(sig), DOC, ca.roots())
    assert _code(e) == "ECP_BAD_SIGNATURE"


@pytest.mark.parametrize("garbage", [b"not a signature at all", b"\x30\x03\x02\x01\x01", "!!!", b""])
def test_garbage(ca, garbage):
    with pytest.raises(SignatureError) as e:
        verify_detached(garbage, DOC, ca.roots())
    assert _code(e) == "ECP_MALFORMED"


def test_not_signed_data(ca, signers):
    der_cert = base64.b64decode(b"".join(signers["rsa"].cert_pem.splitlines()[1:-1]))
    with pytest.raises(SignatureError) as e:
        verify_detached(der_cert, DOC, ca.roots())
    assert _code(e) == "ECP_MALFORMED"


def test_certificate_of_another_ca(ca, other_ca):
    stranger = other_ca.issue_individual(IIN, "ЧУЖОЙ ЧЕЛОВЕК", key_type="ec")
    with pytest.raises(SignatureError) as e:
        verify_detached(_sign(stranger), DOC, ca.roots(), intermediates=ca.intermediates())
    assert _code(e) == "ECP_UNTRUSTED"


def test_expired(ca):
    old = ca.issue_individual(IIN, "А Б", key_type="ec", not_after=datetime.now(timezone.utc) - timedelta(days=1))
    with pytest.raises(SignatureError) as e:
        verify_detached(_sign(old), DOC, ca.roots())
    assert _code(e) == "ECP_EXPIRED"


def test_not_yet_valid(ca, signers):
    young = ca.issue_individual(IIN, "А Б", key_type="ec", not_before=datetime.now(timezone.utc) + timedelta(days=1))
    with pytest.raises(SignatureError) as e:
        verify_detached(_sign(young), DOC, ca.roots())
    assert _code(e) == "ECP_NOT_YET_VALID"
    with pytest.raises(SignatureError) as e:
        verify_detached(_sign(signers["ec"]), DOC, ca.roots(), at=datetime.now(timezone.utc) - timedelta(days=1))
    assert _code(e) == "ECP_NOT_YET_VALID"


def test_wrong_key_usage(ca, signers):
    with pytest.raises(SignatureError) as e:
        verify_detached(_sign(signers["auth"]), DOC, ca.roots(), usage="sign")
    assert _code(e) == "ECP_WRONG_KEY_USAGE"
    with pytest.raises(SignatureError) as e:
        verify_detached(_sign(signers["rsa"]), DOC, ca.roots(), usage="auth")
    assert _code(e) == "ECP_WRONG_KEY_USAGE"
    assert verify_detached(_sign(signers["auth"]), DOC, ca.roots(), usage="auth").signer.key_usage == "AUTH"
    assert verify_detached(_sign(signers["auth"]), DOC, ca.roots(), usage=None).valid


def test_error_carries_catalogue_entry(ca):
    with pytest.raises(SignatureError) as e:
        verify_detached(b"junk", DOC, ca.roots())
    assert e.value.status == 422 and e.value.step == "process 7" and e.value.detail


# --- openssl interoperability ----------------------------------------------------------------


@pytest.fixture(scope="module")
def files(ca, signers, tmp_path_factory):
    d = tmp_path_factory.mktemp("files")
    (d / "doc").write_bytes(DOC)
    (d / "roots.pem").write_bytes(ca.roots_pem())
    for kind, issued in signers.items():
        issued.write(d / kind)
    ca.issue_system("E_LICENSING").write(d / "system")
    return d


def _openssl(*args):
    return subprocess.run(["openssl", *map(str, args)], capture_output=True)


@needs_openssl
@pytest.mark.parametrize("kind", ["rsa", "ec"])
@pytest.mark.parametrize("purpose", [["-purpose", "any"], []])
def test_openssl_verifies_ours(signers, files, kind, purpose, tmp_path):
    (tmp_path / "sig.der").write_bytes(_sign(signers[kind]))
    out = _openssl("cms", "-verify", "-binary", "-inform", "DER", "-in", tmp_path / "sig.der",
                   "-content", files / "doc", "-CAfile", files / "roots.pem", *purpose, "-out", tmp_path / "out")
    assert out.returncode == 0, out.stderr.decode()
    assert (tmp_path / "out").read_bytes() == DOC


@needs_openssl
def test_openssl_verifies_system_signature(files, tmp_path):
    """A system's certificate passes openssl's default purpose (S/MIME signing) too. Without the
    chain inside, openssl 3.0 only finds the issuing CA when it is in -CAfile (-certfile is not
    used for chain building), so signatures should carry the chain."""
    d = files / "system"
    key, cert, chain = ((d / n).read_bytes() for n in ("key.pem", "cert.pem", "chain.pem"))
    (tmp_path / "with-chain.der").write_bytes(sign_detached(DOC, key, cert, chain))
    (tmp_path / "bare.der").write_bytes(sign_detached(DOC, key, cert))
    (tmp_path / "ca-bundle.pem").write_bytes(chain)
    for sig, cafile in (("with-chain.der", files / "roots.pem"), ("bare.der", tmp_path / "ca-bundle.pem")):
        out = _openssl("cms", "-verify", "-binary", "-inform", "DER", "-in", tmp_path / sig,
                       "-content", files / "doc", "-CAfile", cafile, "-out", "/dev/null")
        assert out.returncode == 0, out.stderr.decode()


@needs_openssl
@pytest.mark.parametrize("kind", ["rsa", "ec"])
@pytest.mark.parametrize("with_chain", [True, False])
def test_we_verify_openssl_signature(ca, signers, files, kind, with_chain, tmp_path):
    d = files / kind
    extra = ["-certfile", d / "chain.pem"] if with_chain else []
    out = _openssl("cms", "-sign", "-binary", "-outform", "DER", "-md", "sha256", "-signer", d / "cert.pem",
                   "-inkey", d / "key.pem", *extra, "-in", files / "doc", "-out", tmp_path / "sig.der")
    assert out.returncode == 0, out.stderr.decode()
    sig = (tmp_path / "sig.der").read_bytes()
    intermediates = [] if with_chain else ca.intermediates()
    report = verify_detached(sig, DOC, ca.roots(), intermediates=intermediates)
    assert report.signer_cert == signers[kind].cert and report.to_dict()["signers"][0]["signingTime"]
    with pytest.raises(SignatureError) as e:
        verify_detached(sig, DOC[:-1], ca.roots(), intermediates=intermediates)
    assert _code(e) == "ECP_BAD_SIGNATURE"


@needs_openssl
def test_we_verify_openssl_signature_without_attributes(ca, signers, files, tmp_path):
    d = files / "rsa"
    out = _openssl("cms", "-sign", "-binary", "-noattr", "-outform", "DER", "-md", "sha256",
                   "-signer", d / "cert.pem", "-inkey", d / "key.pem", "-in", files / "doc",
                   "-out", tmp_path / "sig.der")
    assert out.returncode == 0, out.stderr.decode()
    sig = (tmp_path / "sig.der").read_bytes()
    report = verify_detached(sig, DOC, ca.roots(), intermediates=ca.intermediates())
    assert report.to_dict()["signers"][0]["signingTime"] is None
    with pytest.raises(SignatureError) as e:
        verify_detached(sig, DOC + b"x", ca.roots(), intermediates=ca.intermediates())
    assert _code(e) == "ECP_BAD_SIGNATURE"
