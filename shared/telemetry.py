"""Traces and the metrics every system shares.

**Traces** (OpenTelemetry): every HTTP call is a span (``TraceMiddleware``), continuing the caller's
W3C ``traceparent`` when there is one. A message carries its trace context across every hop: the
sender puts the current ``traceparent`` into the envelope's properties when it writes the message
to its outbox (``shared/messaging/outbox.py``), the gateway continues it and passes it on in the
Kafka record's ``traceparent`` header, the recipient's consumer continues it while it applies the
message — and what that writes to its own outbox carries it on. A case at the provider keeps the
trace of its application, so its later steps (each an operator's HTTP call) report into the same
trace: one application is one trace from the portal to the provider and back. Every outgoing HTTP call
of a service (its httpx client made by :func:`http_client`, or :func:`trace_headers` for a one-off
call) carries the current ``traceparent``, so the callee's span continues the caller's: web → the APIs,
the sync channel both ways, OCSP/CRL and TSA calls to the НУЦ, the outbox relay and the consumers'
confirmations (each of these two a :func:`batch_span` over the messages of its call). Spans go to an OTLP
collector when ``EGOV_OTLP_ENDPOINT`` is set (``http://collector:4318``); the trace id is in every
log line and in each answer's ``x-trace-id`` either way.

**Metrics** (Prometheus) of the shared machinery, one registry per process (``/metrics`` serves it
beside the service's own): outbox backlog, redeliveries, dead letters, consumer lag, signature
checks by outcome, revocation answers from the cache or the НУЦ, overdue tasks (escalations so far, and
how many are open now).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterable, Iterator

import httpx
from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from prometheus_client import CollectorRegistry, Counter, Gauge

TRACEPARENT = "traceparent"

REGISTRY = CollectorRegistry()
OUTBOX_BACKLOG = Gauge("egov_outbox_backlog", "Messages waiting in the outbox to be accepted by the gateway",
                       ["system"], registry=REGISTRY)
OUTBOX_FAILED = Counter("egov_outbox_failed_total", "Messages the gateway refused for good", ["system"],
                        registry=REGISTRY)
CONSUMED = Counter("egov_messages_consumed_total", "Messages consumed, by outcome", ["system", "service", "outcome"],
                   registry=REGISTRY)
CONSUMER_LAG = Gauge("egov_consumer_lag", "Records on the system's topic not yet read", ["system"],
                     registry=REGISTRY)
REDELIVERIES = Counter("shep_redeliveries_total", "Messages produced again because they were not confirmed",
                       ["recipient"], registry=REGISTRY)
DEAD_LETTERS = Counter("shep_dead_letters_total", "Messages moved to the dead-letter topic", ["recipient"],
                       registry=REGISTRY)
SIGNATURES = Counter("egov_signature_checks_total", "Signature checks, by outcome (ok or the ECP_* code)",
                     ["outcome"], registry=REGISTRY)
REVOCATION = Counter("egov_revocation_answers_total", "Revocation answers: from the cache, or asked of the НУЦ",
                     ["source"], registry=REGISTRY)
OVERDUE = Counter("egov_overdue_tasks_total", "Tasks found past their due time (each escalated to the head once)",
                  ["provider"], registry=REGISTRY)
OVERDUE_OPEN = Gauge("egov_overdue_tasks_open", "Open tasks past their due time, at the last overdue check",
                     ["provider"], registry=REGISTRY)

_configured = False


def configure(service: str, otlp_endpoint: str | None = None) -> None:
    """The tracer provider of this process, once: spans named for ``service``, exported over OTLP/HTTP
    when an endpoint is given (otherwise made and dropped: the trace ids still tie the logs together)."""
    global _configured
    if _configured:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": f"egov-{service}"}))
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(f"{otlp_endpoint.rstrip('/')}/v1/traces")))
    trace.set_tracer_provider(provider)
    _configured = True


def tracer():
    return trace.get_tracer("egov-sim")


def trace_headers() -> dict[str, str]:
    """The W3C trace context of the current span as HTTP headers (``traceparent``; empty outside any span)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, to carry on (None outside any span)."""
    return trace_headers().get(TRACEPARENT)


def _inject(request: httpx.Request) -> None:
    for name, value in trace_headers().items():
        request.headers.setdefault(name, value)


async def _inject_async(request: httpx.Request) -> None:
    _inject(request)


def http_client(**kw) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` whose every request carries the trace context of the span it is made in."""
    return httpx.AsyncClient(event_hooks={"request": [_inject_async]}, **kw)


def sync_http_client(**kw) -> httpx.Client:
    """The same for a blocking ``httpx.Client``."""
    return httpx.Client(event_hooks={"request": [_inject]}, **kw)


def trace_id_hex() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


@contextmanager
def span(name: str, *, parent: str | None = None, kind=trace.SpanKind.INTERNAL, links=(), **attributes) -> Iterator:
    """A span, continuing ``parent`` (a ``traceparent``) when it is given."""
    token = None
    if parent:
        token = context.attach(propagate.extract({TRACEPARENT: parent}))
    try:
        with tracer().start_as_current_span(name, kind=kind, links=links,
                                            attributes={k: v for k, v in attributes.items() if v is not None}) as s:
            yield s
    finally:
        if token is not None:
            context.detach(token)


@contextmanager
def batch_span(name: str, traceparents: Iterable[str | None], *, kind=trace.SpanKind.CLIENT, **attributes) -> Iterator:
    """A span for one call that carries the messages of several traces (the outbox relay's batch, a
    consumer's confirmations): in the trace of the first of them, linked to the others'."""
    parents = list(dict.fromkeys(p for p in traceparents if p))
    links = [trace.Link(c) for c in (trace.get_current_span(propagate.extract({TRACEPARENT: p})).get_span_context()
                                     for p in parents[1:]) if c.is_valid]
    with span(name, parent=parents[0] if parents else None, kind=kind, links=links, **attributes) as s:
        yield s
