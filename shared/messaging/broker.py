"""Topics are created explicitly, before anyone produces or subscribes.

Left to auto-creation, a freshly (re)started embedded broker sees the producer and several
consumers create the same topic at once, and Tansu then rejects produce requests for a
while (its log says ``AlreadyExists … .batch``). With Apache Kafka topics are created by
the operator anyway.
"""
from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.topics import DEAD_LETTER_TOPIC, deliver_topic

PARTITIONS = 3


async def ensure_topics(bootstrap: str, system_ids: list[str] | tuple[str, ...], replication: int = 1) -> None:
    """Create each system's delivery topic and the dead-letter topic when missing (``replication``:
    1 on the embedded broker, 3 on a Kafka cluster)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [deliver_topic(s) for s in system_ids] + [DEAD_LETTER_TOPIC]
        missing = [NewTopic(t, PARTITIONS, replication) for t in wanted if t not in existing]
        if missing:
            await admin.create_topics(missing)  # "already exists" answers are fine
    finally:
        await admin.close()
