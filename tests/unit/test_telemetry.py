"""The one helper every outgoing HTTP call goes through (shared/telemetry.py): the request carries the
trace context of the span it is made in — a batch call the first of its messages' traces, linked to
the others'."""
from __future__ import annotations

import asyncio

import httpx
import pytest

from shared import telemetry

A = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
B = "00-11111111111111111111111111111111-2222222222222222-01"


@pytest.fixture(autouse=True, scope="module")
def tracer_provider():
    telemetry.configure("unit-tests")  # what every service's create_app does: spans that record


def _seen() -> tuple[list[httpx.Request], httpx.MockTransport]:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    return seen, httpx.MockTransport(answer)


def _trace_id(request: httpx.Request) -> str:
    return request.headers["traceparent"].split("-")[1]


def test_every_request_carries_the_trace_of_its_span():
    seen, transport = _seen()

    async def calls():
        async with telemetry.http_client(transport=transport) as http:
            await http.get("http://x/outside")
            with telemetry.span("work", parent=A):
                await http.get("http://x/inside")
                await http.get("http://x/own", headers={"traceparent": B})  # one set by the caller stays

    asyncio.run(calls())
    assert "traceparent" not in seen[0].headers
    assert _trace_id(seen[1]) == A.split("-")[1] and seen[1].headers["traceparent"] != A  # a child span of A
    assert seen[2].headers["traceparent"] == B
    seen.clear()
    with telemetry.sync_http_client(transport=transport) as http, telemetry.span("work", parent=B):
        http.get("http://x/sync")
    assert _trace_id(seen[0]) == B.split("-")[1]


def test_a_batch_call_is_in_its_first_messages_trace_linked_to_the_others():
    with telemetry.batch_span("outbox send", [None, A, B, A]) as span:
        assert telemetry.trace_id_hex() == A.split("-")[1]
        assert [format(link.context.trace_id, "032x") for link in span.links] == [B.split("-")[1]]
        assert telemetry.trace_headers()["traceparent"].split("-")[1] == A.split("-")[1]
