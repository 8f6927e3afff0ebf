"""The portal shows a provider's result only when its signer has a signing right at that provider."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from services.portal.consumers import _accept_result
from shared.envelope import canonical
from shared.pki.ca import DevCA
from shared.regulations import providers
from shared.signing import Signer, TrustStore

ALMATY = providers()["almaty-transport"]


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return DevCA.load_or_create(tmp_path_factory.mktemp("ca"))


def result_signed_by(issued) -> dict:
    document = {"kind": "certificate", "number": "ITI-ALA-2026-000001", "provider": {"bin": ALMATY.bin}}
    signer = Signer(issued.key_pem, issued.cert_pem, issued.chain_pem)
    return {"kind": "certificate", "document": document, "signature": signer.sign(canonical(document))}


async def accept(req, result: dict, trust: TrustStore) -> str:
    """What the portal's consumer does with a result: verify (before the transaction), then decide."""
    signer = (await trust.verify(result["signature"], canonical(result["document"]))).signer
    return _accept_result(req, result, signer)


def request() -> SimpleNamespace:
    return SimpleNamespace(service_code="S2", region="almaty", status="IN_PROCESSING", result=None,
                           result_rejected=None)


@pytest.mark.parametrize("roles, bin_, shown", [
    (["first_head"], ALMATY.bin, True),
    (["sign"], ALMATY.bin, True),
    (["employee"], ALMATY.bin, False),         # no signing role
    (["first_head"], "100340005775", False),   # a head, but of another organisation
])
async def test_signing_right_decides(ca, roles, bin_, shown):
    issued = ca.issue_employee("750121322103", bin_, "ОРГ", "ЖУМАБЕКОВ АСКАР", roles)
    req = request()
    status = await accept(req, result_signed_by(issued), TrustStore(ca.roots(), ca.intermediates()))
    if shown:
        assert status == "COMPLETED" and req.result is not None and req.result_rejected is None
    else:
        assert status == "IN_PROCESSING" and req.result is None and req.result_rejected == "ECP_NO_SIGNING_RIGHT"


async def test_individual_certificate_is_not_the_provider(ca):
    req = request()
    await accept(req, result_signed_by(ca.issue_individual("860717450455", "ИВАНОВА АЙГУЛЬ")),
                 TrustStore(ca.roots(), ca.intermediates()))
    assert req.result_rejected == "ECP_NO_SIGNING_RIGHT"
