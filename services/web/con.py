"""The ЦОН desk (diagram No 1): the operator logs in, looks the applicant (and a representative with
the power of attorney) up with the applicant's written consent, takes the fee, scans the package, fills
the form, signs the draft with the operator's own ЭЦП and hands the receipt over; later the status by
the receipt's number, the printed result and the hand-out against an identity document. Everything goes
through the ЦОН's public REST API (docs/con.md) with the operator's own token (an HttpOnly cookie), the
service catalogue (required documents, the form's example) included."""
from __future__ import annotations

import json
import re

import jwt
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from .common import (password_login, CON_COOKIE, ApiFailure, canonical, data_url, login_redirect, read_signature, render,
                     safe_next)

router = APIRouter(prefix="/con")

#: what a receipt number may look like in a URL (the API answers RECEIPT_NOT_FOUND for the rest)
_NUMBER = re.compile(r"^[A-Za-z0-9-]{1,32}$")


def _con(request: Request):
    return request.app.state.con


def _claims(token: str) -> dict:
    """For display only: the ЦОН checks the token on every call."""
    try:
        return jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}


async def _page(request: Request, fn):
    token = request.cookies.get(CON_COOKIE)
    if not token:
        return login_redirect("con", request)
    try:
        return await fn(token)
    except ApiFailure as exc:
        if exc.code == "AUTH_REQUIRED":
            return login_redirect("con", request)
        raise


async def _catalogue(request: Request) -> list[dict]:
    """The services the desk accepts (S1, S2 in the regions with a ЦОН office): the ЦОН's own catalogue."""
    return await _con(request).call("GET", "/services")


def _service(catalogue: list[dict], code: str) -> dict | None:
    return next((s for s in catalogue if s["code"] == code), None)


def _error(code: str, ru: str, kk: str, step: str | None = None) -> dict:
    return {"code": code, "message_ru": ru, "message_kk": kk, "step": step}


# --- process 1: login ---------------------------------------------------------------------------
@router.get("/login")
async def login_form(request: Request, next: str | None = None):
    return render(request, "login.html", area="con", next=safe_next(next, "/con"))


@router.post("/login")
async def login(request: Request):
    return await password_login(request, _con(request), "con")


@router.post("/logout")
async def logout():
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(CON_COOKIE, path="/")
    return response


# --- processes 2–4: the lookup ------------------------------------------------------------------
async def _desk_page(request: Request, token: str, *, error: dict | None = None, form: dict | None = None,
                     status_code: int = 200):
    desk = await _con(request).call("GET", "/desk", token)
    catalogue = await _catalogue(request)
    return render(request, "con_desk.html", area="con", user=_claims(token), desk=desk, catalogue=catalogue,
                  error=error, form=form or {"region": desk["operator"].get("region")}, status_code=status_code)


@router.get("")
async def desk_view(request: Request):
    return await _page(request, lambda token: _desk_page(request, token))


@router.post("/lookups")
async def lookup(request: Request):
    async def page(token):
        form = dict(await request.form())
        body = {"service_code": (form.get("service_code") or "").strip(), "region": (form.get("region") or "").strip(),
                "iin_bin": (form.get("iin_bin") or "").strip(), "consent": form.get("consent") == "1"}
        rep, poa = (form.get("representative_iin") or "").strip(), (form.get("power_of_attorney_number") or "").strip()
        if rep:
            body["representative_iin"] = rep
        if poa:
            body["power_of_attorney_number"] = poa
        try:
            found = await _con(request).call("POST", "/lookups", token, json=body)
        except ApiFailure as exc:
            if exc.code == "AUTH_REQUIRED":
                raise
            return await _desk_page(request, token, error=exc.error, form=form, status_code=exc.status)
        ctx = {**found, "service_code": body["service_code"], "region": body["region"]}
        return await _package_page(request, token, ctx)
    return await _page(request, page)


# --- the fee, the scans, the form: the draft to sign --------------------------------------------
def _read_ctx(form) -> dict:
    try:
        ctx = json.loads(form.get("lookup") or "{}")
        return ctx if isinstance(ctx, dict) and ctx.get("lookup_id") else {}
    except ValueError:
        return {}


async def _package_page(request: Request, token: str, ctx: dict, *, payment: dict | None = None,
                        error: dict | None = None, form: dict | None = None, status_code: int = 200):
    service = _service(await _catalogue(request), ctx["service_code"]) or {
        "code": ctx["service_code"], "required_documents": [], "subtypes": ["issue"], "example": {}}
    form = form or {}
    return render(request, "con_package.html", area="con", user=_claims(token), ctx=ctx,
                  ctx_json=json.dumps(ctx, ensure_ascii=False), service=service, payment=payment, error=error,
                  form_json=form.get("form_json") or json.dumps(service.get("example") or {}, ensure_ascii=False, indent=2),
                  form=form, status_code=status_code)


@router.post("/payments")
async def pay(request: Request):
    async def page(token):
        form = await request.form()
        ctx = _read_ctx(form)
        if not ctx:
            return RedirectResponse("/con", status_code=303)
        try:
            payment = await _con(request).call("POST", "/payments", token, json={"lookup_id": ctx["lookup_id"]})
        except ApiFailure as exc:
            if exc.code == "AUTH_REQUIRED":
                raise
            return await _package_page(request, token, ctx, error=exc.error, status_code=exc.status)
        return await _package_page(request, token, ctx, payment=payment)
    return await _page(request, page)


def _contacts(form, prefix: str) -> dict:
    return {k: form[f"{prefix}_{k}"].strip() for k in ("phone", "email") if (form.get(f"{prefix}_{k}") or "").strip()}


@router.post("/drafts")
async def make_draft(request: Request):
    async def page(token):
        form = await request.form()
        ctx = _read_ctx(form)
        if not ctx:
            return RedirectResponse("/con", status_code=303)
        payment = None
        if (form.get("payment_id") or "").strip():
            payment = {"payment_id": form["payment_id"].strip(), "amount": form.get("payment_amount") or ""}
        plain = {k: v for k, v in form.items() if isinstance(v, str)}

        def again(error, status):
            return _package_page(request, token, ctx, payment=payment, error=error, form=plain, status_code=status)

        try:
            filled = json.loads(form.get("form_json") or "{}")
            if not isinstance(filled, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            return await again(_error("VALIDATION_ERROR", f"Форма: не JSON-объект ({exc})",
                                      f"Нысан: JSON-объект емес ({exc})"), 400)
        attachments = []
        for key, upload in form.multi_items():
            if not key.startswith("doc.") or not hasattr(upload, "read"):
                continue
            content = await upload.read()
            if not content:
                continue
            try:
                a = await _con(request).call("POST", "/attachments", token, files={
                    "file": (upload.filename or "scan", content, upload.content_type or "application/octet-stream")})
            except ApiFailure as exc:
                if exc.code == "AUTH_REQUIRED":
                    raise
                return await again(exc.error, exc.status)
            attachments.append({"attachment_id": a["attachment_id"], "sha256": a["sha256"], "code": key[4:]})
        body = {"lookup_id": ctx["lookup_id"], "subtype": form.get("subtype") or "issue",
                "language": form.get("language") if form.get("language") in ("ru", "kk") else "ru",
                "form": filled, "attachments": attachments, "payment_id": payment["payment_id"] if payment else None,
                "applicant_contacts": _contacts(form, "applicant")}
        if ctx.get("representative"):
            body["representative_contacts"] = _contacts(form, "representative")
        try:
            document = await _con(request).call("POST", "/drafts", token, json=body)
        except ApiFailure as exc:
            if exc.code == "AUTH_REQUIRED":
                raise
            return await again(exc.error, exc.status)
        return _sign_page(request, token, document)
    return await _page(request, page)


# --- process 5: the operator's signature; the receipt -------------------------------------------
def _sign_page(request: Request, token: str, document: dict, *, error: dict | None = None, status_code: int = 200):
    content = canonical(document)
    return render(request, "con_sign.html", area="con", user=_claims(token), document=document,
                  document_json=content.decode(), canonical_text=content.decode(), download=data_url(content),
                  data_dir=request.app.state.settings.data_dir, error=error, status_code=status_code)


@router.post("/applications")
async def submit(request: Request):
    async def page(token):
        form = await request.form()
        try:
            document = json.loads(form.get("document") or "")
            if not isinstance(document, dict):
                raise ValueError
        except ValueError:
            return RedirectResponse("/con", status_code=303)
        upload = form.get("signature_file")
        content = await upload.read() if hasattr(upload, "read") else None
        body = {"document": document, "signature": read_signature(form.get("signature"), content)}
        try:
            out = await _con(request).call("POST", "/applications", token, json=body)
        except ApiFailure as exc:
            if exc.code == "AUTH_REQUIRED":
                raise
            return _sign_page(request, token, document, error=exc.error, status_code=exc.status)
        return RedirectResponse(f"/con/receipts/{out['number']}", status_code=303)
    return await _page(request, page)


@router.get("/lookups")
@router.get("/payments")
@router.get("/drafts")
@router.get("/applications")
async def back_to_desk():
    """A form's answer page reloaded by GET (the language switch, the address bar): the desk."""
    return RedirectResponse("/con", status_code=303)


# --- the status enquiry, the printed result, process 9: the hand-out ---------------------------
async def _receipt_page(request: Request, token: str, number: str, *, error: dict | None = None,
                        form: dict | None = None, status_code: int = 200):
    receipt = await _con(request).call("GET", f"/receipts/{number}", token)
    return render(request, "con_receipt.html", area="con", user=_claims(token), r=receipt, body=receipt.get("receipt") or {},
                  error=error, form=form or {}, handed=request.query_params.get("handed") == "1",
                  status_code=status_code)


@router.get("/status")
async def status(request: Request, number: str = ""):
    number = number.strip()
    if not _NUMBER.match(number):
        return RedirectResponse("/con", status_code=303)
    return RedirectResponse(f"/con/receipts/{number}", status_code=303)


@router.get("/receipts/{number}")
async def receipt_view(request: Request, number: str):
    return await _page(request, lambda token: _receipt_page(request, token, number))


@router.get("/receipts/{number}/result.pdf")
async def result_pdf(request: Request, number: str):
    async def page(token):
        r = await _con(request).raw("GET", f"/receipts/{number}/result.pdf", token)
        if r.status_code != 200:
            await _con(request).call("GET", f"/receipts/{number}/result.pdf", token)  # raises the API's error
        return Response(r.content, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{number}.pdf"'})
    return await _page(request, page)


@router.post("/receipts/{number}/handout")
async def handout(request: Request, number: str):
    async def page(token):
        form = await request.form()
        body = {"identity_document_number": (form.get("identity_document_number") or "").strip()}
        for key in ("representative_iin", "power_of_attorney_number"):
            if (form.get(key) or "").strip():
                body[key] = form[key].strip()
        try:
            await _con(request).call("POST", f"/receipts/{number}/handout", token, json=body)
        except ApiFailure as exc:
            if exc.code in ("AUTH_REQUIRED", "RECEIPT_NOT_FOUND"):
                raise
            return await _receipt_page(request, token, number, error=exc.error, form=dict(form), status_code=exc.status)
        return RedirectResponse(f"/con/receipts/{number}?handed=1", status_code=303)
    return await _page(request, page)
