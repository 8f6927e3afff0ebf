"""The provider's workstation: operators log in, see their tasks by due time (overdue marked),
open a task with its application and take one of the decisions it allows — signing the draft result
where the step needs the operator's ЭЦП — and the head sees every overdue task of the provider."""
from __future__ import annotations

import asyncio
import base64
import json
from datetime import datetime, timezone

import jwt
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from .common import (password_login, OPERATOR_COOKIE, ApiFailure, Translator, canonical, data_url, language, login_redirect,
                     read_signature, render, safe_next, when)

router = APIRouter(prefix="/arm")


def _arm(request: Request):
    return request.app.state.arm


def _claims(token: str) -> dict:
    """For display only (name, roles): provider_arm checks the token on every call."""
    try:
        return jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}


async def _step_titles(request: Request) -> dict[tuple[str, str], dict]:
    """Every step's titles in Russian and Kazakh, by (process, step), from provider_arm's process
    definitions (public, read once: they change only with the regulations, when provider_arm restarts)."""
    titles = getattr(request.app.state, "arm_step_titles", None)
    if titles is None:
        titles = {(p["id"], step["key"]): {"title_ru": step["title_ru"], "title_kk": step["title_kk"]}
                  for p in await _arm(request).call("GET", "/processes") for step in p["steps"]}
        request.app.state.arm_step_titles = titles
    return titles


async def with_titles(request: Request, tasks: list[dict]) -> list[dict]:
    """The tasks with their step's Kazakh title too (a task names its step in Russian only)."""
    titles = await _step_titles(request)
    for task in tasks:
        known = titles.get((task["application"]["process_id"], task["step"]["key"]), {})
        task["step"] = {**known, **{k: v for k, v in task["step"].items() if v}}
    return tasks


def alert_text_kk(alert: dict, task: dict | None, t: Translator) -> str | None:
    """An overdue alert in Kazakh, from its task (provider_arm words its alerts in Russian)."""
    if alert.get("text_kk"):
        return alert["text_kk"]
    if task is None:
        return None
    return t("arm.alert_text", no=task["step"]["no"], title=t.pick(task["step"]), number=task["application"]["number"],
             due=when(task.get("due_at")), who=task.get("assignee") or t("role." + task["role"]))


def is_head(claims: dict) -> bool:
    return bool({"head", "deputy_head"} & set(claims.get("roles") or ()))


def overdue(task: dict, now: datetime | None = None) -> bool:
    """Past its due time (or marked overdue by provider_arm's check) and still open."""
    if task.get("status") != "OPEN":
        return False
    now = now or datetime.now(timezone.utc)
    due = task.get("due_at")
    return bool(task.get("overdue_at")) or (due is not None and datetime.fromisoformat(due) < now)


async def _page(request: Request, fn):
    token = request.cookies.get(OPERATOR_COOKIE)
    if not token:
        return login_redirect("arm", request)
    try:
        return await fn(token)
    except ApiFailure as exc:
        if exc.code == "AUTH_REQUIRED":
            return login_redirect("arm", request)
        raise


@router.get("/login")
async def login_form(request: Request, next: str | None = None):
    return render(request, "login.html", area="arm", next=safe_next(next, "/arm"))


@router.post("/login")
async def login(request: Request):
    return await password_login(request, _arm(request), "arm")


@router.post("/logout")
async def logout():
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(OPERATOR_COOKIE, path="/")
    return response


@router.get("")
async def tasks(request: Request):
    async def page(token):
        items = await with_titles(request, await _arm(request).call("GET", "/tasks", token))
        now = datetime.now(timezone.utc)
        items.sort(key=lambda t: (t.get("due_at") is None, t.get("due_at") and datetime.fromisoformat(t["due_at"]),
                                  t["task_id"]))
        for t in items:
            t["overdue"] = overdue(t, now)
        claims = _claims(token)
        return render(request, "arm_tasks.html", area="arm", tasks=items, user=claims, head=is_head(claims))
    return await _page(request, page)


@router.get("/overdue")
async def overdue_view(request: Request):
    async def page(token):
        items = await with_titles(request, await _arm(request).call("GET", "/tasks/overdue", token))
        alerts = await _arm(request).call("GET", "/alerts", token)
        if language(request) == "kk":
            t, tasks = Translator("kk"), {task["task_id"]: task for task in items}
            others = list(dict.fromkeys(a["task_id"] for a in alerts if a.get("task_id") not in tasks))[:50]
            found = await asyncio.gather(*(_arm(request).call("GET", f"/tasks/{i}", token) for i in others),
                                         return_exceptions=True)  # a task since gone: its alert stays in Russian
            tasks |= {task["task_id"]: task for task in await with_titles(
                request, [f for f in found if isinstance(f, dict)])}
            for a in alerts:
                a["text_kk"] = alert_text_kk(a, tasks.get(a.get("task_id")), t)
        claims = _claims(token)
        return render(request, "arm_overdue.html", area="arm", tasks=items, alerts=alerts, user=claims,
                      head=is_head(claims))
    return await _page(request, page)


def _task_page(request: Request, token: str, task: dict, *, error: dict | None = None, form: dict | None = None,
               status_code: int = 200):
    claims = _claims(token)
    ctx = {}
    if task.get("draft_result") is not None:
        content = base64.b64decode(task["draft_result_jcs_b64"]) if task.get("draft_result_jcs_b64") \
            else canonical(task["draft_result"])
        ctx = {"canonical_text": content.decode(), "download": data_url(content)}
    return render(request, "arm_task.html", area="arm", task=task, user=claims, head=is_head(claims), error=error,
                  form=form or {}, data_dir=request.app.state.settings.data_dir, status_code=status_code, **ctx)


async def _task(request: Request, token: str, task_id: int) -> dict:
    return (await with_titles(request, [await _arm(request).call("GET", f"/tasks/{task_id}", token)]))[0]


@router.get("/tasks/{task_id}")
async def task_view(request: Request, task_id: int):
    async def page(token):
        return _task_page(request, token, await _task(request, token, task_id))
    return await _page(request, page)


@router.post("/tasks/{task_id}")
async def complete(request: Request, task_id: int):
    async def page(token):
        form = await request.form()
        body: dict = {"decision": form.get("decision") or ""}
        if (form.get("comment") or "").strip():
            body["comment"] = form["comment"].strip()
        data: dict = {}
        if (form.get("data_json") or "").strip():
            try:
                data = json.loads(form["data_json"])
            except ValueError:
                data = {"_": form["data_json"]}  # provider_arm names what is wrong
        if (form.get("assignee") or "").strip():
            data["assignee"] = form["assignee"].strip()
        if (form.get("testing_at") or "").strip():
            data["testing_at"] = form["testing_at"].strip()
        if data:
            body["data"] = data
        upload = form.get("signature_file")
        content = await upload.read() if hasattr(upload, "read") else None
        signature = read_signature(form.get("signature"), content)
        if signature:
            body["signature"] = signature
        try:
            await _arm(request).call("POST", f"/tasks/{task_id}/complete", token, json=body)
        except ApiFailure as exc:
            if exc.code == "AUTH_REQUIRED":
                raise
            task = await _task(request, token, task_id)
            return _task_page(request, token, task, error=exc.error, form=dict(form), status_code=exc.status)
        return RedirectResponse(f"/arm?done={task_id}", status_code=303)
    return await _page(request, page)


@router.get("/diagram/{process_id}.svg")
async def diagram(request: Request, process_id: str, request_id: str | None = None):
    """The process drawn by provider_arm; with ``request_id`` (the operator's login) where it stands."""
    token = request.cookies.get(OPERATOR_COOKIE)
    r = await _arm(request).raw("GET", f"/processes/{process_id}/diagram.svg", token,
                                params={"lang": language(request), **({"request_id": request_id} if request_id else {})})
    if r.status_code != 200:
        return Response(status_code=r.status_code)
    return Response(r.content, media_type="image/svg+xml")
