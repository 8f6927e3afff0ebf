"""One application is one trace: the trace id the portal answered with is the one every later hop
logs — the gateway's accept of each message, ИС ГБД ЕЛ's payment check at ПШЭП (the registries,
over the sync channel) and its registration, the provider's case and each operator's step, and the
portal's receipt of the signed result — and the Kafka record the gateway delivers carries it in its
``traceparent`` header. The web pages' calls to the APIs carry theirs too (shared/telemetry.py)."""
from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.envelope import canonical
from shared.topics import Header, ServiceId, SystemId, deliver_topic

from .test_chain import new_applicant

pytestmark = pytest.mark.integration


def events(system, service: str, trace_id: str) -> list[dict]:
    out = []
    for line in (system.settings.data_dir / "logs" / f"{service}.log").read_text(errors="replace").splitlines():
        if trace_id in line and line.startswith("{"):
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("trace_id") == trace_id:
                out.append(event)
    return out


async def traceparents(bootstrap: str, topic: str) -> list[str]:
    """The ``traceparent`` header of every record on ``topic``, read from the start (no consumer group)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()  # the metadata
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        end = await consumer.end_offsets(parts)
        out = []
        while [tp for tp in parts if await consumer.position(tp) < end[tp]]:
            for records in (await consumer.getmany(timeout_ms=2000)).values():
                out += [v.decode() for r in records for k, v in (r.headers or ()) if k == Header.TRACEPARENT]
        return out
    finally:
        await consumer.stop()


def test_one_application_is_one_trace_across_http_and_kafka(system, tmp_path):
    c = system.client
    iin, _, token, signer = new_applicant(system, tmp_path)
    doc = c.prepare_document(token, iin)
    r = c.submit(token, doc, signer.sign(canonical(doc)))
    assert r.status_code == 202, r.text
    trace_id = r.headers["x-trace-id"]
    assert len(trace_id) == 32 and int(trace_id, 16)
    request_id = r.json()["request_id"]
    number = c.wait_status(token, request_id, {"REGISTERED", "IN_PROCESSING"})["application_number"]
    c.run_almaty_s2(number)
    c.wait_status(token, request_id, {"COMPLETED"})

    portal = {e["event"] for e in events(system, "portal", trace_id)}
    assert {"submitted", "result issued"} <= portal, portal
    # the gateway's hop, for every message of the application: out to ИС ГБД ЕЛ, the sync call to ПШЭП,
    # on to the provider, the provider's statuses and result back, and on to the cabinet and the ЦОН
    accepted = {(e["service_id"], e["recipient_id"]) for e in events(system, "gateway", trace_id)
                if e["event"] == "message accepted"}
    assert {(ServiceId.ELICENSE_SUBMIT, SystemId.E_LICENSING), (ServiceId.PSHEP_PAYMENT_STATUS, SystemId.PSHEP),
            (ServiceId.ARM_PROCESS, SystemId.PROVIDER_ARM), (ServiceId.ELICENSE_RESULT, SystemId.E_LICENSING),
            (ServiceId.PORTAL_NOTIFY, SystemId.PORTAL), (ServiceId.CON_NOTIFY, SystemId.CON)} <= accepted, accepted
    assert "registered" in {e["event"] for e in events(system, "e_licensing", trace_id)}
    # ПШЭП answered ИС ГБД ЕЛ's payment check inside the same trace
    assert {e.get("service_id") for e in events(system, "registries", trace_id)
            if e["event"] == "sync call answered"} >= {ServiceId.PSHEP_PAYMENT_STATUS}
    arm = events(system, "provider_arm", trace_id)
    assert "message applied" in {e["event"] for e in arm}
    # every operator's step (its own HTTP call, its own trace id in the answer) reports into the case's trace
    assert len([e for e in arm if e["event"] == "task done"]) >= 3
    # the ЦОН got the paper result to hand out in the same trace (maybe a moment after the cabinet)
    deadline = time.monotonic() + 30
    while "message applied" not in {e["event"] for e in events(system, "con", trace_id)}:
        assert time.monotonic() < deadline, "the ЦОН logged nothing in the application's trace"
        time.sleep(0.3)

    # the Kafka records the gateway delivered carry the trace in their traceparent header
    for recipient in (SystemId.E_LICENSING, SystemId.PROVIDER_ARM, SystemId.PORTAL):
        headers = asyncio.run(traceparents(system.settings.broker, deliver_topic(recipient)))
        assert any(h.split("-")[1] == trace_id for h in headers), (recipient, len(headers))


@pytest.mark.parametrize("area, api", [("cabinet", "portal"), ("arm", "provider_arm"), ("con", "con")])
def test_the_web_pages_calls_to_the_apis_continue_their_trace(system, area, api):
    """A refused login: the API's "refused" line carries the trace id of the web page's request."""
    r = httpx.post(system.url("web") + f"/{area}/login", data={"username": f"nobody-{uuid.uuid4().hex[:8]}",
                                                                "password": "wrong"}, timeout=30)
    assert r.status_code == 401, r.text
    trace_id = r.headers["x-trace-id"]
    refused = [e for e in events(system, api, trace_id) if e["event"] == "refused"]
    assert refused and refused[0]["code"] == "AUTH_FAILED", refused
