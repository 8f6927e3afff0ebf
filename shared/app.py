"""What every service's FastAPI app has: the error body, trace ids, /health, /metrics, logs."""
from __future__ import annotations

import logging
import time
import uuid
from typing import Awaitable, Callable

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import ApiError, error_body

HealthCheck = Callable[[], Awaitable[None]]

_STATUS_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 401: "AUTH_REQUIRED"}


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, format="%(message)s")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
    )


def create_app(
    name: str,
    *,
    title: str,
    description: str,
    lifespan=None,
    health_checks: dict[str, HealthCheck] | None = None,
) -> FastAPI:
    app = FastAPI(title=title, description=description, lifespan=lifespan, version="0.1.0")
    app.state.health_checks = dict(health_checks or {})
    registry = CollectorRegistry()
    app.state.metrics = registry
    requests = Counter("http_requests_total", "HTTP requests", ["method", "route", "status"], registry=registry)
    latency = Histogram("http_request_seconds", "HTTP request latency", ["method", "route"], registry=registry)
    log = structlog.get_logger(name)

    @app.middleware("http")
    async def trace(request: Request, call_next):
        trace_id = request.headers.get("x-trace-id") or uuid.uuid4().hex
        request.state.trace_id = trace_id
        structlog.contextvars.bind_contextvars(trace_id=trace_id, service=name)
        start = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception:
            log.exception("unhandled error", path=request.url.path)
            response = JSONResponse(error_body("INTERNAL_ERROR", trace_id=trace_id), status_code=500)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        requests.labels(request.method, path, str(response.status_code)).inc()
        latency.labels(request.method, path).observe(time.perf_counter() - start)
        response.headers["x-trace-id"] = trace_id
        structlog.contextvars.clear_contextvars()
        return response

    def _trace_id(request: Request) -> str | None:
        return getattr(request.state, "trace_id", None)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        log.info("refused", code=exc.code, step=exc.step, detail=exc.detail, path=request.url.path)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(exc.body(_trace_id(request)), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        body = error_body("VALIDATION_ERROR", trace_id=_trace_id(request))
        body["error"]["fields"] = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg")} for e in exc.errors()
        ]
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        code = _STATUS_CODES.get(exc.status_code, "VALIDATION_ERROR" if exc.status_code < 500 else "INTERNAL_ERROR")
        return JSONResponse(error_body(code, trace_id=_trace_id(request)), status_code=exc.status_code)

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
        return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app
