"""The applicant's personal cabinet: login (password or ЭЦП), the catalogue, the request form from
the service's JSON Schema, attachments, payment, signing, my requests, notifications, the result."""
from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import jwt
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from . import forms
from .common import (password_login, APPLICANT_COOKIE, ApiFailure, Translator, canonical, data_url, language, login_redirect,
                     read_signature, render, safe_next, set_session)

router = APIRouter(prefix="/cabinet")
ALMATY = ZoneInfo("Asia/Almaty")


def _portal(request: Request):
    return request.app.state.portal


def _token(request: Request) -> str | None:
    return request.cookies.get(APPLICANT_COOKIE)


def _claims(token: str) -> dict:
    """The token's claims, for display and for the document's iin_bin only: the portal checks the token."""
    try:
        return jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}


async def _page(request: Request, fn):
    """Run ``fn(token)``; no login, or a login the portal no longer takes: to the login page."""
    token = _token(request)
    if not token:
        return login_redirect("cabinet", request)
    try:
        return await fn(token)
    except ApiFailure as exc:
        if exc.code == "AUTH_REQUIRED":
            return login_redirect("cabinet", request)
        raise


def _logged_in(response: Response, request: Request, body: dict) -> Response:
    set_session(response, APPLICANT_COOKIE, body["access_token"], int(body.get("expires_in", 3600)),
                request.app.state.settings.web_cookie_secure)
    return response


# --- login -------------------------------------------------------------------------------------
@router.get("/login")
async def login_form(request: Request, next: str | None = None):
    return render(request, "login.html", area="cabinet", next=safe_next(next, "/cabinet"))


@router.post("/login")
async def login(request: Request):
    return await password_login(request, _portal(request), "cabinet")


@router.get("/login/ecp")
async def ecp_form(request: Request):
    challenge = await _portal(request).call("POST", "/auth/challenge")
    content = canonical(challenge["sign"])
    return render(request, "ecp_login.html", area="cabinet", challenge=challenge, canonical_text=content.decode(),
                  download=data_url(content), data_dir=request.app.state.settings.data_dir)


@router.post("/login/ecp")
async def ecp_login(request: Request):
    form = await request.form()
    upload = form.get("signature_file")
    content = await upload.read() if hasattr(upload, "read") else None
    signature = read_signature(form.get("signature"), content)
    try:
        body = await _portal(request).call("POST", "/auth/token/ecp", json={
            "challenge_id": form.get("challenge_id") or "", "signature": signature})
    except ApiFailure as exc:
        return render(request, "error.html", area="cabinet", error=exc.error, status_code=exc.status,
                      back="/cabinet/login/ecp")
    return _logged_in(RedirectResponse("/cabinet", status_code=303), request, body)


@router.post("/logout")
async def logout():
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(APPLICANT_COOKIE, path="/")
    return response


# --- my requests, notifications ------------------------------------------------------------------
@router.get("")
async def home(request: Request):
    async def page(token):
        requests = await _portal(request).call("GET", "/requests", token)
        return render(request, "cabinet_home.html", area="cabinet", requests=requests, user=_claims(token),
                      services=await _catalogue(request))
    return await _page(request, page)


@router.get("/notifications")
async def notifications(request: Request):
    async def page(token):
        items = await _portal(request).call("GET", "/notifications", token)
        return render(request, "notifications.html", area="cabinet", notifications=items, user=_claims(token))
    return await _page(request, page)


def process_id(view: dict) -> str | None:
    url = view.get("diagram_url") or ""
    parts = url.rstrip("/").split("/")
    return parts[-2] if len(parts) >= 2 and parts[-1] == "diagram.svg" else None


@router.get("/requests/{request_id}")
async def request_view(request: Request, request_id: str):
    async def page(token):
        view = await _portal(request).call("GET", f"/requests/{request_id}", token)
        return render(request, "request.html", area="cabinet", r=view, process_id=process_id(view),
                      services=await _catalogue(request), user=_claims(token))
    return await _page(request, page)


@router.get("/requests/{request_id}/result")
async def result_view(request: Request, request_id: str):
    async def page(token):
        view = await _portal(request).call("GET", f"/requests/{request_id}", token)
        result = await _portal(request).call("GET", f"/requests/{request_id}/result", token)
        content = canonical(result["document"])
        report = await request.app.state.verify(result["signature"], content)
        return render(request, "result.html", area="cabinet", r=view, result=result, report=report,
                      canonical_text=content.decode(), download=data_url(content),
                      signature_download=data_url(result["signature"].encode(), "text/plain"), user=_claims(token))
    return await _page(request, page)


# --- the catalogue and a new request: form → attachments → payment → signature --------------------
async def _catalogue(request: Request) -> list[dict]:
    return await _portal(request).call("GET", "/services")


async def _service(request: Request, code: str) -> dict:
    for s in await _catalogue(request):
        if s["code"] == code:
            return s
    raise ApiFailure(404, {"code": "SERVICE_UNKNOWN", "message_ru": "Услуга не найдена",
                           "message_kk": "Қызмет табылмады", "step": None})


@router.get("/services")
async def catalogue(request: Request):
    return render(request, "services.html", area="cabinet", services=await _catalogue(request),
                  user=_claims(_token(request) or ""))


@router.get("/services/{code}")
async def apply_form(request: Request, code: str):
    async def page(token):
        service = await _service(request, code)
        return _apply_page(request, service, service["example"], {})
    return await _page(request, page)


def _apply_page(request: Request, service: dict, values: dict, chosen: dict, problems: list[str] | None = None,
                error: dict | None = None, status_code: int = 200):
    return render(request, "apply.html", area="cabinet", service=service, chosen=chosen, problems=problems or [],
                  error=error, fields=forms.fields(service["form_schema"], values), status_code=status_code,
                  user=_claims(_token(request) or ""))


@router.post("/services/{code}")
async def apply(request: Request, code: str):
    async def page(token):
        service = await _service(request, code)
        form = await request.form()
        data = forms.parse(service["form_schema"], form)
        chosen = {k: form.get(k) for k in ("region", "subtype", "language")}
        problems = forms.problems(service["form_schema"], data)
        if chosen["region"] not in [v["region"] for v in service["variants"]]:
            problems.append(f"region: {chosen['region']!r}")
        files = {}
        for doc in service["required_documents"]:
            upload = form.get(f"doc.{doc['code']}")
            if hasattr(upload, "read") and upload.filename:
                files[doc["code"]] = (upload.filename, await upload.read(), upload.content_type)
            elif doc.get("required"):
                problems.append(f"{doc['code']}: {Translator(language(request))('apply.document_missing')}")
        if problems:
            return _apply_page(request, service, data, chosen, problems, status_code=422)
        attachments = []
        try:
            for doc_code, file in files.items():
                a = await _portal(request).call("POST", "/attachments", token, files={"file": file})
                attachments.append({"attachment_id": a["attachment_id"], "sha256": a["sha256"], "code": doc_code,
                                    "filename": file[0], "size": a["size"], "content_type": a["content_type"]})
        except ApiFailure as exc:
            if exc.code == "AUTH_REQUIRED":
                raise
            return _apply_page(request, service, data, chosen, error=exc.error, status_code=exc.status)
        draft = {"service_code": service["code"], "region": chosen["region"], "subtype": chosen["subtype"] or "issue",
                 "iin_bin": _claims(token).get("sub", ""), "language": chosen["language"] or "ru", "form": data,
                 "attachments": [{k: a[k] for k in ("attachment_id", "sha256", "code")} for a in attachments]}
        variant = next(v for v in service["variants"] if v["region"] == chosen["region"])
        return render(request, "pay.html", area="cabinet", service=service, variant=variant, draft=draft,
                      draft_json=json.dumps(draft, ensure_ascii=False), uploaded=attachments, user=_claims(token))
    return await _page(request, page)


@router.post("/pay")
async def pay(request: Request):
    async def page(token):
        form = await request.form()
        draft = json.loads(form.get("draft") or "{}")
        payment = await _portal(request).call("POST", "/payments", token, json={
            "service_code": draft.get("service_code"), "region": draft.get("region")})
        document = {**draft, "payment_id": payment["payment_id"],
                    "created_at": datetime.now(ALMATY).isoformat(timespec="seconds"), "nonce": str(uuid.uuid4())}
        return _sign_page(request, token, document, payment=payment)
    return await _page(request, page)


def _sign_page(request: Request, token: str, document: dict, *, payment: dict | None = None,
               error: dict | None = None, status_code: int = 200):
    content = canonical(document)
    claims = _claims(token)
    return render(request, "sign.html", area="cabinet", document=document, payment=payment, error=error,
                  document_json=json.dumps(document, ensure_ascii=False), canonical_text=content.decode(),
                  download=data_url(content), data_dir=request.app.state.settings.data_dir,
                  holder=claims.get("sub", ""), user=claims, status_code=status_code)


@router.post("/submit")
async def submit(request: Request):
    async def page(token):
        form = await request.form()
        document: dict[str, Any] = json.loads(form.get("document") or "{}")
        upload = form.get("signature_file")
        content = await upload.read() if hasattr(upload, "read") else None
        signature = read_signature(form.get("signature"), content)
        try:
            out = await _portal(request).call("POST", "/requests", token,
                                              json={"document": document, "signature": signature})
        except ApiFailure as exc:
            if exc.code == "AUTH_REQUIRED":
                raise
            return _sign_page(request, token, document, error=exc.error, status_code=exc.status)
        return RedirectResponse(f"/cabinet/requests/{out['request_id']}", status_code=303)
    return await _page(request, page)
