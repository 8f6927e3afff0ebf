"""The registries' lookups on their own database (seeded as ``egov up`` seeds it)."""
from __future__ import annotations

import asyncio
from datetime import date

import pytest

from egov import demo
from services.registries import seed, service
from services.registries.handlers import handlers
from services.registries.models import Base, PowerOfAttorney
from services.registries.schemas import (
    OrganisationQuery,
    PaymentIn,
    PaymentQuery,
    PersonQuery,
    PowerOfAttorneyQuery,
)
from shared.db import Database
from shared.errors import CATALOGUE, ApiError
from shared.messaging.sync import SyncRequest, error_info
from shared.topics import ServiceId, SystemId


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'registries.db'}")

    async def setup():
        async with database.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        async with database.session() as s:
            await seed.seed(s, demo.APPLICANTS, demo.operators())

    asyncio.run(setup())
    yield database
    asyncio.run(database.dispose())


def run(db, fn, query):
    async def go():
        async with db.session() as s:
            return await fn(s, query)
    return asyncio.run(go())


def refusal(db, fn, query) -> str:
    with pytest.raises(ApiError) as info:
        run(db, fn, query)
    return info.value.code


def test_every_demo_person_is_in_gbdfl_with_the_birth_date_of_the_iin(db):
    for person in demo.APPLICANTS + demo.operators():
        found = run(db, service.find_person, PersonQuery(iin=person["iin"]))["person"]
        assert found["full_name"] == (person.get("signer_name") or person["full_name"])
        assert found["document_number"].isdigit() and found["address"]
    aigul = run(db, service.find_person, PersonQuery(iin="860717450455"))["person"]
    assert (aigul["surname"], aigul["name"], aigul["patronymic"]) == ("ИВАНОВА", "АЙГУЛЬ", "СЕРИКОВНА")
    assert aigul["birth_date"] == "1986-07-17"
    assert refusal(db, service.find_person, PersonQuery(iin="000101500017")) == "PERSON_NOT_FOUND"


def test_gbdul_has_the_demo_company_with_its_head(db):
    org = run(db, service.find_organisation, OrganisationQuery(bin="100340005775"))["organisation"]
    assert org == {"bin": "100340005775", "name": "ТОО «Демо Транс»",
                   "head": {"iin": "790302312018", "name": "АХМЕТОВ ЕРЛАН БОЛАТОВИЧ"},
                   "address": seed.DEMO_COMPANY_ADDRESS, "status": "ACTIVE"}
    assert run(db, service.find_organisation, OrganisationQuery(bin=demo.ALMATY.bin))["organisation"]["status"] == "ACTIVE"
    assert refusal(db, service.find_organisation, OrganisationQuery(bin="990140000011")) == "ORGANISATION_NOT_FOUND"


def test_enis_tells_valid_revoked_expired_and_out_of_scope(db):
    on = date(2026, 11, 30)
    valid = run(db, service.find_power_of_attorney, PowerOfAttorneyQuery(
        principal_iin_bin="100340005775", representative_iin="921201450129", service_code="S1", on=on))
    assert valid["power_of_attorney"]["number"] == "2026-0001-N" and valid["power_of_attorney"]["valid"]
    q = PowerOfAttorneyQuery
    assert refusal(db, service.find_power_of_attorney, q(number="2026-0001-N", service_code="S5", on=on)) == \
        "POWER_OF_ATTORNEY_SCOPE"
    assert refusal(db, service.find_power_of_attorney, q(number="2026-0001-N", on=date(2028, 1, 1))) == \
        "POWER_OF_ATTORNEY_EXPIRED"
    assert refusal(db, service.find_power_of_attorney, q(number="2025-0417-N", on=on)) == "POWER_OF_ATTORNEY_REVOKED"
    # given to someone else: not found for this representative
    assert refusal(db, service.find_power_of_attorney, q(number="2026-0001-N", representative_iin="860717450455")) == \
        "POWER_OF_ATTORNEY_NOT_FOUND"
    with pytest.raises(ValueError):
        q(principal_iin_bin="100340005775")


def test_enis_prefers_a_valid_power_over_a_revoked_one_of_the_same_parties(db):
    async def add():
        async with db.session() as s:
            s.add(PowerOfAttorney(number="X-1", principal_iin_bin="860717450455", representative_iin="921201450129",
                                  scope=["S2"], valid_from=date(2026, 1, 1), valid_until=date(2026, 12, 31),
                                  revoked=False))
    asyncio.run(add())
    found = run(db, service.find_power_of_attorney, PowerOfAttorneyQuery(
        principal_iin_bin="860717450455", representative_iin="921201450129", on=date(2026, 6, 1)))
    assert found["power_of_attorney"]["number"] == "X-1"


def test_pshep_payment_is_recorded_once_per_call_and_found_by_id_or_payer(db):
    body = PaymentIn(payer_iin_bin="860717450455", service_code="S2", region="almaty", amount=3692)
    first = asyncio.run(service.record_payment_once(db, body, request_key="m-1", source="portal"))["payment"]
    again = asyncio.run(service.record_payment_once(db, body, request_key="m-1", source="portal"))["payment"]
    assert first == again and first["status"] == "PAID" and first["currency"] == "KZT"
    assert run(db, service.find_payment, PaymentQuery(payment_id=first["payment_id"]))["payment"] == first
    assert run(db, service.find_payment, PaymentQuery(payer_iin_bin="860717450455", service_code="S2"))[
        "payment"]["payment_id"] == first["payment_id"]
    assert refusal(db, service.find_payment, PaymentQuery(payment_id=first["payment_id"],
                                                          payer_iin_bin="921201450129")) == "PAYMENT_NOT_FOUND"
    assert refusal(db, service.find_payment, PaymentQuery(payer_iin_bin="860717450455",
                                                          service_code="S1")) == "PAYMENT_NOT_FOUND"


def test_each_registry_is_its_own_system_serving_only_its_services(db):
    served = {system_id: set(h) for system_id, h in handlers(db).items()}
    assert served == {SystemId.GBD_FL: {ServiceId.GBDFL_PERSON}, SystemId.GBD_UL: {ServiceId.GBDUL_ORGANISATION},
                      SystemId.ENIS: {ServiceId.ENIS_POWER_OF_ATTORNEY},
                      SystemId.PSHEP: {ServiceId.PSHEP_PAYMENT_STATUS, ServiceId.PSHEP_PAY}}
    # and the gateway routes each serviceId to the system that serves it
    from services.gateway.seed import SERVICES
    assert {sid: SERVICES[sid][1] for sid in ServiceId.SYNC} == {
        sid: system_id for system_id, sids in served.items() for sid in sids}


def test_sync_handlers_parse_the_query_and_answer_with_catalogue_codes(db):
    h = {sid: fn for served in handlers(db).values() for sid, fn in served.items()}

    def call(service_id, data, message_id="m"):
        return asyncio.run(h[service_id](SyncRequest(message_id, None, service_id, "e_licensing", data, {})))

    assert call(ServiceId.GBDFL_PERSON, {"iin": "921201450129"})["person"]["name"] == "МАДИНА"
    with pytest.raises(ApiError) as info:
        call(ServiceId.GBDFL_PERSON, {"iin": "9212", "extra": 1})
    assert info.value.code == "REGISTRY_QUERY_INVALID"
    paid = call(ServiceId.PSHEP_PAY, {"payer_iin_bin": "100340005775", "service_code": "S1", "amount": 10}, "m-9")
    assert call(ServiceId.PSHEP_PAY, {"payer_iin_bin": "100340005775", "service_code": "S1", "amount": 10}, "m-9") == paid
    assert call(ServiceId.PSHEP_PAYMENT_STATUS, {"payment_id": paid["payment"]["payment_id"]}) == paid


def test_refusals_travel_as_errorinfo_with_both_languages():
    info = error_info(ApiError("PERSON_NOT_FOUND", detail="000101500017"))
    assert info["errorCode"] == "PERSON_NOT_FOUND" and info["errorMessage"] == "000101500017"
    spec = CATALOGUE["PERSON_NOT_FOUND"]
    assert info["errorData"] == {"message_ru": spec.message_ru, "message_kk": spec.message_kk, "step": "process 4",
                                 "retryable": False}


def test_the_con_operators_and_the_con_itself_are_in_the_registries(db):
    # the ЦОН's operators sign submissions as employees of the ЦОН's BIN: both are known to ГБД ФЛ / ГБД ЮЛ
    from shared.regulations.con import con

    desk = con()
    assert desk.operators
    for o in desk.operators:
        found = run(db, service.find_person, PersonQuery(iin=o["iin"]))["person"]
        assert found["full_name"] == o["full_name"]
    org = run(db, service.find_organisation, OrganisationQuery(bin=desk.bin))["organisation"]
    assert org["name"] == desk.name_ru and org["status"] == "ACTIVE"
    assert org["head"] == {"iin": desk.head["iin"], "name": desk.head["full_name"]}
    assert run(db, service.find_person, PersonQuery(iin=desk.head["iin"]))["person"]["full_name"] == desk.head["full_name"]


def test_the_registries_listen_on_8006_by_default(monkeypatch):
    from services.registries.settings import RegistriesSettings
    from shared.settings import DEFAULT_PORTS

    monkeypatch.delenv("EGOV_REGISTRIES_PORT", raising=False)
    assert DEFAULT_PORTS["registries"] == 8006
    assert RegistriesSettings().registries_port == 8006
