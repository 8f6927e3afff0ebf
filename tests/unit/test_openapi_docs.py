"""Every operation of every service is documented: a summary of its own, and — for a route that
can refuse — its error responses with the catalogue's ErrorBody, naming the codes the route raises."""
from __future__ import annotations

import importlib
import inspect
import re

import pytest
from fastapi.routing import APIRoute

from shared.errors import CATALOGUE

SERVICES = ("portal", "gateway", "e_licensing", "provider_arm", "nca", "registries", "con")

#: operations that answer whatever is asked (public lists, status services): no refusal to document
NEVER_REFUSES = {
    ("GET", "/health"), ("GET", "/metrics"),
    ("GET", "/api/v1/services"), ("POST", "/api/v1/auth/challenge"),  # portal
    ("GET", "/api/v1/processes"),  # provider_arm
    ("GET", "/api/v1/revocations"), ("GET", "/crl/issuing.crl"), ("GET", "/cert/issuing.cer"),  # nca
    ("POST", "/ocsp"), ("GET", "/ocsp/{encoded}"), ("POST", "/tsa"),  # nca: errors are OCSP/TSP answers
}

#: routes that answer some refusals inside a 200 body rather than as the status
IN_THE_BODY = {
    ("POST", "/shep/v1/async/messages/batch"): {"UNAVAILABLE"},  # each envelope's refusal is in `results`
}

_RAISED = re.compile(r"""ApiError\(\s*["']([A-Z_]+)["']""")
_CALLED = re.compile(r"\b([A-Za-z_]\w*)\s*\(")


def _app(service: str):
    return importlib.import_module(f"services.{service}.main").app


def _operations(service: str):
    schema = _app(service).openapi()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def _is_error_body(response: dict) -> bool:
    ref = response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
    return ref.endswith("/ErrorBody")


def _codes_raised(func, seen: set) -> set[str]:
    """ApiError("CODE") literals in ``func`` and in the functions of its own module that it calls."""
    func = inspect.unwrap(func)
    if func in seen or not inspect.isfunction(func):
        return set()
    seen.add(func)
    try:
        source = inspect.getsource(func)
    except (OSError, TypeError):
        return set()
    codes = set(_RAISED.findall(source))
    module = inspect.getmodule(func)
    for name in _CALLED.findall(source):
        callee = getattr(module, name, None)
        if inspect.isfunction(callee) and callee.__module__ == func.__module__:
            codes |= _codes_raised(callee, seen)
    return codes


def _api_routes(routes):
    """The APIRoutes of an app, those of included routers too (FastAPI may keep an included router
    as one entry holding ``original_router``; the routers here are included without a prefix)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _api_routes(route.original_router.routes)


def _dependency_calls(dependant) -> list:
    out = [dependant.call] if dependant.call else []
    for sub in dependant.dependencies:
        out += _dependency_calls(sub)
    return out


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_has_a_summary_of_its_own(service):
    routes = [r for r in _api_routes(_app(service).routes) if r.include_in_schema]
    assert len(routes) >= 3
    for route in routes:
        if route.include_in_schema:
            assert route.summary, f"{service}: {sorted(route.methods)} {route.path} has no summary="
    for method, path, operation in _operations(service):
        assert operation.get("summary"), f"{service}: {method} {path}"


@pytest.mark.parametrize("service", SERVICES)
def test_every_route_that_can_refuse_documents_an_error_body(service):
    for method, path, operation in _operations(service):
        if (method, path) in NEVER_REFUSES:
            continue
        errors = [status for status, response in operation["responses"].items()
                  if status.startswith("4") and _is_error_body(response)]
        assert errors, f"{service}: {method} {path} documents no 4xx ErrorBody"


@pytest.mark.parametrize("service", SERVICES)
def test_the_codes_a_route_raises_are_in_its_responses(service):
    app = _app(service)
    schema = app.openapi()
    checked = 0
    for route in _api_routes(app.routes):
        if not route.include_in_schema:
            continue
        seen: set = set()
        codes = set()
        for call in _dependency_calls(route.dependant):
            codes |= _codes_raised(call, seen)
        for method in route.methods:
            responses = schema["paths"][route.path_format][method.lower()]["responses"]
            for code in codes - IN_THE_BODY.get((method, route.path_format), set()):
                documented = responses.get(str(CATALOGUE[code].status))
                assert documented and _is_error_body(documented), \
                    f"{service}: {method} {route.path} raises {code} ({CATALOGUE[code].status}), not documented"
                assert f"`{code}`" in documented["description"], \
                    f"{service}: {method} {route.path} raises {code}; its {CATALOGUE[code].status} does not name it"
                checked += 1
    if service != "nca":  # the nca's refusals are raised in operators.py / issuance.py
        assert checked, "the scan found no raised code at all"


@pytest.mark.parametrize("service", SERVICES)
def test_validation_errors_are_documented_as_the_error_body(service):
    """A malformed request gets the catalogue's body (VALIDATION_ERROR / FORM_INVALID), and the
    OpenAPI says so instead of FastAPI's HTTPValidationError."""
    schema = _app(service).openapi()
    assert "HTTPValidationError" not in str(schema)
    assert "ErrorBody" in schema["components"]["schemas"]
