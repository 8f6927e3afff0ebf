"""What both areas share: languages and messages, templates, the session cookies, the API client
and how an API's error body becomes a page."""
from __future__ import annotations

import base64
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
import rfc8785
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from shared.app import client_address

HERE = Path(__file__).parent
#: times are shown as Kazakhstan's working-time calendar counts them
ALMATY = ZoneInfo("Asia/Almaty")
LANGUAGES = ("ru", "kk")
LANG_COOKIE = "egov_lang"
#: one cookie per area, so that one browser may hold an applicant's and an operator's login
APPLICANT_COOKIE = "egov_applicant"
OPERATOR_COOKIE = "egov_operator"
CON_COOKIE = "egov_con"


def load_messages() -> dict[str, dict[str, str]]:
    """All strings of the pages, one JSON file per language (``messages/ru.json``, ``messages/kk.json``)."""
    return {lang: json.loads((HERE / "messages" / f"{lang}.json").read_text(encoding="utf-8")) for lang in LANGUAGES}


MESSAGES = load_messages()


def language(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, "ru")
    return lang if lang in LANGUAGES else "ru"


class Translator:
    def __init__(self, lang: str):
        self.lang = lang

    def __call__(self, key: str, **kw) -> str:
        text = MESSAGES[self.lang].get(key) or MESSAGES["ru"].get(key) or key
        return text.format(**kw) if kw else text

    def pick(self, obj: dict | None, field: str = "title") -> str:
        """``obj[field_kk]`` in Kazakh when there is one, else ``obj[field_ru]``."""
        if not obj:
            return ""
        return obj.get(f"{field}_{self.lang}") or obj.get(f"{field}_ru") or obj.get(field) or ""


def when(value: str | None) -> str:
    if not value:
        return ""
    try:
        when = datetime.fromisoformat(value)
        return (when.astimezone(ALMATY) if when.tzinfo else when).strftime("%d.%m.%Y %H:%M")
    except ValueError:
        return value


env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
env.filters["when"] = when
env.filters["pretty"] = lambda obj: json.dumps(obj, ensure_ascii=False, indent=2)
env.filters["urlquote"] = lambda s: quote(str(s), safe="")


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    lang = language(request)
    html = env.get_template(template).render(request=request, t=Translator(lang), lang=lang, **context)
    return HTMLResponse(html, status_code=status_code)


def canonical(obj: Any) -> bytes:
    """RFC 8785 (JCS) bytes: what a signature covers (API.md "Signatures")."""
    return rfc8785.dumps(obj)


def data_url(content: bytes, media_type: str = "application/json") -> str:
    return f"data:{media_type};base64,{base64.b64encode(content).decode()}"


def read_signature(pasted: str | None, uploaded: bytes | None) -> str:
    """The signature as the API takes it (base64 DER CMS): pasted base64 text, or an uploaded file
    holding either that text (what ``egov sign`` prints) or the DER bytes (``openssl cms -outform DER``)."""
    if uploaded:
        try:
            text = uploaded.decode("ascii").strip()
            base64.b64decode("".join(text.split()), validate=True)
            return "".join(text.split())
        except (UnicodeDecodeError, ValueError):
            return base64.b64encode(uploaded).decode()
    return "".join((pasted or "").split())


# --- the APIs ---------------------------------------------------------------------------------
class ApiFailure(Exception):
    """An API refused (its error body, API.md "Errors, everywhere") or could not be reached."""

    def __init__(self, status: int, error: dict):
        super().__init__(error.get("code"))
        self.status = status
        self.error = error

    @property
    def code(self) -> str:
        return self.error.get("code") or "UNAVAILABLE"


def unreachable(exc: Exception) -> ApiFailure:
    return ApiFailure(503, {"code": "UNAVAILABLE", "message_ru": MESSAGES["ru"]["error.unreachable"],
                            "message_kk": MESSAGES["kk"]["error.unreachable"], "step": None,
                            "detail": exc.__class__.__name__})


class Api:
    """One upstream API (portal, provider_arm or the ЦОН desk), called with the user's own bearer token."""

    def __init__(self, http: httpx.AsyncClient, base: str):
        self.http, self.base = http, base

    async def raw(self, method: str, path: str, token: str | None = None, **kw) -> httpx.Response:
        """``path`` as the pages build it, from path parameters as the browser sent them (decoded):
        every character but ``/`` that is not plain in a path is percent-encoded here, so that no
        parameter can add a query, a fragment or bytes the URL cannot hold."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        headers.update(kw.pop("headers", None) or {})
        try:
            return await self.http.request(method, self.base + quote(path, safe="/"), headers=headers, **kw)
        except httpx.HTTPError as exc:
            raise unreachable(exc) from exc

    async def call(self, method: str, path: str, token: str | None = None, **kw) -> Any:
        r = await self.raw(method, path, token, **kw)
        if r.status_code >= 400:
            try:
                error = r.json()["error"]
            except (ValueError, KeyError, TypeError):
                error = {"code": "UNAVAILABLE" if r.status_code >= 500 else "VALIDATION_ERROR",
                         "message_ru": r.text[:200], "message_kk": r.text[:200], "step": None}
            raise ApiFailure(r.status_code, error)
        return r.json()


def set_session(response, name: str, token: str, max_age: int, secure: bool) -> None:
    response.set_cookie(name, token, max_age=max_age, httponly=True, samesite="lax", secure=secure, path="/")


#: each area's session cookie
SESSION_COOKIES = {"cabinet": APPLICANT_COOKIE, "arm": OPERATOR_COOKIE, "con": CON_COOKIE}


async def password_login(request: Request, api, area: str):
    """The login form of an area, posted: the API's token into the area's HttpOnly cookie and on to
    ``next``; a refusal is the login page again with the API's error."""
    form = await request.form()
    nxt = safe_next(form.get("next"), f"/{area}")
    try:
        # the browser's address, so that the API counts failed logins per browser, not against the web's own
        # address (which every browser's login would share); the API believes it from a trusted proxy only
        body = await api.call("POST", "/auth/token", headers={"X-Forwarded-For": client_address(request)}, data={
            "username": (form.get("username") or "").strip(), "password": form.get("password") or ""})
    except ApiFailure as exc:
        return render(request, "login.html", area=area, next=nxt, error=exc.error, status_code=exc.status,
                      username=form.get("username") or "")
    response = RedirectResponse(nxt, status_code=303)
    set_session(response, SESSION_COOKIES[area], body["access_token"], int(body.get("expires_in", 3600)),
                request.app.state.settings.web_cookie_secure)
    return response


def login_redirect(area: str, request: Request) -> RedirectResponse:
    target = f"/{area}/login"
    nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response = RedirectResponse(f"{target}?next={quote(nxt, safe='')}", status_code=303)
    response.delete_cookie(SESSION_COOKIES[area], path="/")
    return response


def safe_next(value: str | None, default: str) -> str:
    """Only a path of this site (no open redirect)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default
