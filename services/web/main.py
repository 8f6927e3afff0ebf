"""The web pages: the applicant's personal cabinet (``/cabinet``), the provider's workstation
(``/arm``) and the ЦОН desk (``/con``), server-rendered (Jinja2, plain HTML forms), in Russian and Kazakh. A backend-for-frontend:
it owns no database and reaches the portal, provider_arm and the ЦОН desk only through their public REST APIs,
with the user's own bearer token, kept in an HttpOnly, SameSite=Lax session cookie."""
from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from shared import telemetry
from shared.app import configure_logging, create_app

from . import arm, cabinet, con
from .common import HERE, LANG_COOKIE, LANGUAGES, Api, ApiFailure, language, render, safe_next
from .settings import WebSettings


def verifier(settings: WebSettings):
    """The result's verification report, as ``egov verify`` prints it: the CMS over the JCS bytes
    checked against the НУЦ roots, with OCSP/CRL at the nca."""
    store = None

    async def verify(signature: str, content: bytes) -> dict:
        nonlocal store
        from shared.errors import ApiError
        from shared.signing import TrustStore

        try:
            if store is None:
                store = TrustStore.from_pki_dir(settings.pki_dir, freshness_seconds=settings.revocation_freshness_seconds)
            return (await store.verify(signature, content, usage="sign")).to_dict()
        except ApiError as exc:
            return {"valid": False, "code": exc.code, "detail": exc.detail}
        except OSError as exc:
            return {"valid": False, "code": "TRUST_ANCHORS_MISSING", "detail": str(exc)}

    async def close() -> None:
        if store is not None:
            await store.aclose()

    return verify, close


@asynccontextmanager
async def lifespan(app):
    settings = WebSettings()
    configure_logging(settings.log_level)
    http = telemetry.http_client(timeout=settings.web_api_timeout)
    app.state.settings = settings
    app.state.portal = Api(http, settings.portal_api)
    app.state.arm = Api(http, settings.arm_api)
    app.state.con = Api(http, settings.con_api)
    app.state.verify, close = verifier(settings)
    try:
        yield
    finally:
        await close()
        await http.aclose()


app = create_app(
    "web",
    title="egov-sim web pages (personal cabinet, provider workstation)",
    description="Server-rendered pages over the portal's and provider_arm's public REST APIs (docs/web.md).",
    lifespan=lifespan,
    max_body_size=12 * 1024 * 1024,
)
app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
app.include_router(cabinet.router)
app.include_router(arm.router)
app.include_router(con.router)


@app.exception_handler(ApiFailure)
async def api_failure(request: Request, exc: ApiFailure):
    path = request.url.path
    area = "arm" if path.startswith("/arm") else "con" if path.startswith("/con") else "cabinet"
    return render(request, "error.html", area=area, error=exc.error, status_code=exc.status)


@app.get("/", include_in_schema=False)
async def index(request: Request):
    return render(request, "index.html", area=None)


@app.get("/lang/{lang}", include_in_schema=False)
async def switch_language(lang: str, next: str | None = None):
    response = RedirectResponse(safe_next(next, "/"), status_code=303)
    if lang in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/")
    return response


@app.get("/diagram/{process_id}.svg", include_in_schema=False)
async def diagram(request: Request, process_id: str):
    """A process drawn by provider_arm (public, without a request's path)."""
    r = await request.app.state.arm.raw("GET", f"/processes/{process_id}/diagram.svg",
                                        params={"lang": language(request)})
    if r.status_code != 200:
        return Response(status_code=r.status_code)
    return Response(r.content, media_type="image/svg+xml", headers={"Cache-Control": "max-age=300", "Vary": "Cookie"})
