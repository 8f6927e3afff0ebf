"""What every service's FastAPI app has: the error body, trace ids, /health, /metrics, logs."""
from __future__ import annotations

import json
import logging
import os
import time
import uuid
from typing import Awaitable, Callable

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from fastapi.routing import APIRoute
from opentelemetry.trace import SpanKind
from pydantic import BaseModel, Field
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from shared import jcs, telemetry
from shared.db import is_outage
from shared.errors import CATALOGUE, ApiError, error_body
from shared.settings import CommonSettings

HealthCheck = Callable[[], Awaitable[None]]

_STATUS_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 401: "AUTH_REQUIRED", 413: "REQUEST_TOO_LARGE",
                 429: "RATE_LIMITED", 503: "UNAVAILABLE"}
#: a JSON body larger than this is refused with 413 before it is read further (routes may set their own)
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


class ErrorDetail(BaseModel):
    code: str = Field(description="a stable code from the one catalogue (shared/errors.py)")
    message_ru: str
    message_kk: str
    step: str | None = Field(description="the regulation's diagram box where the refusal happened")
    trace_id: str | None


class ErrorBody(BaseModel):
    """Every 4xx/5xx body (API.md "Errors, everywhere")."""

    error: ErrorDetail


def error_responses(*codes: str) -> dict[int, dict]:
    """OpenAPI ``responses`` for a route: each status with the error body and the codes it may carry."""
    out: dict[int, dict] = {}
    for code in codes:
        spec = CATALOGUE[code]
        entry = out.setdefault(spec.status, {"model": ErrorBody, "description": ""})
        retry = " (retryable: Retry-After)" if spec.retryable else ""
        entry["description"] += f"{'; ' if entry['description'] else ''}`{code}` — {spec.message_ru}{retry}"
    return out


#: where every service serves the Swagger UI and ReDoc assets (no CDN: the docs work offline)
DOCS_STATIC_URL = "/static/docs"


def docs_assets_dir() -> str:
    """The Swagger UI and ReDoc bundles (swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js,
    favicon.png) as the ``fastapi-offline`` package ships them — used only as a maintained,
    versioned source of these files (it depends on nothing but FastAPI)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the docs assets need the fastapi-offline package (pip install -e .)")
    return str(Path(next(iter(spec.submodule_search_locations))) / "static")


def add_docs(app: FastAPI) -> None:
    """/docs (Swagger UI) and /redoc (ReDoc) from assets the service serves itself: no request
    leaves for a CDN, Google Fonts or the online validator."""
    app.mount(DOCS_STATIC_URL, StaticFiles(directory=docs_assets_dir()), name="docs-static")
    oauth2_redirect = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} — Swagger UI",
            oauth2_redirect_url=f"{root}{oauth2_redirect}",
            swagger_js_url=f"{root}{DOCS_STATIC_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_STATIC_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_STATIC_URL}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None, **(app.swagger_ui_parameters or {})})

    @app.get(oauth2_redirect, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} — ReDoc",
            redoc_js_url=f"{root}{DOCS_STATIC_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{DOCS_STATIC_URL}/favicon.png", with_google_fonts=False)


#: what checking a CMS signature may answer (``shared.pki.cms.SignatureError``): the ECP_* verdicts
#: and the retryable ECP_REVOCATION_UNKNOWN
SIGNATURE_CODES = ("ECP_BAD_SIGNATURE", "ECP_EXPIRED", "ECP_NOT_YET_VALID", "ECP_REVOKED", "ECP_UNTRUSTED",
                   "ECP_WRONG_KEY_USAGE", "ECP_MALFORMED", "ECP_REVOCATION_UNKNOWN")


def _documented_openapi(app: FastAPI) -> Callable[[], dict]:
    """``app.openapi`` with the truth about 422: a malformed request is answered with the catalogue's
    ErrorBody (VALIDATION_ERROR, FORM_INVALID for JSON that is not JSON), never FastAPI's
    HTTPValidationError."""
    original = app.openapi

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        if "ErrorBody" not in components:
            defs = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(defs.pop("$defs", {}))
            components["ErrorBody"] = defs
        ref = "#/components/schemas/HTTPValidationError"
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                answer = operation.get("responses", {}).get("422")
                if answer and answer.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref") == ref:
                    answer["description"] = ("`VALIDATION_ERROR` — the request does not match its schema (`fields` "
                                             "says where); `FORM_INVALID` — the body is not JSON")
                    answer["content"]["application/json"]["schema"] = {"$ref": "#/components/schemas/ErrorBody"}
        if ref not in json.dumps(schema):
            components.pop("HTTPValidationError", None)
            components.pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    return openapi


def client_address(request: Request) -> str:
    """The caller's address, the key of per-address limits: the peer's, or — when the peer is one of
    the ``trusted_proxies`` (the web pages, a reverse proxy) — the one its X-Forwarded-For names
    (``create_app`` installs uvicorn's ProxyHeadersMiddleware for that). A caller that is not a
    trusted proxy cannot name an address for itself."""
    return request.client.host if request.client else "unknown"


class _JCSRequest(Request):
    async def json(self):
        if not hasattr(self, "_json"):
            self._json = jcs.loads(await self.body())
        return self._json


class JCSRoute(APIRoute):
    """Every JSON body is parsed as RFC 8785 can canonicalise it (``shared.jcs.loads``): NaN,
    Infinity, 1e400 or an integer beyond 2^53 − 1 is a 422 FORM_INVALID, never a 500 later.
    Every router of every service uses it: ``APIRouter(..., route_class=JCSRoute)``."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def strict(request: Request):
            return await handler(_JCSRequest(request.scope, request.receive))

        return strict


def _trace_context(_logger, _method, event: dict) -> dict:
    """Every log line inside a span carries its trace id (the one tying the hops together)."""
    trace_id = telemetry.trace_id_hex()
    if trace_id:
        event["trace_id"] = trace_id
    return event


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stdout: level, time, event, the service, the trace id, and the fields of the
    event (a request id, a code, a step…)."""
    logging.basicConfig(level=level, format="%(message)s")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _trace_context,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
    )


class TraceMiddleware:
    """Every HTTP call: its trace id (``x-trace-id`` in, or a new one; ``request.state.trace_id``,
    the logs' ``trace_id``, the answer's ``x-trace-id``), its count and latency per route (Prometheus),
    and — for an error nothing else handled — the catalogue's body instead of a stack trace: 503
    UNAVAILABLE when the database (or another peer) is out of reach, else 500. A plain ASGI
    middleware (no extra task per request)."""

    def __init__(self, app, *, name: str, log, requests: Counter, latency: Histogram):
        self.app, self.name, self.log, self.requests, self.latency = app, name, log, requests, latency

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        parent = headers.get(b"traceparent", b"").decode("latin-1") or None
        with telemetry.span(f"{scope['method']} {scope['path']}", parent=parent, kind=SpanKind.SERVER,
                            **{"http.method": scope["method"], "http.target": scope["path"]}) as span:
            await self._traced(scope, receive, send, span, headers)

    async def _traced(self, scope, receive, send, span, headers):
        trace_id = telemetry.trace_id_hex() or headers.get(b"x-trace-id", b"").decode("latin-1")[:64] or uuid.uuid4().hex
        scope.setdefault("state", {})["trace_id"] = trace_id
        structlog.contextvars.bind_contextvars(trace_id=trace_id, service=self.name)
        status, started, start = 500, False, time.perf_counter()

        async def send_traced(message):
            nonlocal status, started
            if message["type"] == "http.response.start":
                started, status = True, message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-trace-id", trace_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_traced)
        except Exception as exc:
            if started:
                raise
            code = "UNAVAILABLE" if is_outage(exc) else "INTERNAL_ERROR"
            self.log.exception("unhandled error", path=scope.get("path"), code=code)
            response = JSONResponse(error_body(code, trace_id=trace_id), status_code=CATALOGUE[code].status,
                                    headers={"Retry-After": str(CATALOGUE[code].retry_after)})
            await response(scope, receive, send_traced)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            span.set_attribute("http.route", path)
            span.set_attribute("http.status_code", status)
            self.requests.labels(scope["method"], path, str(status)).inc()
            self.latency.labels(scope["method"], path).observe(time.perf_counter() - start)
            structlog.contextvars.clear_contextvars()


def create_app(
    name: str,
    *,
    title: str,
    description: str,
    lifespan=None,
    health_checks: dict[str, HealthCheck] | None = None,
    max_body_size: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    app = FastAPI(title=title, description=description, lifespan=lifespan, version="0.1.0",
                  max_body_size=max_body_size, docs_url=None, redoc_url=None)
    add_docs(app)
    app.openapi = _documented_openapi(app)
    telemetry.configure(name, os.environ.get("EGOV_OTLP_ENDPOINT"))
    app.state.health_checks = dict(health_checks or {})
    registry = CollectorRegistry()
    app.state.metrics = registry
    requests = Counter("http_requests_total", "HTTP requests", ["method", "route", "status"], registry=registry)
    latency = Histogram("http_request_seconds", "HTTP request latency", ["method", "route"], registry=registry)
    log = structlog.get_logger(name)

    app.add_middleware(TraceMiddleware, name=name, log=log, requests=requests, latency=latency)
    # X-Forwarded-For believed from the configured proxies only (see client_address)
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=CommonSettings().trusted_proxies)

    def _trace_id(request: Request) -> str | None:
        return getattr(request.state, "trace_id", None)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        log.info("refused", code=exc.code, step=exc.step, detail=exc.detail, path=request.url.path)
        return JSONResponse(exc.body(_trace_id(request)), status_code=exc.status, headers=exc.headers())

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        # a body that is not JSON, or holds numbers JCS cannot canonicalise, is an invalid form
        bad_json = any(e.get("type") == "json_invalid" for e in exc.errors())
        body = error_body("FORM_INVALID" if bad_json else "VALIDATION_ERROR", trace_id=_trace_id(request))
        body["error"]["step"] = None  # a malformed body is not a step of any diagram
        body["error"]["fields"] = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg"),
             **({"reason": str(e["ctx"]["error"])} if e.get("type") == "json_invalid" and e.get("ctx") else {})}
            for e in exc.errors()
        ]
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        code = _STATUS_CODES.get(exc.status_code, "VALIDATION_ERROR" if exc.status_code < 500 else "INTERNAL_ERROR")
        return JSONResponse(error_body(code, trace_id=_trace_id(request)), status_code=exc.status_code,
                            headers=ApiError(code).headers())

    @app.get("/health", tags=["operations"], summary="200 when every check passes, 503 naming the failing one")
    async def health():
        checks: dict[str, str] = {}
        for check_name, check in app.state.health_checks.items():
            try:
                await check()
                checks[check_name] = "ok"
            except Exception as exc:
                checks[check_name] = f"failed: {exc.__class__.__name__}: {exc}"[:200]
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"service": name, "status": "ok" if ok else "failing", "checks": checks},
                            status_code=200 if ok else 503)

    @app.get("/metrics", tags=["operations"], summary="Prometheus text format")
    async def metrics():
        return PlainTextResponse(generate_latest(registry) + generate_latest(telemetry.REGISTRY),
                                 media_type=CONTENT_TYPE_LATEST)

    return app
