"""The ШЭП envelope: what the sender signs, what the gateway countersigns, what breaks them."""
from __future__ import annotations

import copy

import pytest

from shared import envelope
from shared.pki.ca import DevCA
from shared.pki.cms import SignatureError
from shared.signing import Signer, TrustStore


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    ca = DevCA.load_or_create(tmp_path_factory.mktemp("ca"))
    portal = ca.issue_system("portal", key_type="ec")
    gateway = ca.issue_system("shep", key_type="ec")
    trust = TrustStore(roots=ca.roots(), intermediates=ca.intermediates())
    return (Signer(portal.key_pem, portal.cert_pem, portal.chain_pem),
            Signer(gateway.key_pem, gateway.cert_pem, gateway.chain_pem), trust)


def make(signer) -> dict:
    env = envelope.build(service_id="ELICENSE_SUBMIT", message_type="REQUEST", data={"ФИО": "Иванова", "n": 1},
                         sender_id="portal", correlation_id="c-1", properties={"k": "v"})
    return envelope.sign(env, signer)


def test_jcs_is_key_order_independent():
    assert envelope.canonical({"b": 1, "a": "ә"}) == envelope.canonical({"a": "ә", "b": 1}) == '{"a":"ә","b":1}'.encode()


async def test_sender_signature_does_not_cover_the_password(pki):
    portal, _, trust = pki
    env = make(portal)
    env["messageInfo"]["sender"]["password"] = "secret"
    assert (await envelope.verify_sender(env, trust)).signer.common_name == "portal"
    assert envelope.properties(env) == {"k": "v"}


async def test_changed_payload_breaks_the_sender_signature(pki):
    portal, _, trust = pki
    env = make(portal)
    env["messageData"]["data"]["n"] = 2
    with pytest.raises(SignatureError) as e:
        await envelope.verify_sender(env, trust)
    assert e.value.code == "ECP_BAD_SIGNATURE"


async def test_countersignature_covers_delivery_info_and_strips_the_password(pki):
    portal, gateway, trust = pki
    env = make(portal)
    env["messageInfo"]["sender"]["password"] = "secret"
    delivered = envelope.countersign(env, {"messageId": "m-1", "correlationId": "c-1"}, gateway)
    assert "password" not in delivered["messageInfo"]["sender"]
    assert (await envelope.verify_gateway(delivered, trust)).signer.common_name == "shep"
    assert (await envelope.verify_sender(delivered, trust)).signer.common_name == "portal"
    forged = copy.deepcopy(delivered)
    forged["deliveryInfo"]["messageId"] = "m-2"
    with pytest.raises(SignatureError):
        await envelope.verify_gateway(forged, trust)


@pytest.mark.parametrize("value", [
    {"b": [1, True, None, "ә\u2028\u0007\"\\/"], "a": {"z": -9007199254740991, "é": "\U0001f600"}},
    {"\U0001f600": 1, "\ue000": 2},  # keys beyond the BMP sort by UTF-16 code units in JCS
    {"n": 1.5, "e": 1e21, "z": -0.0},  # numbers in ECMAScript form
    [],
])
def test_canonical_is_rfc8785(value):
    """The fast path and the general serialiser agree wherever the fast path is taken."""
    import rfc8785

    assert envelope.canonical(value) == rfc8785.dumps(value)
