"""Time-stamp tokens inside CMS signatures: checked when present, refused when they do not fit."""
from __future__ import annotations

import hashlib

import pytest
from asn1crypto import tsp as atsp

from services.nca.builders import build_timestamp_reply, load_or_create_tsa
from shared.pki import tsp
from shared.pki.ca import DevCA
from shared.pki.cms import SignatureError, sign_detached, verify_detached

DATA = b'{"a":1}'


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    ca = DevCA.load_or_create(tmp_path_factory.mktemp("ca"))
    return ca, load_or_create_tsa(ca, tmp_path_factory.mktemp("tsa"))


def token_over(tsa, data: bytes) -> bytes:
    query = atsp.TimeStampReq({"version": "v1", "cert_req": True, "message_imprint": {
        "hash_algorithm": {"algorithm": "sha256"}, "hashed_message": hashlib.sha256(data).digest()}})
    return atsp.TimeStampResp.load(build_timestamp_reply(tsa, query.dump()))["time_stamp_token"].dump()


def signed(ca):
    i = ca.issue_individual("860717450455", "ИВАНОВА АЙГУЛЬ")
    return sign_detached(DATA, i.key_pem, i.cert_pem, i.chain_pem)


def test_token_over_the_signature_value_is_reported(pki):
    ca, tsa = pki
    sig = signed(ca)
    stamped = tsp.attach(sig, token_over(tsa, tsp.signature_values(sig)[0]))
    report = verify_detached(stamped, DATA, ca.roots(), intermediates=ca.intermediates())
    assert report.signers[0].timestamp["policy"] and report.to_dict()["signers"][0]["tsp"]["genTime"]
    assert verify_detached(sig, DATA, ca.roots(), intermediates=ca.intermediates()).signers[0].timestamp is None


def test_token_over_other_data_is_refused(pki):
    ca, tsa = pki
    sig = signed(ca)
    stamped = tsp.attach(sig, token_over(tsa, b"something else"))
    with pytest.raises(SignatureError) as e:
        verify_detached(stamped, DATA, ca.roots(), intermediates=ca.intermediates())
    assert e.value.code == "ECP_BAD_SIGNATURE"


def test_token_from_an_untrusted_tsa_is_refused(pki, tmp_path):
    ca, _ = pki
    other = DevCA.load_or_create(tmp_path / "other")
    rogue_tsa = load_or_create_tsa(other, tmp_path / "rogue-tsa")
    sig = signed(ca)
    stamped = tsp.attach(sig, token_over(rogue_tsa, tsp.signature_values(sig)[0]))
    with pytest.raises(SignatureError) as e:
        verify_detached(stamped, DATA, ca.roots(), intermediates=ca.intermediates())
    assert e.value.code == "ECP_UNTRUSTED"
