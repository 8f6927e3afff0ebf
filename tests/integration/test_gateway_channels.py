"""The gateway's channels and registries over the real broker: sync with its time limit, pull,
delivery states, dead letters, maintenance, metrics, and what a message looks like on its topic."""
from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import threading
import time
import uuid

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared import envelope
from shared.signing import Signer
from shared.topics import DEAD_LETTER_TOPIC, Header, MessageType, deliver_topic

from .test_chain import assert_error

pytestmark = pytest.mark.integration


class Parties:
    """A sender ("tester") and a recipient ("echo") registered through the admin API."""

    def __init__(self, system, tmp_path):
        self.system = system
        self.gw = system.url("gateway") + "/shep/v1"
        token = (system.settings.data_dir / "secrets" / "gateway-admin.token").read_bytes().hex()
        self.admin = {"Authorization": f"Bearer {token}"}
        suffix = uuid.uuid4().hex[:6]
        self.tester, self.echo = f"tester_{suffix}", f"echo_{suffix}"
        self.keys = {}
        for sid in (self.tester, self.echo):
            issued = system.ca.issue_system(sid)
            issued.write(tmp_path / sid)
            self.keys[sid] = (Signer.from_dir(tmp_path / sid), "pw-" + sid)
            self.put(f"/admin/systems/{sid}", {"title": sid, "password": "pw-" + sid, "cert_pem": issued.cert_pem.decode()})
        self.sync_service, self.async_service = f"ECHO_SYNC_{suffix}", f"ECHO_ASYNC_{suffix}"
        self.put(f"/admin/services/{self.sync_service}", {"title": "echo", "recipient_id": self.echo, "channel": "sync"})
        self.put(f"/admin/services/{self.async_service}", {"title": "echo", "recipient_id": self.echo})
        for service in (self.sync_service, self.async_service):
            self.put(f"/admin/acl/{self.tester}/{service}", None)

    def put(self, path: str, body) -> httpx.Response:
        r = httpx.put(self.gw + path, json=body, headers=self.admin)
        assert r.status_code == 200, r.text
        return r

    def envelope(self, service_id: str, data: dict, **props) -> dict:
        signer, password = self.keys[self.tester]
        env = envelope.build(service_id=service_id, message_type=MessageType.REQUEST, data=data,
                             sender_id=self.tester, correlation_id=envelope.new_id(),
                             properties={k: str(v) for k, v in props.items()})
        envelope.sign(env, signer)
        env["messageInfo"]["sender"]["password"] = password
        return env

    def send(self, data: dict) -> str:
        r = httpx.post(self.gw + "/async/messages", json=self.envelope(self.async_service, data))
        assert r.status_code == 200, r.text
        return r.json()["messageId"]

    def status(self, message_id: str) -> dict:
        return httpx.get(f"{self.gw}/async/messages/{message_id}/status", auth=(self.tester, "pw-" + self.tester)).json()

    def confirm(self, message_id: str, error: dict | None = None) -> None:
        _, password = self.keys[self.echo]
        r = httpx.post(f"{self.gw}/async/messages/{message_id}/delivery", json={
            "messageId": message_id, "serviceId": self.async_service,
            "sender": {"senderId": self.echo, "password": password},
            "deliveryStatus": {"receiveStatus": "NOT_DELIVERED" if error else "DELIVERED", "error": error}})
        assert r.status_code == 200, r.text

    def reply(self, message_id: str, data: dict | None = None, error: dict | None = None) -> httpx.Response:
        signer, password = self.keys[self.echo]
        body = {"responseData": {"data": data} if data is not None else None, "errorInfo": error}
        signed = envelope.canonical({"messageId": message_id, **body})
        return httpx.post(f"{self.gw}/sync/{message_id}/reply", json={
            **body, "sender": {"senderId": self.echo, "password": password}, "signature": signer.sign(signed)})


def consume(system, topic: str, count: int, timeout: float = 30) -> list:
    """Up to ``count`` records of ``topic`` from the beginning, read without a consumer group."""
    async def run():
        c = AIOKafkaConsumer(bootstrap_servers=system.settings.broker, enable_auto_commit=False)
        await c.start()
        got, deadline = [], time.monotonic() + timeout
        try:
            await c.topics()  # fetch metadata
            partitions = c.partitions_for_topic(topic) or set()
            c.assign([TopicPartition(topic, p) for p in partitions])
            await c.seek_to_beginning()
            while len(got) < count and time.monotonic() < deadline:
                batch = await c.getmany(timeout_ms=500)
                for records in batch.values():
                    got.extend(records)
                if not batch and count > 1000:  # "everything there is": stop at the first empty poll
                    break
        finally:
            await c.stop()
        return got

    return asyncio.run(run())


@pytest.fixture
def parties(system, tmp_path):
    return Parties(system, tmp_path)


def test_wrong_channel_and_disabled_service(parties):
    r = httpx.post(parties.gw + "/async/messages", json=parties.envelope(parties.sync_service, {}))
    assert_error(r, 400, "WRONG_CHANNEL")
    parties.put(f"/admin/services/{parties.async_service}", {"title": "echo", "recipient_id": parties.echo, "enabled": False})
    r = httpx.post(parties.gw + "/async/messages", json=parties.envelope(parties.async_service, {}))
    assert_error(r, 503, "SERVICE_DISABLED")
    parties.put(f"/admin/acl/{parties.tester}/{parties.async_service}", None)
    httpx.delete(f"{parties.gw}/admin/acl/{parties.tester}/{parties.async_service}", headers=parties.admin)
    r = httpx.post(parties.gw + "/async/messages", json=parties.envelope(parties.async_service, {}))
    assert_error(r, 403, "ACCESS_DENIED")  # checked before "disabled", as X-Road does


def test_sync_call_without_a_reply_times_out_within_its_limit(parties):
    start = time.monotonic()
    r = httpx.post(parties.gw + "/sync", json=parties.envelope(parties.sync_service, {"q": 1}, timeoutSeconds=2),
                   timeout=30)
    elapsed = time.monotonic() - start
    err = assert_error(r, 504, "SYNC_TIMEOUT")
    assert 2 <= elapsed < 5
    assert parties.status(err["messageId"])["messageState"] == "DELIVERY_STOPPED"


def _answer_sync_calls(parties, *, error: dict | None = None) -> threading.Thread:
    """The recipient: reads its topic and answers the first sync request still waiting."""
    async def run():
        c = AIOKafkaConsumer(deliver_topic(parties.echo), bootstrap_servers=parties.system.settings.broker,
                             group_id=f"echo-{uuid.uuid4().hex}", auto_offset_reset="earliest")
        await c.start()
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                for records in (await c.getmany(timeout_ms=500)).values():
                    for record in records:
                        env = json.loads(record.value)
                        await envelope.verify_gateway(env, parties.system.client_trust)
                        data = env["messageData"]["data"]
                        r = await asyncio.to_thread(parties.reply, env["deliveryInfo"]["messageId"],
                                                    None if error else {"echo": data}, error)
                        if r.status_code == 200:
                            return  # earlier requests on the topic are answered already: 404
        finally:
            await c.stop()

    t = threading.Thread(target=lambda: asyncio.run(run()), daemon=True)
    t.start()
    return t


def test_sync_call_gets_the_recipients_answer_or_its_error(parties):
    t = _answer_sync_calls(parties)
    r = httpx.post(parties.gw + "/sync", json=parties.envelope(parties.sync_service, {"q": "сәлем"}), timeout=30)
    t.join(5)
    assert r.status_code == 200, r.text
    assert r.json()["responseData"]["data"] == {"echo": {"q": "сәлем"}}

    t = _answer_sync_calls(parties, error={"errorCode": "NO_SUCH_PERSON", "errorMessage": "not in ГБД ФЛ"})
    r = httpx.post(parties.gw + "/sync", json=parties.envelope(parties.sync_service, {"q": 2}), timeout=30)
    t.join(5)
    err = assert_error(r, 502, "RECIPIENT_ERROR")
    assert err["subError"]["errorCode"] == "NO_SUCH_PERSON"  # the recipient's own error, untouched


def test_message_stays_on_delivery_until_the_recipient_confirms_and_can_be_pulled(parties):
    message_id = parties.send({"n": 1})
    assert parties.status(message_id)["messageState"] == "ON_DELIVERY"
    pulled = httpx.get(parties.gw + "/async/messages", params={"serviceId": parties.async_service},
                       auth=(parties.echo, "pw-" + parties.echo)).json()["messages"]
    assert [m["deliveryInfo"]["messageId"] for m in pulled] == [message_id]
    time.sleep(2 * parties.system.settings.redelivery_seconds)
    status = parties.status(message_id)
    assert status["messageState"] == "ON_DELIVERY" and status["attempts"] >= 2  # redelivered, still waiting
    parties.confirm(message_id)
    assert parties.status(message_id)["messageState"] == "DELIVERED"


def test_refused_message_goes_to_the_dead_letter_topic_and_the_rest_still_arrive(parties):
    poison = parties.send({"poison": True})
    after = [parties.send({"n": i}) for i in range(3)]
    parties.confirm(poison, error={"errorCode": "CANNOT_PARSE", "errorMessage": "poison"})
    for mid in after:
        parties.confirm(mid)
    delivered = {json.loads(r.value)["deliveryInfo"]["messageId"] for r in consume(parties.system, deliver_topic(parties.echo), 4)}
    assert set(after) <= delivered
    dead = [r for r in consume(parties.system, DEAD_LETTER_TOPIC, 50, timeout=10)
            if dict(r.headers).get(Header.MESSAGE_ID) == poison.encode()]
    assert dead and b"CANNOT_PARSE" in dict(dead[0].headers)[Header.DEAD_LETTER_REASON]
    assert parties.status(poison)["messageState"] == "NOT_DELIVERED"
    assert all(parties.status(m)["messageState"] == "DELIVERED" for m in after)


def test_maintenance_mode_and_metrics(parties):
    parties.put("/admin/maintenance", {"enabled": True})
    try:
        assert httpx.get(parties.system.url("gateway") + "/health").status_code == 503
        r = httpx.post(parties.gw + "/async/messages", json=parties.envelope(parties.async_service, {}))
        assert_error(r, 503, "UNAVAILABLE")
    finally:
        parties.put("/admin/maintenance", {"enabled": False})
    assert httpx.get(parties.system.url("gateway") + "/health").status_code == 200
    parties.send({"n": 1})
    metrics = httpx.get(parties.system.url("gateway") + "/metrics").text
    assert f'shep_messages_total{{channel="async",outcome="ACCEPTED",sender="{parties.tester}"' in metrics
    assert f'outcome="UNAVAILABLE",sender="{parties.tester}"' in metrics
    ops = httpx.get(parties.gw + "/admin/operations", params={"sender_id": parties.tester}, headers=parties.admin).json()
    assert ops and {"received_at", "delivered_at", "size", "state"} <= set(ops[0])
    assert_error(httpx.get(parties.gw + "/admin/operations"), 401, "ADMIN_AUTH_FAILED")


def read_with_kcat(system, topic: str) -> list[dict] | None:
    """kcat's JSON records of a topic, or None where kcat cannot talk to the broker: the
    librdkafka in Debian's kcat fails the ApiVersions handshake with the embedded Tansu
    (against Apache Kafka it works)."""
    if shutil.which("kcat") is None:
        return None
    r = subprocess.run(["kcat", "-b", system.settings.broker, "-C", "-t", topic, "-o", "beginning", "-e", "-J"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        assert "ApiVersionRequest failed" in r.stderr, r.stderr  # the known handshake failure, nothing else
        return None
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def read_with_aiokafka(system, topic: str) -> list[dict]:
    """The same JSON shape as kcat -J, read with a plain Kafka consumer."""
    return [{"key": r.key.decode(), "payload": r.value.decode(),
             "headers": [x for k, v in r.headers for x in (k, v.decode())]}
            for r in consume(system, topic, 10_000, timeout=5)]


def test_a_message_read_off_its_topic_is_the_documented_envelope(parties):
    message_id = parties.send({"ИИН": "860717450455"})
    topic = deliver_topic(parties.echo)
    deadline, mine = time.monotonic() + 30, []
    while not mine and time.monotonic() < deadline:
        records = read_with_kcat(parties.system, topic)
        if records is None:
            records = read_with_aiokafka(parties.system, topic)
        mine = [r for r in records if json.loads(r["payload"])["deliveryInfo"]["messageId"] == message_id]
    record = mine[0]
    env = json.loads(record["payload"])
    assert set(env) == {"messageInfo", "messageData", "signature", "deliveryInfo", "gatewaySignature"}
    assert "password" not in env["messageInfo"]["sender"]
    assert record["key"] == env["deliveryInfo"]["correlationId"]
    headers = dict(zip(record["headers"][::2], record["headers"][1::2]))
    assert headers[Header.MESSAGE_ID] == message_id and headers[Header.SENDER_ID] == parties.tester
    trust = parties.system.client_trust
    assert trust.verify_sync(env["gatewaySignature"], envelope.gateway_signed_bytes(env)).signer.common_name == "shep"
    assert trust.verify_sync(env["signature"], envelope.sender_signed_bytes(env)).signer.common_name == parties.tester
