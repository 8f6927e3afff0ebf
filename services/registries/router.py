"""The registries' admin API (/api/v1/admin, bearer token): add and read records, for tests and demos.

The token is ``EGOV_REGISTRIES_ADMIN_TOKEN``, or the hex of ``<data dir>/secrets/registries-admin.token``.
Other systems never call this API: they ask through the gateway's sync channel (docs/registries.md).
"""
from __future__ import annotations

import hmac
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.app import JCSRoute, error_responses
from shared.errors import ApiError

from . import repository, service
from .models import Organisation, Person, PowerOfAttorney
from .schemas import (
    OrganisationIn,
    OrganisationQuery,
    PaymentIn,
    PaymentQuery,
    PersonIn,
    PersonQuery,
    PowerOfAttorneyIn,
)

bearer = HTTPBearer(auto_error=False)


async def admin(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
    given = (creds.credentials if creds else "").encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(given, request.app.state.admin_token.encode()):
        raise ApiError("ADMIN_AUTH_FAILED", detail="the registries' admin token")


router = APIRouter(route_class=JCSRoute, prefix="/api/v1/admin", tags=["admin"], dependencies=[Depends(admin)],
                   responses=error_responses("ADMIN_AUTH_FAILED", "VALIDATION_ERROR"))

IinBin = Annotated[str, PathParam(pattern=r"^\d{12}$")]
Number = Annotated[str, PathParam(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_./-]+$")]


def _db(request: Request):
    return request.app.state.rt.db


@router.put("/persons/{iin}", summary="ГБД ФЛ: add or replace an individual")
async def put_person(iin: IinBin, body: PersonIn, request: Request) -> dict:
    async with _db(request).session() as s:
        return {"person": service.person_view(await service.put(s, Person, iin, body.model_dump()))}


@router.get("/persons/{iin}", summary="ГБД ФЛ: an individual (404 PERSON_NOT_FOUND)",
             responses=error_responses("PERSON_NOT_FOUND", "ADMIN_AUTH_FAILED", "VALIDATION_ERROR"))
async def get_person(iin: IinBin, request: Request) -> dict:
    async with _db(request).read() as s:
        return await service.find_person(s, PersonQuery(iin=iin))


@router.put("/organisations/{bin}", summary="ГБД ЮЛ: add or replace an organisation")
async def put_organisation(bin: IinBin, body: OrganisationIn, request: Request) -> dict:
    async with _db(request).session() as s:
        return {"organisation": service.organisation_view(await service.put(s, Organisation, bin, body.model_dump()))}


@router.get("/organisations/{bin}", summary="ГБД ЮЛ: an organisation (404 ORGANISATION_NOT_FOUND)",
             responses=error_responses("ORGANISATION_NOT_FOUND", "ADMIN_AUTH_FAILED", "VALIDATION_ERROR"))
async def get_organisation(bin: IinBin, request: Request) -> dict:
    async with _db(request).read() as s:
        return await service.find_organisation(s, OrganisationQuery(bin=bin))


@router.put("/powers-of-attorney/{number}", summary="ЕНИС: add or replace a power of attorney")
async def put_power_of_attorney(number: Number, body: PowerOfAttorneyIn, request: Request) -> dict:
    if body.valid_until < body.valid_from:
        raise ApiError("VALIDATION_ERROR", detail="valid_until precedes valid_from")
    async with _db(request).session() as s:
        row = await service.put(s, PowerOfAttorney, number, body.model_dump())
        return {"power_of_attorney": service.power_of_attorney_view(row)}


@router.post("/powers-of-attorney/{number}/revoke", summary="ЕНИС: revoke a power of attorney",
             responses=error_responses("POWER_OF_ATTORNEY_NOT_FOUND", "ADMIN_AUTH_FAILED", "VALIDATION_ERROR"))
async def revoke_power_of_attorney(number: Number, request: Request) -> dict:
    async with _db(request).session() as s:
        row = await repository.power_of_attorney(s, number)
        if row is None:
            raise ApiError("POWER_OF_ATTORNEY_NOT_FOUND", detail=number)
        row.revoked = True
        return {"power_of_attorney": service.power_of_attorney_view(row)}


@router.get("/powers-of-attorney/{number}", summary="ЕНИС: a power of attorney as recorded (revoked or not)",
             responses=error_responses("POWER_OF_ATTORNEY_NOT_FOUND", "ADMIN_AUTH_FAILED", "VALIDATION_ERROR"))
async def get_power_of_attorney(number: Number, request: Request) -> dict:
    async with _db(request).read() as s:
        row = await repository.power_of_attorney(s, number)
        if row is None:
            raise ApiError("POWER_OF_ATTORNEY_NOT_FOUND", detail=number)
        return {"power_of_attorney": service.power_of_attorney_view(row)}


@router.post("/payments", status_code=201, summary="ПШЭП: record a payment fact directly")
async def post_payment(body: PaymentIn, request: Request) -> dict:
    async with _db(request).session() as s:
        return await service.record_payment(s, body, request_key=str(uuid.uuid4()), source="admin")


@router.get("/payments/{payment_id}", summary="ПШЭП: a payment by id (404 PAYMENT_NOT_FOUND)",
             responses=error_responses("PAYMENT_NOT_FOUND", "ADMIN_AUTH_FAILED", "VALIDATION_ERROR"))
async def get_payment(payment_id: Annotated[str, PathParam(max_length=36)], request: Request) -> dict:
    async with _db(request).read() as s:
        return await service.find_payment(s, PaymentQuery(payment_id=payment_id))
