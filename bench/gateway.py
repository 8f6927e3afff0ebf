"""Messages per second through the gateway, next to the same load sent directly from a Kafka
producer to a consumer — in the same run, on the same embedded broker.

Through the gateway each message is: signed by the sender, posted over HTTP, authenticated,
its CMS verified (with the OCSP answer cached), checked against the registries and the ACL,
countersigned, written with its hash-chained log record, produced to the recipient's topic,
and read there by a consumer. Directly, a producer writes the same delivered envelopes and a
consumer reads them.
"""
from __future__ import annotations

import asyncio
import json
import socket
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from egov.bootstrap import prepare
from egov.launcher import Stack
from shared import envelope
from shared.pki.ca import DevCA
from shared.settings import CommonSettings
from shared.signing import Signer
from shared.topics import MessageType, deliver_topic

N = 500
CONCURRENCY = 16


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def read(bootstrap: str, topic: str, n: int) -> float:
    c = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"bench-{uuid.uuid4().hex}",
                         auto_offset_reset="earliest")
    await c.start()
    got = 0
    try:
        while got < n:
            for records in (await c.getmany(timeout_ms=500, max_records=1000)).values():
                got += len(records)
    finally:
        await c.stop()
    return time.perf_counter()


async def through_gateway(stack: Stack, keys: Path, ca: DevCA) -> float:
    gw = stack.url("gateway") + "/shep/v1"
    token = (stack.settings.data_dir / "secrets" / "gateway-admin.token").read_bytes().hex()
    admin = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=30) as http:
        for sid in ("bench_sender", "bench_sink"):
            issued = ca.issue_system(sid)
            issued.write(keys / sid)
            await http.put(f"{gw}/admin/systems/{sid}", headers=admin,
                           json={"title": sid, "password": "pw", "cert_pem": issued.cert_pem.decode()})
        await http.put(f"{gw}/admin/services/BENCH", headers=admin, json={"title": "bench", "recipient_id": "bench_sink"})
        await http.put(f"{gw}/admin/acl/bench_sender/BENCH", headers=admin)
        signer = Signer.from_dir(keys / "bench_sender")
        envelopes = []
        for i in range(N):
            env = envelope.build(service_id="BENCH", message_type=MessageType.REQUEST, data={"i": i, "x": "ы" * 200},
                                 sender_id="bench_sender", correlation_id=envelope.new_id())
            envelope.sign(env, signer)
            env["messageInfo"]["sender"]["password"] = "pw"
            envelopes.append(env)
        reader = asyncio.create_task(read(stack.settings.broker, deliver_topic("bench_sink"), N))
        sem = asyncio.Semaphore(CONCURRENCY)

        async def post(env):
            async with sem:
                r = await http.post(f"{gw}/async/messages", json=env)
                r.raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(post(e) for e in envelopes))
        end = await reader
    return N / (end - start)


async def direct(bootstrap: str) -> float:
    topic = f"bench.direct.{uuid.uuid4().hex[:6]}"
    payload = json.dumps({"messageInfo": {}, "messageData": {"data": {"x": "ы" * 200}},
                          "signature": "A" * 2400, "gatewaySignature": "A" * 2400}).encode()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    await producer.send_and_wait(topic, b"warm-up")
    reader = asyncio.create_task(read(bootstrap, topic, N + 1))
    start = time.perf_counter()
    try:
        await asyncio.gather(*(producer.send_and_wait(topic, payload, key=str(i).encode()) for i in range(N)))
    finally:
        await producer.stop()
    end = await reader
    return N / (end - start)


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        ports = {name: free_port() for name in ("portal", "gateway", "e_licensing", "provider_arm", "nca", "registries")}
        settings = CommonSettings(data_dir=Path(d), broker=f"127.0.0.1:{free_port()}",
                                  nca_url=f"http://127.0.0.1:{ports['nca']}", log_level="WARNING")
        prepare(settings)
        stack = Stack(settings, ports=ports)
        try:
            stack.start_all()
            stack.wait_healthy(90)
            ca = DevCA.load_or_create(settings.pki_dir / "ca", base_url=settings.nca_url)
            via = asyncio.run(through_gateway(stack, Path(d), ca))
            raw = asyncio.run(direct(settings.broker))
        finally:
            stack.stop_all()
    print(f"{N} messages of ~6 KB, {CONCURRENCY} concurrent senders, one recipient")
    print(f"{'through the gateway (HTTP → checks → log → Kafka → consumer)':<64}{via:>8.0f} msg/s")
    print(f"{'directly (Kafka producer → consumer), same broker':<64}{raw:>8.0f} msg/s")


if __name__ == "__main__":
    main()
