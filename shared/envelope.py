"""The ШЭП envelope (REFERENCE.md §1) in JSON, signed over its RFC 8785 (JCS) canonical form.

A sender builds::

    {"messageInfo": {"messageId", "correlationId", "serviceId", "messageType", "routeId",
                     "messageDate", "sender": {"senderId", "password"}, "properties": [],
                     "sessionId"},
     "messageData": {"data": {...}},
     "signature": "<CMS over JCS({messageInfo without sender.password, messageData})>"}

The gateway strips the password, adds ``deliveryInfo`` (the authoritative ``messageId`` and
``correlationId`` — assigned by the gateway when the sender left them empty — the recipient,
the time it was accepted) and countersigns in ``gatewaySignature`` over
JCS({messageInfo, messageData, signature, deliveryInfo}). The applicant's own signed document
travels inside ``messageData.data`` unchanged. docs/gateway-protocol.md is the full contract.
"""
from __future__ import annotations

import copy
import uuid
from datetime import datetime, timezone

from shared.jcs import canonical  # noqa: F401  (re-exported: what every signer and verifier hashes)
from shared.pki.cms import VerifyReport
from shared.signing import Signer, TrustStore


def new_id() -> str:
    return str(uuid.uuid4())


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


def build(
    *,
    service_id: str,
    message_type: str,
    data: dict,
    sender_id: str,
    correlation_id: str | None = None,
    message_id: str | None = None,
    route_id: str | None = None,
    properties: dict[str, str] | None = None,
) -> dict:
    return {
        "messageInfo": {
            "messageId": message_id or new_id(),
            "correlationId": correlation_id,
            "serviceId": service_id,
            "messageType": message_type,
            "routeId": route_id,
            "messageDate": now_iso(),
            "sender": {"senderId": sender_id},
            "properties": [{"key": k, "value": v} for k, v in (properties or {}).items()],
            "sessionId": None,
        },
        "messageData": {"data": data},
    }


def _without_password(info: dict) -> dict:
    info = copy.deepcopy(info)
    info.get("sender", {}).pop("password", None)
    return info


def sender_signed_bytes(env: dict) -> bytes:
    return canonical({"messageInfo": _without_password(env["messageInfo"]), "messageData": env["messageData"]})


def sign(env: dict, signer: Signer) -> dict:
    """Sign an envelope as its sender (the password, if any, is not covered)."""
    env["signature"] = signer.sign(sender_signed_bytes(env))
    return env


async def verify_sender(env: dict, trust: TrustStore) -> VerifyReport:
    """Check the sender's signature (raises ``SignatureError``); the report names the signer."""
    return await trust.verify(env["signature"], sender_signed_bytes(env))


def gateway_signed_bytes(env: dict) -> bytes:
    return canonical({k: env[k] for k in ("messageInfo", "messageData", "signature", "deliveryInfo")})


def countersign(env: dict, delivery_info: dict, signer: Signer) -> dict:
    """The gateway's countersignature over what it delivers."""
    out = {
        "messageInfo": _without_password(env["messageInfo"]),
        "messageData": env["messageData"],
        "signature": env["signature"],
        "deliveryInfo": delivery_info,
    }
    out["gatewaySignature"] = signer.sign(gateway_signed_bytes(out))
    return out


async def verify_gateway(env: dict, trust: TrustStore) -> VerifyReport:
    """Check the gateway's countersignature over a delivered envelope (raises ``SignatureError``)."""
    return await trust.verify(env["gatewaySignature"], gateway_signed_bytes(env))


def properties(env: dict) -> dict[str, str]:
    return {p["key"]: p["value"] for p in (env.get("messageInfo") or {}).get("properties") or []}
