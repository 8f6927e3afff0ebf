"""Idempotent consumption of what the gateway delivers to a system's Kafka topic.

For each record: check the gateway's countersignature and the sender's signature; in one
database transaction, skip it if its messageId is in the inbox, else apply the handler and
insert the inbox row; then confirm delivery to the gateway (sendDeliveryNotification) and
commit the Kafka offset. A crash anywhere before the confirmation means the gateway
redelivers, and the inbox makes the second delivery a no-op that is confirmed again.
"""
from __future__ import annotations

import asyncio
import json
from typing import Awaitable, Callable

import httpx
import structlog
from aiokafka import AIOKafkaConsumer
from sqlalchemy.ext.asyncio import AsyncSession

from shared import envelope
from shared.db import Database, utcnow
from shared.errors import ApiError
from shared.pki.cms import SignatureError
from shared.signing import TrustStore
from shared.topics import SystemId, deliver_topic

log = structlog.get_logger("consumer")

Handler = Callable[[AsyncSession, dict], Awaitable[None]]


class GatewayClient:
    """The calls a recipient makes back to the gateway."""

    def __init__(self, gateway_url: str, system_id: str, password: str):
        self.base = gateway_url.rstrip("/") + "/shep/v1"
        self.system_id = system_id
        self.password = password
        self.http = httpx.AsyncClient(timeout=10)

    async def confirm(self, message_id: str, service_id: str, *, error: dict | None = None) -> bool:
        body = {
            "messageId": message_id,
            "serviceId": service_id,
            "sender": {"senderId": self.system_id, "password": self.password},
            "deliveryStatus": {
                "receiveStatus": "NOT_DELIVERED" if error else "DELIVERED",
                "statusDate": envelope.now_iso(),
                "resendMessage": False,
                "error": error,
            },
        }
        try:
            r = await self.http.post(f"{self.base}/async/messages/{message_id}/delivery", json=body)
            return r.status_code < 300
        except httpx.HTTPError:
            return False

    async def close(self) -> None:
        await self.http.aclose()


class GatewayConsumer:
    def __init__(
        self,
        *,
        system_id: str,
        bootstrap: str,
        db: Database,
        inbox_model,
        trust: TrustStore,
        handler: Handler,
        gateway: GatewayClient,
    ):
        self.system_id = system_id
        self.bootstrap = bootstrap
        self.db = db
        self.inbox_model = inbox_model
        self.trust = trust
        self.handler = handler
        self.gateway = gateway
        self.connected = False

    async def run(self) -> None:
        """Consume forever; reconnect after the broker goes away (it may restart empty)."""
        while True:
            consumer = AIOKafkaConsumer(
                deliver_topic(self.system_id),
                bootstrap_servers=self.bootstrap,
                group_id=self.system_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                metadata_max_age_ms=5000,
            )
            try:
                await consumer.start()
                self.connected = True
                while True:
                    batch = await consumer.getmany(timeout_ms=1000, max_records=100)
                    for records in batch.values():
                        for record in records:
                            await self.process(record.value)
                    if batch:
                        await consumer.commit()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer reconnecting", system=self.system_id, error=str(exc))
                await asyncio.sleep(1)
            finally:
                self.connected = False
                try:
                    await consumer.stop()
                except Exception:
                    pass

    async def process(self, raw: bytes) -> None:
        try:
            env = json.loads(raw)
            info = env["deliveryInfo"]
            message_id, correlation_id = info["messageId"], info["correlationId"]
            service_id = env["messageInfo"]["serviceId"]
            sender_id = env["messageInfo"]["sender"]["senderId"]
        except (ValueError, KeyError, TypeError):
            log.error("undecodable record dropped", system=self.system_id)
            return
        rejection = await asyncio.to_thread(self._check_signatures, env, sender_id)  # CPU and OCSP, off the loop
        applied = True
        try:
            async with self.db.session() as s:
                if await s.get(self.inbox_model, message_id) is not None:
                    applied = False
                elif rejection:
                    s.add(self._inbox_row(message_id, correlation_id, service_id, sender_id, "REJECTED", rejection))
                else:
                    try:
                        async with s.begin_nested():
                            await self.handler(s, env)
                        outcome = "APPLIED"
                    except ApiError as exc:
                        rejection = f"{exc.code}: {exc.detail or ''}"
                        outcome = "REJECTED"
                    s.add(self._inbox_row(message_id, correlation_id, service_id, sender_id, outcome, rejection))
        except Exception:
            # not confirmed: the gateway redelivers it later (a bounded number of times)
            log.exception("message not applied", message_id=message_id)
            return
        if not applied:
            log.info("duplicate delivery ignored", message_id=message_id)
        error = None
        if rejection:
            log.warning("message rejected", message_id=message_id, reason=rejection)
            error = {"errorCode": rejection.split(":")[0], "errorMessage": rejection, "errorDate": envelope.now_iso()}
        await self.gateway.confirm(message_id, service_id, error=error)

    def _check_signatures(self, env: dict, sender_id: str) -> str | None:
        try:
            gw = envelope.verify_gateway(env, self.trust).signer
            if gw.common_name != SystemId.GATEWAY:
                return f"ENVELOPE_INVALID: countersigned by {gw.common_name}, not the gateway"
            sender = envelope.verify_sender(env, self.trust).signer
            if sender.common_name != sender_id:
                return f"ENVELOPE_INVALID: signed by {sender.common_name}, not {sender_id}"
        except SignatureError as exc:
            return f"SENDER_SIGNATURE_INVALID: {exc.code} {exc.detail or ''}"
        except KeyError:
            return "ENVELOPE_INVALID: signature missing"
        return None

    def _inbox_row(self, message_id, correlation_id, service_id, sender_id, outcome, reason):
        return self.inbox_model(
            message_id=message_id,
            correlation_id=correlation_id,
            service_id=service_id,
            sender_id=sender_id,
            received_at=utcnow(),
            outcome=outcome,
            reason=reason,
        )

