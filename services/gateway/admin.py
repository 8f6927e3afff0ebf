"""The gateway's admin API (/shep/v1/admin): its registries, maintenance mode, operational records.

Bearer token: ``EGOV_GATEWAY_ADMIN_TOKEN``, or the one kept in ``<data dir>/secrets/gateway-admin.token``.
"""
from __future__ import annotations

import hmac
from typing import Literal

from cryptography import x509
from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy import delete, select

from shared.auth import hash_password
from shared.errors import ApiError
from shared.messaging.broker import ensure_topics

from .models import Acl, Message, Route, Service, System
from .registry import cert_sha256

bearer = HTTPBearer(auto_error=False)


def admin(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
    token = request.app.state.gw.admin_token
    if creds is None or not hmac.compare_digest(creds.credentials, token):
        raise ApiError("ADMIN_AUTH_FAILED")


router = APIRouter(prefix="/shep/v1/admin", tags=["admin"], dependencies=[Depends(admin)])


class SystemIn(BaseModel):
    title: str
    password: str
    cert_pem: str


class ServiceIn(BaseModel):
    title: str
    recipient_id: str | None = None
    channel: Literal["async", "sync"] = "async"
    enabled: bool = True


class RouteIn(BaseModel):
    recipient_id: str


class MaintenanceIn(BaseModel):
    enabled: bool


@router.get("/registry")
async def registry(request: Request) -> dict:
    async with request.app.state.gw.db.session() as s:
        return {
            "systems": [{"system_id": x.system_id, "title": x.title, "cert_sha256": x.cert_sha256}
                        for x in await s.scalars(select(System))],
            "services": [{"service_id": x.service_id, "title": x.title, "recipient_id": x.recipient_id,
                          "channel": x.channel, "enabled": x.enabled} for x in await s.scalars(select(Service))],
            "routes": [{"service_id": x.service_id, "route_id": x.route_id, "recipient_id": x.recipient_id}
                       for x in await s.scalars(select(Route))],
            "acl": [{"sender_id": x.sender_id, "service_id": x.service_id} for x in await s.scalars(select(Acl))],
        }


@router.put("/systems/{system_id}")
async def put_system(system_id: str, body: SystemIn, request: Request) -> dict:
    try:
        cert = x509.load_pem_x509_certificate(body.cert_pem.encode())
    except ValueError:
        raise ApiError("VALIDATION_ERROR", detail="cert_pem is not a PEM certificate")
    async with request.app.state.gw.db.session() as s:
        row = await s.get(System, system_id) or System(system_id=system_id)
        row.title, row.password_hash = body.title, hash_password(body.password)
        row.cert_pem, row.cert_sha256 = body.cert_pem, cert_sha256(cert)
        s.add(row)
    await ensure_topics(request.app.state.gw.settings.broker, [system_id])  # its delivery topic, before anyone uses it
    return {"system_id": system_id, "cert_sha256": row.cert_sha256}


@router.put("/services/{service_id}")
async def put_service(service_id: str, body: ServiceIn, request: Request) -> dict:
    async with request.app.state.gw.db.session() as s:
        if body.recipient_id and await s.get(System, body.recipient_id) is None:
            raise ApiError("SENDER_UNKNOWN", detail=f"recipient {body.recipient_id}")
        row = await s.get(Service, service_id) or Service(service_id=service_id)
        row.title, row.recipient_id, row.channel, row.enabled = body.title, body.recipient_id, body.channel, body.enabled
        s.add(row)
    return {"service_id": service_id, **body.model_dump()}


@router.put("/routes/{service_id}/{route_id}")
async def put_route(service_id: str, route_id: str, body: RouteIn, request: Request) -> dict:
    async with request.app.state.gw.db.session() as s:
        if await s.get(Service, service_id) is None or await s.get(System, body.recipient_id) is None:
            raise ApiError("NOT_FOUND")
        row = await s.get(Route, (service_id, route_id)) or Route(service_id=service_id, route_id=route_id)
        row.recipient_id = body.recipient_id
        s.add(row)
    return {"service_id": service_id, "route_id": route_id, "recipient_id": body.recipient_id}


@router.put("/acl/{sender_id}/{service_id}", summary="allow a sender to call a service")
async def allow(sender_id: str, service_id: str, request: Request) -> dict:
    async with request.app.state.gw.db.session() as s:
        if await s.get(System, sender_id) is None or await s.get(Service, service_id) is None:
            raise ApiError("NOT_FOUND")
        if await s.get(Acl, (sender_id, service_id)) is None:
            s.add(Acl(sender_id=sender_id, service_id=service_id))
    return {"sender_id": sender_id, "service_id": service_id, "allowed": True}


@router.delete("/acl/{sender_id}/{service_id}", summary="take the right away (deny is the default)")
async def deny(sender_id: str, service_id: str, request: Request) -> dict:
    async with request.app.state.gw.db.session() as s:
        await s.execute(delete(Acl).where(Acl.sender_id == sender_id, Acl.service_id == service_id))
    return {"sender_id": sender_id, "service_id": service_id, "allowed": False}


@router.put("/maintenance")
async def maintenance(body: MaintenanceIn, request: Request) -> dict:
    """In maintenance the gateway refuses new messages (503 UNAVAILABLE) and /health answers 503."""
    request.app.state.gw.maintenance = body.enabled
    return {"maintenance": body.enabled}


@router.get("/operations", summary="operational records: one per message")
async def operations(request: Request, limit: int = Query(100, ge=1, le=1000),
                     sender_id: str | None = None) -> list[dict]:
    """Times in and out, sender, recipient, service, size, attempts and outcome of each message."""
    q = select(Message).order_by(Message.received_at.desc()).limit(limit)
    if sender_id:
        q = q.where(Message.sender_id == sender_id)
    async with request.app.state.gw.db.session() as s:
        return [{"message_id": m.message_id, "correlation_id": m.correlation_id, "sender_id": m.sender_id,
                 "recipient_id": m.recipient_id, "service_id": m.service_id, "message_type": m.message_type,
                 "size": m.size, "received_at": m.received_at.isoformat(),
                 "delivered_at": m.delivered_at.isoformat() if m.delivered_at else None,
                 "attempts": m.attempts, "state": m.state, "status_message": m.status_message,
                 "error": m.error} for m in await s.scalars(q)]
