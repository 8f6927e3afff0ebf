"""/docs and /redoc render with the network cut off: every URL their HTML references is on the
service itself, and each of those answers 200 (no CDN, no web fonts, no online validator)."""
from __future__ import annotations

import importlib
import re
from urllib.parse import urljoin

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from shared.app import create_app

_URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|\burl\s*:\s*["']([^"']+)["']""")
_SERVICES = ("portal", "gateway", "e_licensing", "provider_arm", "nca", "registries", "con")


def _tiny_app():
    router = APIRouter()

    @router.get("/ping", summary="ping")
    async def ping() -> dict:
        return {"pong": True}

    app = create_app("tiny", title="tiny", description="a tiny app for the docs test")
    app.include_router(router)
    return app


def _referenced(html: str) -> list[str]:
    return [a or b for a, b in _URL.findall(html)]


def _check_offline(client: TestClient, page: str) -> list[str]:
    response = client.get(page)
    assert response.status_code == 200, page
    assert "text/html" in response.headers["content-type"]
    body = response.text
    urls = _referenced(body)
    assert urls, f"{page} references nothing"
    # no other host anywhere in the page: neither a tag's URL nor one in the inline script
    assert not re.search(r"https?://", body), re.findall(r"https?://[^\s\"'<>]+", body)
    assert "fonts.googleapis" not in body and "cdn.jsdelivr" not in body
    for url in urls:
        assert not url.startswith("//"), url
        asset = client.get(urljoin(f"http://testserver{page}", url))
        assert asset.status_code == 200, (page, url, asset.status_code)
        assert asset.content, url
    return urls


def test_docs_and_redoc_reference_only_local_assets_that_answer():
    client = TestClient(_tiny_app())  # no `with`: no lifespan needed
    swagger = _check_offline(client, "/docs")
    assert "/static/docs/swagger-ui-bundle.js" in swagger and "/static/docs/swagger-ui.css" in swagger
    assert "/openapi.json" in swagger
    redoc = _check_offline(client, "/redoc")
    assert "/static/docs/redoc.standalone.js" in redoc
    assert client.get("/docs/oauth2-redirect").status_code == 200
    # the docs pages are not operations of the API
    assert not {"/docs", "/redoc", "/docs/oauth2-redirect"} & set(client.get("/openapi.json").json()["paths"])


def test_swagger_ui_does_not_ask_the_online_validator():
    html = TestClient(_tiny_app()).get("/docs").text
    assert '"validatorUrl": null' in html


def test_static_assets_are_the_real_bundles():
    client = TestClient(_tiny_app())
    js = client.get("/static/docs/swagger-ui-bundle.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"] and len(js.content) > 100_000
    assert len(client.get("/static/docs/redoc.standalone.js").content) > 100_000


@pytest.mark.parametrize("service", _SERVICES)
def test_every_service_serves_its_docs_offline(service):
    app = importlib.import_module(f"services.{service}.main").app
    client = TestClient(app)
    _check_offline(client, "/docs")
    _check_offline(client, "/redoc")
