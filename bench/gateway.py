"""Messages per second through the gateway alone, and a Kafka producer → consumer directly on the
same embedded broker — both with everything started, registered and joined before the clock starts.

Through the gateway each message is: signed by the sender (before the clock), posted over HTTP
(``POST /shep/v1/async/messages/batch``, or one by one), authenticated, its CMS verified (the OCSP
answer cached), checked against the registries and the ACL, countersigned, written with its
hash-chained log record, produced to the recipient's topic, read there by the recipient's consumer,
which confirms what it read (``POST /shep/v1/async/delivery``) as every recipient does, so that
no redelivery runs during the measurement. The clock stops when the consumer has read every message.

Directly, a producer (acks=all) writes messages of the same size class (1.5 KB) and a consumer —
its group joined, its partitions assigned and a first record seen before timing — reads them.
"""
from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared import envelope
from shared.messaging.broker import ensure_topics
from shared.pki.ca import DevCA
from shared.signing import Signer
from shared.topics import MessageType, deliver_topic

PAYLOAD_BYTES = 1500
PASSWORD = "bench-password"


class Reader:
    """A consumer in its own group that counts the distinct message ids it read; started (group
    joined, partitions assigned) and proven to read before anyone times it."""

    def __init__(self, bootstrap: str, topic: str, on_batch=None):
        self.consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"bench-{uuid.uuid4().hex}",
                                         auto_offset_reset="earliest", max_partition_fetch_bytes=4 * 1024 * 1024)
        self.seen: set[str] = set()
        self.bytes = 0
        self.on_batch = on_batch
        self.changed = asyncio.Event()
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        await self.consumer.start()
        self.task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            batch = await self.consumer.getmany(timeout_ms=200, max_records=2000)
            ids = []
            for records in batch.values():
                for r in records:
                    mid = dict(r.headers).get("shep-message-id")
                    ids.append(mid.decode() if mid else r.key.decode())
                    self.bytes += len(r.value or b"")
            if ids:
                self.seen.update(ids)
                self.changed.set()
                if self.on_batch:
                    await self.on_batch(ids)

    async def wait_for(self, ids: set[str], timeout: float = 120) -> float:
        deadline = time.perf_counter() + timeout
        while not ids <= self.seen:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{len(ids - self.seen)} of {len(ids)} messages not read in {timeout}s")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), 1.0)
            except asyncio.TimeoutError:
                pass
        return time.perf_counter()

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, Exception):
                pass
        await self.consumer.stop()


async def kafka_direct(bootstrap: str, n: int = 20000, size: int = PAYLOAD_BYTES) -> dict:
    topic = f"bench.direct.{uuid.uuid4().hex[:6]}"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    reader = Reader(bootstrap, topic)
    try:
        await producer.send_and_wait(topic, b"x" * size, key=b"warm-up")
        await reader.start()
        await reader.wait_for({"warm-up"}, 60)  # joined, assigned, reading
        payload = os.urandom(size // 2).hex().encode()
        keys = [f"m{i}" for i in range(n)]
        start = time.perf_counter()
        futures = [await producer.send(topic, payload, key=k.encode()) for k in keys]
        await asyncio.gather(*futures)
        produced = time.perf_counter()
        end = await reader.wait_for(set(keys))
    finally:
        await reader.stop()
        await producer.stop()
    return {"messages": n, "bytes": size, "seconds": round(end - start, 3),
            "messages_per_second": round(n / (end - start)), "produce_seconds": round(produced - start, 3),
            "megabytes_per_second": round(n * size / (end - start) / 1e6, 1)}


async def gateway_alone(stack, ca: DevCA, keys_dir: Path, *, n: int = 2000, concurrency: int = 8,
                        batch: int = 100, single: int = 500, size: int = PAYLOAD_BYTES) -> dict:
    gw = stack.url("gateway") + "/shep/v1"
    bootstrap = stack.settings.broker
    token = (stack.settings.data_dir / "secrets" / "gateway-admin.token").read_bytes().hex()
    admin = {"Authorization": f"Bearer {token}"}
    sink_auth = {"senderId": "bench_sink", "password": PASSWORD}
    await ensure_topics(bootstrap, ["bench_sink"])
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=64)) as http:
        for sid in ("bench_sender", "bench_sink"):
            issued = ca.issue_system(sid)
            issued.write(keys_dir / sid)
            r = await http.put(f"{gw}/admin/systems/{sid}", headers=admin,
                               json={"title": sid, "password": PASSWORD, "cert_pem": issued.cert_pem.decode()})
            r.raise_for_status()
        (await http.put(f"{gw}/admin/services/BENCH", headers=admin,
                        json={"title": "bench", "recipient_id": "bench_sink"})).raise_for_status()
        (await http.put(f"{gw}/admin/acl/bench_sender/BENCH", headers=admin)).raise_for_status()
        signer = Signer.from_dir(keys_dir / "bench_sender")
        filler = "ы" * (size // 2)

        def make(count: int) -> list[dict]:
            envs = []
            for i in range(count):
                env = envelope.build(service_id="BENCH", message_type=MessageType.REQUEST, data={"i": i, "x": filler},
                                     sender_id="bench_sender", correlation_id=envelope.new_id())
                env["messageInfo"]["messageId"] = envelope.new_id()
                envelope.sign(env, signer)
                env["messageInfo"]["sender"]["password"] = PASSWORD
                envs.append(env)
            return envs

        confirm_q: asyncio.Queue = asyncio.Queue()

        async def on_batch(ids):
            confirm_q.put_nowait(ids)

        async def confirmer():
            while True:
                ids = await confirm_q.get()
                while not confirm_q.empty() and len(ids) < 1000:
                    ids += confirm_q.get_nowait()
                for i in range(0, len(ids), 1000):
                    await http.post(f"{gw}/async/delivery", json={"sender": sink_auth, "notifications": [
                        {"messageId": m, "serviceId": "BENCH", "deliveryStatus": {"receiveStatus": "DELIVERED"}}
                        for m in ids[i:i + 1000]]})

        reader = Reader(bootstrap, deliver_topic("bench_sink"), on_batch)
        confirming = asyncio.create_task(confirmer())
        try:
            # warm-up outside the clock: registries loaded, the sender's OCSP answer cached, the
            # consumer's group joined and a first batch read
            warm = make(20)
            await reader.start()
            (await http.post(f"{gw}/async/messages/batch", json={"messages": warm})).raise_for_status()
            await reader.wait_for({e["messageInfo"]["messageId"] for e in warm}, 90)
            envs = make(n + single)
            size_on_wire = len(json.dumps(envs[0], ensure_ascii=False).encode())

            async def timed(chunks, path, body):
                q: asyncio.Queue = asyncio.Queue()
                for c in chunks:
                    q.put_nowait(c)
                ids = {e["messageInfo"]["messageId"] for c in chunks for e in (c if isinstance(c, list) else [c])}
                refused = 0

                async def sender():
                    nonlocal refused
                    while not q.empty():
                        c = q.get_nowait()
                        r = await http.post(f"{gw}{path}", json=body(c))
                        r.raise_for_status()
                        if isinstance(c, list):
                            refused += sum(1 for x in r.json()["results"] if x.get("error"))

                start = time.perf_counter()
                await asyncio.gather(*(sender() for _ in range(concurrency)))
                accepted = time.perf_counter()
                end = await reader.wait_for(ids)
                return {"messages": len(ids), "refused": refused, "seconds": round(end - start, 3),
                        "accept_seconds": round(accepted - start, 3),
                        "messages_per_second": round(len(ids) / (end - start))}

            batched = envs[:n]
            result = {"bytes_per_envelope": size_on_wire, "concurrency": concurrency, "batch": batch}
            result["batch_endpoint"] = await timed([batched[i:i + batch] for i in range(0, n, batch)],
                                                   "/async/messages/batch", lambda c: {"messages": c})
            result["single_endpoint"] = await timed(envs[n:], "/async/messages", lambda c: c)
        finally:
            confirming.cancel()
            await reader.stop()
    return result


def main() -> None:
    """Alone: ``python -m bench.gateway`` (``python -m bench`` runs it with everything else)."""
    import tempfile

    from egov.bootstrap import prepare
    from egov.launcher import Stack
    from shared.settings import CommonSettings

    from egov.launcher import free_port

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
            print(json.dumps(asyncio.run(gateway_alone(stack, ca, Path(d))), indent=1))
            print(json.dumps(asyncio.run(kafka_direct(settings.broker)), indent=1))
        finally:
            stack.stop_all()


if __name__ == "__main__":
    main()
