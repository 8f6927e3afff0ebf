"""The gateway's admin API (/shep/v1/admin): its registries, maintenance mode, operational records.

Bearer token: ``EGOV_GATEWAY_ADMIN_TOKEN``, or the one kept in ``<data dir>/secrets/gateway-admin.token``.
"""
from __future__ import annotations

import asyncio
import hmac
from datetime import timedelta
from typing import Annotated, Literal

from cryptography import x509
from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from shared.auth import hash_password
from shared.errors import ApiError
from shared.messaging.broker import ensure_topics
from shared.app import JCSRoute, client_address, error_responses

from . import repository, service
from .models import Acl, Route, Service, System
from .seed import cert_sha256

bearer = HTTPBearer(auto_error=False)


async def admin(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
    """The admin bearer token, compared in constant time as bytes (any header value is just wrong).
    Wrong tokens from an address that keeps guessing get 429 AUTH_LOCKED for a while (the right one,
    256 random bits, is never locked out)."""
    gw = request.app.state.gw
    given = (creds.credentials if creds else "").encode("utf-8", "surrogateescape")
    if hmac.compare_digest(given, gw.admin_token.encode()):
        return
    address = client_address(request)
    await gw.admin_guard.ensure_allowed("admin:" + address, address)
    await gw.admin_guard.failed("admin:" + address, address)
    raise ApiError("ADMIN_AUTH_FAILED")


#: what the admin token check may answer, on every admin route
ADMIN = ("ADMIN_AUTH_FAILED", "AUTH_LOCKED")

router = APIRouter(route_class=JCSRoute, prefix="/shep/v1/admin", tags=["admin"], dependencies=[Depends(admin)])


Id = Annotated[str, PathParam(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class SystemIn(BaseModel):
    title: str = Field(min_length=1, max_length=255)
    password: str = Field(min_length=8, max_length=256)
    cert_pem: str = Field(max_length=16 * 1024)


class ServiceIn(BaseModel):
    title: str = Field(min_length=1, max_length=255)
    recipient_id: str | None = Field(None, min_length=1, max_length=64, description="None for a routed service")
    channel: Literal["async", "sync"] = "async"
    enabled: bool = True


class RouteIn(BaseModel):
    recipient_id: str = Field(min_length=1, max_length=64)


class MaintenanceIn(BaseModel):
    enabled: bool


class SystemOut(BaseModel):
    system_id: str
    cert_sha256: str


class RouteOut(BaseModel):
    service_id: str
    route_id: str
    recipient_id: str


class AclOut(BaseModel):
    sender_id: str
    service_id: str
    allowed: bool


class MaintenanceOut(BaseModel):
    maintenance: bool


class ResendOut(BaseModel):
    resent: int


@router.get("/registry", summary="The registries: systems, services, routes, ACL",
            responses=error_responses(*ADMIN))
async def registry(request: Request) -> dict:
    async with request.app.state.gw.db.session() as s:
        return {
            "systems": [{"system_id": x.system_id, "title": x.title, "cert_sha256": x.cert_sha256}
                        for x in await repository.systems(s)],
            "services": [{"service_id": x.service_id, "title": x.title, "recipient_id": x.recipient_id,
                          "channel": x.channel, "enabled": x.enabled} for x in await repository.services(s)],
            "routes": [{"service_id": x.service_id, "route_id": x.route_id, "recipient_id": x.recipient_id}
                       for x in await repository.routes(s)],
            "acl": [{"sender_id": x.sender_id, "service_id": x.service_id} for x in await repository.acl(s)],
        }


@router.put("/systems/{system_id}", response_model=SystemOut,
            summary="Register or update an information system (password, certificate)",
            responses=error_responses(*ADMIN, "VALIDATION_ERROR"))
async def put_system(system_id: Id, body: SystemIn, request: Request) -> dict:
    try:
        cert = x509.load_pem_x509_certificate(body.cert_pem.encode())
    except ValueError:
        raise ApiError("VALIDATION_ERROR", detail="cert_pem is not a PEM certificate")
    password_hash = await asyncio.to_thread(hash_password, body.password)  # argon2: off the event loop
    async with request.app.state.gw.db.session() as s:
        row = await repository.system(s, system_id) or System(system_id=system_id)
        row.title, row.password_hash = body.title, password_hash
        row.cert_pem, row.cert_sha256 = body.cert_pem, cert_sha256(cert)
        s.add(row)
    await ensure_topics(request.app.state.gw.settings.broker, [system_id])  # its delivery topic, before anyone uses it
    request.app.state.gw.directory.invalidate()
    return {"system_id": system_id, "cert_sha256": row.cert_sha256}


@router.put("/services/{service_id}", summary="Register or update a service (recipient, channel, enabled)",
            responses=error_responses(*ADMIN, "SENDER_UNKNOWN", "VALIDATION_ERROR"))
async def put_service(service_id: Id, body: ServiceIn, request: Request) -> dict:
    async with request.app.state.gw.db.session() as s:
        if body.recipient_id and await repository.system(s, body.recipient_id) is None:
            raise ApiError("SENDER_UNKNOWN", detail=f"recipient {body.recipient_id}")
        row = await repository.service(s, service_id) or Service(service_id=service_id)
        row.title, row.recipient_id, row.channel, row.enabled = body.title, body.recipient_id, body.channel, body.enabled
        s.add(row)
    request.app.state.gw.directory.invalidate()
    return {"service_id": service_id, **body.model_dump()}


@router.put("/routes/{service_id}/{route_id}", response_model=RouteOut,
            summary="Route a routed service's routeId to a recipient",
            responses=error_responses(*ADMIN, "NOT_FOUND", "VALIDATION_ERROR"))
async def put_route(service_id: Id, route_id: Id, body: RouteIn, request: Request) -> dict:
    async with request.app.state.gw.db.session() as s:
        if await repository.service(s, service_id) is None or await repository.system(s, body.recipient_id) is None:
            raise ApiError("NOT_FOUND")
        row = await repository.route(s, service_id, route_id) or Route(service_id=service_id, route_id=route_id)
        row.recipient_id = body.recipient_id
        s.add(row)
    request.app.state.gw.directory.invalidate()
    return {"service_id": service_id, "route_id": route_id, "recipient_id": body.recipient_id}


@router.put("/acl/{sender_id}/{service_id}", summary="allow a sender to call a service", response_model=AclOut,
            responses=error_responses(*ADMIN, "NOT_FOUND", "VALIDATION_ERROR"))
async def allow(sender_id: Id, service_id: Id, request: Request) -> dict:
    async with request.app.state.gw.db.session() as s:
        if await repository.system(s, sender_id) is None or await repository.service(s, service_id) is None:
            raise ApiError("NOT_FOUND")
        if await repository.allowed(s, sender_id, service_id) is None:
            s.add(Acl(sender_id=sender_id, service_id=service_id))
    request.app.state.gw.directory.invalidate()
    return {"sender_id": sender_id, "service_id": service_id, "allowed": True}


@router.delete("/acl/{sender_id}/{service_id}", summary="take the right away (deny is the default)",
               response_model=AclOut, responses=error_responses(*ADMIN, "VALIDATION_ERROR"))
async def deny(sender_id: Id, service_id: Id, request: Request) -> dict:
    async with request.app.state.gw.db.session() as s:
        await repository.disallow(s, sender_id, service_id)
    request.app.state.gw.directory.invalidate()
    return {"sender_id": sender_id, "service_id": service_id, "allowed": False}


@router.put("/maintenance", response_model=MaintenanceOut, summary="Maintenance mode on or off",
            responses=error_responses(*ADMIN, "VALIDATION_ERROR"))
async def maintenance(body: MaintenanceIn, request: Request) -> dict:
    """In maintenance the gateway refuses new messages (503 UNAVAILABLE) and /health answers 503."""
    request.app.state.gw.maintenance = body.enabled
    return {"maintenance": body.enabled}


@router.get("/dead-letters", summary="messages stopped or refused by their recipient",
            responses=error_responses(*ADMIN, "VALIDATION_ERROR"))
async def list_dead_letters(request: Request, limit: int = Query(100, ge=1, le=1000)) -> list[dict]:
    """DELIVERY_STOPPED (not confirmed by their deadline) and NOT_DELIVERED (refused for good by the
    recipient) messages, newest first, with the reason. ``egov dead-letters list`` prints the same."""
    async with request.app.state.gw.db.read() as s:
        return await service.dead_letters(s, limit)


class ResendIn(BaseModel):
    message_ids: list[str] | None = Field(None, description="the dead letters to resend; all of them when empty")


@router.post("/dead-letters/resend", summary="deliver dead letters again", response_model=ResendOut,
             responses=error_responses(*ADMIN, "VALIDATION_ERROR"))
async def resend_dead_letters(body: ResendIn, request: Request) -> dict:
    """Back ON_DELIVERY, due now, with a new delivery deadline; the recipient's inbox makes a
    message it had already applied a no-op."""
    gw = request.app.state.gw
    async with gw.db.session() as s:
        count = await service.resend(s, body.message_ids,
                                     deliver_for=timedelta(seconds=gw.settings.gateway_delivery_ttl_seconds))
    gw.relay.wakeup.set()
    return {"resent": count}


@router.get("/operations", summary="operational records: one per message",
            responses=error_responses(*ADMIN, "VALIDATION_ERROR"))
async def operations(request: Request, limit: int = Query(100, ge=1, le=1000),
                     sender_id: str | None = Query(None, max_length=64)) -> list[dict]:
    """Times in and out, sender, recipient, service, size, attempts and outcome of each message."""
    async with request.app.state.gw.db.read() as s:
        return [{"message_id": m.message_id, "correlation_id": m.correlation_id, "sender_id": m.sender_id,
                 "recipient_id": m.recipient_id, "service_id": m.service_id, "message_type": m.message_type,
                 "size": m.size, "received_at": m.received_at.isoformat(),
                 "delivered_at": m.delivered_at.isoformat() if m.delivered_at else None,
                 "attempts": m.attempts, "state": m.state, "status_message": m.status_message,
                 "error": m.error} for m in await repository.recent(s, limit, sender_id)]
