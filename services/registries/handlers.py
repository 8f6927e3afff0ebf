"""What the registries answer on the gateway's sync channel: for each of the four systems, one
handler per serviceId it serves."""
from __future__ import annotations

from pydantic import BaseModel, ValidationError

from shared.db import Database
from shared.errors import ApiError
from shared.messaging.sync import SyncHandler, SyncRequest
from shared.topics import ServiceId, SystemId

from . import service
from .schemas import OrganisationQuery, PaymentIn, PaymentQuery, PersonQuery, PowerOfAttorneyQuery


def _parse(model: type[BaseModel], data) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ApiError("REGISTRY_QUERY_INVALID", detail=f"{'/'.join(map(str, first['loc']))}: {first['msg']}")


def handlers(db: Database) -> dict[str, dict[str, SyncHandler]]:
    """system id → serviceId → handler."""
    def lookup(model, fn) -> SyncHandler:
        async def handle(req: SyncRequest) -> dict:
            q = _parse(model, req.data)
            async with db.read() as s:
                return await fn(s, q)
        return handle

    async def pay(req: SyncRequest) -> dict:
        body = _parse(PaymentIn, req.data)
        return await service.record_payment_once(db, body, request_key=req.message_id, source=req.sender_id)

    return {
        SystemId.GBD_FL: {ServiceId.GBDFL_PERSON: lookup(PersonQuery, service.find_person)},
        SystemId.GBD_UL: {ServiceId.GBDUL_ORGANISATION: lookup(OrganisationQuery, service.find_organisation)},
        SystemId.ENIS: {ServiceId.ENIS_POWER_OF_ATTORNEY: lookup(PowerOfAttorneyQuery, service.find_power_of_attorney)},
        SystemId.PSHEP: {ServiceId.PSHEP_PAYMENT_STATUS: lookup(PaymentQuery, service.find_payment),
                         ServiceId.PSHEP_PAY: pay},
    }
