"""ГБД ФЛ, ГБД ЮЛ, ЕНИС and ПШЭП over the gateway's sync channel, on the running system; and the
payment of the portal flow: "process 4" (paid at ПШЭП), "condition 2" (ИС ГБД ЕЛ asks ПШЭП),
"process 5" (refused: no payment), with an ПШЭП outage that delays and never refuses."""
from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest

from egov import demo
from shared.envelope import canonical
from shared.errors import ApiError
from shared.iin import make_bin
from shared.messaging.sync import SyncClient
from shared.signing import Signer
from shared.topics import ServiceId

from .test_chain import assert_error, new_applicant

pytestmark = pytest.mark.integration


def sync_call(system, as_system: str, service_id: str, data: dict, **kw):
    """One call over POST /shep/v1/sync as ``as_system`` (its key and gateway password), the answer's
    signatures checked against the НУЦ roots."""
    keys = system.settings.pki_dir / "systems" / as_system

    async def run():
        client = SyncClient(system.url("gateway"), as_system, (keys / "password").read_text().strip(),
                            Signer.from_dir(keys), system.client_trust)
        try:
            return await client.call(service_id, data, **kw)
        finally:
            await client.aclose()

    return asyncio.run(run())


def refused(system, as_system: str, service_id: str, data: dict) -> ApiError:
    with pytest.raises(ApiError) as info:
        sync_call(system, as_system, service_id, data)
    return info.value


def admin(system) -> dict:
    token = (system.settings.data_dir / "secrets" / "registries-admin.token").read_bytes().hex()
    return {"Authorization": f"Bearer {token}"}


def test_gbdfl_has_every_demo_applicant(system):
    for a in demo.APPLICANTS:
        answer = sync_call(system, "e_licensing", ServiceId.GBDFL_PERSON, {"iin": a["iin"]})
        person = answer.data["person"]
        assert answer.recipient_id == "gbd_fl"
        assert person["iin"] == a["iin"] and person["full_name"] == (a.get("signer_name") or a["full_name"])
        assert person["birth_date"] and person["document_number"] and person["address"]
    err = refused(system, "e_licensing", ServiceId.GBDFL_PERSON, {"iin": "000101500017"})
    assert err.code == "PERSON_NOT_FOUND" and err.step == "process 4" and not err.retryable
    assert refused(system, "e_licensing", ServiceId.GBDFL_PERSON, {"iin": "12"}).code == "REGISTRY_QUERY_INVALID"


def test_each_registry_answers_as_its_own_system(system):
    """Four systems at the gateway, each signing its answers with its own НУЦ certificate."""
    asked = {
        (ServiceId.GBDFL_PERSON, "gbd_fl"): {"iin": "921201450129"},
        (ServiceId.GBDUL_ORGANISATION, "gbd_ul"): {"bin": "100340005775"},
        (ServiceId.ENIS_POWER_OF_ATTORNEY, "enis"): {"number": "2026-0001-N"},
    }
    for (service_id, system_id), data in asked.items():
        assert sync_call(system, "e_licensing", service_id, data).recipient_id == system_id
    paid = sync_call(system, "portal", ServiceId.PSHEP_PAY,
                     {"payer_iin_bin": "921201450129", "service_code": "S1", "region": "almaty", "amount": 1})
    assert paid.recipient_id == "pshep"


def test_the_registries_are_healthy_and_know_the_con_and_its_operators(system):
    r = httpx.get(system.url("registries") + "/health")
    assert r.status_code == 200, r.text
    assert r.json() == {"service": "registries", "status": "ok",
                        "checks": {"database": "ok", "broker": "ok", "signing_key": "ok"}}
    # the ЦОН's operators sign as employees of the ЦОН's BIN: ГБД ФЛ and ГБД ЮЛ know both
    from shared.regulations.con import con

    desk = con()
    for o in desk.operators:
        person = sync_call(system, "con", ServiceId.GBDFL_PERSON, {"iin": o["iin"]}).data["person"]
        assert person["full_name"] == o["full_name"]
    org = sync_call(system, "con", ServiceId.GBDUL_ORGANISATION, {"bin": desk.bin}).data["organisation"]
    assert org["name"] == desk.name_ru and org["head"]["iin"] == desk.head["iin"] and org["status"] == "ACTIVE"


def test_the_recipients_refusal_travels_in_subError(system):
    keys = system.settings.pki_dir / "systems" / "provider_arm"
    client = SyncClient(system.url("gateway"), "provider_arm", (keys / "password").read_text().strip(),
                        Signer.from_dir(keys))
    r = httpx.post(system.url("gateway") + "/shep/v1/sync", timeout=30,
                   json=client.envelope(ServiceId.GBDFL_PERSON, {"iin": "000101500017"}))
    err = assert_error(r, 502, "RECIPIENT_ERROR")
    assert err["subError"]["errorCode"] == "PERSON_NOT_FOUND"
    assert err["subError"]["errorData"]["message_kk"]
    # deny by default: the portal may pay, not read ГБД ФЛ
    assert refused(system, "portal", ServiceId.GBDFL_PERSON, {"iin": demo.APPLICANTS[0]["iin"]}).code == "ACCESS_DENIED"


def test_gbdul_has_the_demo_company_and_the_providers(system):
    company = next(a for a in demo.APPLICANTS if a["kind"] == "BIN")
    org = sync_call(system, "provider_arm", ServiceId.GBDUL_ORGANISATION, {"bin": company["username"]}).data["organisation"]
    assert org["name"] == company["full_name"] and org["head"]["iin"] == company["iin"] and org["status"] == "ACTIVE"
    provider = sync_call(system, "e_licensing", ServiceId.GBDUL_ORGANISATION, {"bin": demo.ALMATY.bin}).data
    assert provider["organisation"]["head"]["name"] == "ЖУМАБЕКОВ АСКАР ТАЛГАТОВИЧ"
    assert refused(system, "e_licensing", ServiceId.GBDUL_ORGANISATION,
                   {"bin": "990140000011"}).code == "ORGANISATION_NOT_FOUND"


def test_enis_powers_of_attorney_valid_and_revoked(system):
    company, madina, aigul = "100340005775", "921201450129", "860717450455"
    poa = sync_call(system, "e_licensing", ServiceId.ENIS_POWER_OF_ATTORNEY,
                    {"principal_iin_bin": company, "representative_iin": madina, "service_code": "S2"}).data
    assert poa["power_of_attorney"]["valid"] and poa["power_of_attorney"]["scope"] == ["S1", "S2"]
    number = poa["power_of_attorney"]["number"]
    assert sync_call(system, "e_licensing", ServiceId.ENIS_POWER_OF_ATTORNEY,
                     {"number": number}).data["power_of_attorney"]["principal_iin_bin"] == company
    assert refused(system, "e_licensing", ServiceId.ENIS_POWER_OF_ATTORNEY,
                   {"number": number, "service_code": "S3"}).code == "POWER_OF_ATTORNEY_SCOPE"
    assert refused(system, "e_licensing", ServiceId.ENIS_POWER_OF_ATTORNEY,
                   {"principal_iin_bin": aigul, "representative_iin": madina}).code == "POWER_OF_ATTORNEY_REVOKED"
    assert refused(system, "e_licensing", ServiceId.ENIS_POWER_OF_ATTORNEY,
                   {"number": "no-such-number"}).code == "POWER_OF_ATTORNEY_NOT_FOUND"


def test_admin_adds_records_that_the_sync_channel_then_finds(system):
    base = system.url("registries") + "/api/v1/admin"
    assert_error(httpx.put(base + "/persons/000101500017", json={}, headers={"Authorization": "Bearer nope"}),
                 401, "ADMIN_AUTH_FAILED")
    iin = "000101500017"
    r = httpx.put(f"{base}/persons/{iin}", headers=admin(system), json={
        "surname": "ТЕСТОВ", "name": "ЕРЖАН", "birth_date": "2000-01-01", "document_number": "012345678",
        "address": "г. Астана, ул. Кенесары, д. 1"})
    assert r.status_code == 200, r.text
    person = sync_call(system, "e_licensing", ServiceId.GBDFL_PERSON, {"iin": iin}).data["person"]
    assert person["full_name"] == "ТЕСТОВ ЕРЖАН" and person["patronymic"] is None
    number = "T-" + uuid.uuid4().hex[:8]
    r = httpx.put(f"{base}/powers-of-attorney/{number}", headers=admin(system), json={
        "principal_iin_bin": "860717450455", "representative_iin": iin, "scope": ["all"],
        "valid_from": "2020-01-01", "valid_until": "2020-12-31"})
    assert r.status_code == 200, r.text
    assert refused(system, "e_licensing", ServiceId.ENIS_POWER_OF_ATTORNEY,
                   {"number": number}).code == "POWER_OF_ATTORNEY_EXPIRED"
    assert httpx.post(f"{base}/powers-of-attorney/{number}/revoke", headers=admin(system)).json()[
        "power_of_attorney"]["revoked"] is True
    # ГБД ЮЛ: an organisation added, then liquidated
    bin_ = make_bin(2021, 7, serial=uuid.uuid4().int % 90000)
    org = {"name": "ТОО «Тест Авто»", "head_iin": iin, "head_name": "ТЕСТОВ ЕРЖАН", "address": "г. Астана, ул. Кенесары, д. 1"}
    r = httpx.put(f"{base}/organisations/{bin_}", headers=admin(system), json=org)
    assert r.status_code == 200 and r.json()["organisation"]["status"] == "ACTIVE", r.text
    r = httpx.put(f"{base}/organisations/{bin_}", headers=admin(system), json={**org, "status": "LIQUIDATED"})
    assert r.status_code == 200, r.text
    found = sync_call(system, "e_licensing", ServiceId.GBDUL_ORGANISATION, {"bin": bin_}).data["organisation"]
    assert found == {"bin": bin_, "name": org["name"], "head": {"iin": iin, "name": "ТЕСТОВ ЕРЖАН"},
                     "address": org["address"], "status": "LIQUIDATED"}
    assert_error(httpx.put(f"{base}/organisations/{bin_}", headers=admin(system), json={**org, "status": "CLOSED"}),
                 422, "VALIDATION_ERROR")
    # ПШЭП: a payment fact recorded by the admin is what ИС ГБД ЕЛ then finds
    r = httpx.post(f"{base}/payments", headers=admin(system),
                   json={"payer_iin_bin": bin_, "service_code": "S1", "region": "zhambyl", "amount": 43250})
    assert r.status_code == 201, r.text
    paid = r.json()["payment"]
    assert paid["status"] == "PAID" and paid["amount"] == 43250 and paid["currency"] == "KZT"
    assert sync_call(system, "e_licensing", ServiceId.PSHEP_PAYMENT_STATUS,
                     {"payer_iin_bin": bin_, "service_code": "S1"}).data["payment"] == paid
    assert_error(httpx.post(f"{base}/payments", headers=admin(system),
                            json={"payer_iin_bin": bin_, "service_code": "S1", "amount": -1}), 422, "VALIDATION_ERROR")


def test_pshep_records_a_payment_and_answers_its_status(system):
    payer = demo.APPLICANTS[1]["iin"]
    paid = sync_call(system, "portal", ServiceId.PSHEP_PAY,
                     {"payer_iin_bin": payer, "service_code": "S2", "region": "almaty", "amount": 3692}).data["payment"]
    assert paid["status"] == "PAID" and paid["amount"] == 3692
    by_id = sync_call(system, "e_licensing", ServiceId.PSHEP_PAYMENT_STATUS, {"payment_id": paid["payment_id"]})
    assert by_id.data["payment"] == paid
    latest = sync_call(system, "e_licensing", ServiceId.PSHEP_PAYMENT_STATUS,
                       {"payer_iin_bin": payer, "service_code": "S2"}).data["payment"]
    assert latest["payment_id"] == paid["payment_id"]
    assert refused(system, "e_licensing", ServiceId.PSHEP_PAYMENT_STATUS,
                   {"payment_id": str(uuid.uuid4())}).code == "PAYMENT_NOT_FOUND"
    assert refused(system, "e_licensing", ServiceId.PSHEP_PAYMENT_STATUS,
                   {"payment_id": paid["payment_id"], "payer_iin_bin": demo.APPLICANTS[0]["iin"]}).code == "PAYMENT_NOT_FOUND"
    # e_licensing checks payments; it does not make them
    assert refused(system, "e_licensing", ServiceId.PSHEP_PAY,
                   {"payer_iin_bin": payer, "service_code": "S2", "amount": 1}).code == "ACCESS_DENIED"
    r = httpx.get(system.url("registries") + f"/api/v1/admin/payments/{paid['payment_id']}", headers=admin(system))
    assert r.status_code == 200 and r.json()["payment"] == paid


def _refusal(view: dict) -> dict:
    return next(e for e in view["timeline"] if e["status"] == "REFUSED")


def test_unpaid_request_is_refused_at_e_licensing_with_no_payment(system, tmp_path):
    c = system.client
    iin, _, token, signer = new_applicant(system, tmp_path)
    other = c.token(demo.APPLICANTS[1]["username"], demo.APPLICANTS[1]["password"])
    foreign = c.portal("POST", "/payments", other, json={"service_code": "S2", "region": "almaty"}).json()["payment_id"]
    for payment_id in (None, str(uuid.uuid4()), foreign):  # none; unknown to ПШЭП; paid by someone else
        doc = dict(c.prepare_document(token, iin, pay=False), payment_id=payment_id)
        r = c.submit(token, doc, signer.sign(canonical(doc)))
        assert r.status_code == 202, r.text  # the portal trusts no payment data: ИС ГБД ЕЛ asks ПШЭП
        view = c.wait_status(token, r.json()["request_id"], {"REFUSED", "REGISTERED", "IN_PROCESSING"})
        assert view["status"] == "REFUSED" and not view["application_number"]
        event = _refusal(view)
        assert event["step"] == "process 5" and "PAYMENT_NOT_FOUND" in event["note"]


def test_paid_request_goes_through_and_its_payment_pays_once(system, tmp_path):
    c = system.client
    iin, _, token, signer = new_applicant(system, tmp_path)
    doc = c.prepare_document(token, iin)  # POST /payments: recorded at ПШЭП through the gateway
    r = c.submit(token, doc, signer.sign(canonical(doc)))
    assert r.status_code == 202, r.text
    view = c.wait_status(token, r.json()["request_id"], {"REGISTERED", "IN_PROCESSING", "REFUSED"})
    assert view["status"] in ("REGISTERED", "IN_PROCESSING") and view["application_number"]
    # the same payment for a second request: ИС ГБД ЕЛ refuses it (one payment pays one request)
    doc2 = dict(doc, nonce=str(uuid.uuid4()))
    r = c.submit(token, doc2, signer.sign(canonical(doc2)))
    assert r.status_code == 202, r.text
    view = c.wait_status(token, r.json()["request_id"], {"REGISTERED", "IN_PROCESSING", "REFUSED"})
    assert view["status"] == "REFUSED" and _refusal(view)["step"] == "process 5"


def test_pshep_outage_delays_the_request_and_never_refuses_it(system, tmp_path):
    c = system.client
    iin, _, token, signer = new_applicant(system, tmp_path)
    doc = c.prepare_document(token, iin)
    system.stack.stop("registries")
    try:
        # the portal cannot reach ПШЭП: a retryable refusal, not a verdict
        r = c.portal("POST", "/payments", token, json={"service_code": "S2", "region": "almaty"})
        assert r.status_code in (503, 504) and r.headers.get("retry-after"), r.text
        rid = c.submit(token, doc, signer.sign(canonical(doc))).json()["request_id"]
        time.sleep(12)  # ИС ГБД ЕЛ cannot check the payment: the message waits for redelivery
        assert c.portal("GET", f"/requests/{rid}", token).json()["status"] == "SUBMITTED"
    finally:
        system.stack.start_service("registries")
        system.stack.wait_healthy(60)
    view = c.wait_status(token, rid, {"REGISTERED", "IN_PROCESSING", "REFUSED"}, timeout=90)
    assert view["status"] in ("REGISTERED", "IN_PROCESSING"), view["timeline"]
