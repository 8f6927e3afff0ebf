"""Drive one request of any service and region through the running system, recording every task:
its step, the role and operator that acted, when it was opened and when it was due."""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from shared.calendar import ALMATY, CALENDAR
from shared.envelope import canonical
from shared.iin import random_iin
from shared.signing import Signer

from egov import demo


@dataclass
class Applicant:
    iin: str
    token: str
    signer: Signer


@dataclass
class Run:
    """One request: what the portal answered and the tasks worked, in order."""

    request_id: str
    number: str | None
    subtype: str
    submitted: dict
    tasks: list[dict] = field(default_factory=list)

    @property
    def steps(self) -> list[str]:
        return [t["step"]["key"] for t in self.tasks]

    @property
    def actors(self) -> list[tuple[str, str]]:
        return [(t["step"]["key"], t["acted_by"]) for t in self.tasks]

    def task(self, key: str) -> dict:
        return next(t for t in self.tasks if t["step"]["key"] == key)

    @property
    def received_at(self) -> datetime:
        return at(self.tasks[0]["created_at"])


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def expected_due(task: dict, amount: int, unit: str, *, skip_day_of_receipt: bool = False) -> datetime:
    return CALENDAR.deadline(at(task["created_at"]), amount, unit, skip_day_of_receipt=skip_day_of_receipt)


class World:
    def __init__(self, system, operators: list[dict], tmp: Path):
        self.system = system
        self.c = system.client
        self.operators = {o["username"]: o for o in operators}
        self.tmp = tmp
        self._tokens: dict[str, str] = {}

    # --- applicants --------------------------------------------------------------------
    def applicant(self) -> Applicant:
        iin = random_iin("F")
        password = "Applicant-" + uuid.uuid4().hex[:8]
        self.system.ca.issue_individual(iin, "ТЕСТОВА ЖАНАР", usage="sign").write(self.tmp / iin)
        r = self.c.portal("POST", "/auth/register", json={"iin_bin": iin, "password": password, "full_name": "ТЕСТОВА"})
        assert r.status_code == 201, r.text
        return Applicant(iin, self.c.token(iin, password), Signer.from_dir(self.tmp / iin))

    def service(self, code: str) -> dict:
        return next(s for s in self.c.portal("GET", "/services").json() if s["code"] == code)

    def submit(self, who: Applicant, code: str, region: str, subtype: str = "issue", form: dict | None = None,
               *, wait: set[str] = frozenset({"REGISTERED", "IN_PROCESSING"})) -> Run:
        svc = self.service(code)
        attachments = []
        for d in svc["required_documents"]:
            r = self.c.portal("POST", "/attachments", who.token,
                              files={"file": (f"{d['code']}.pdf", b"%PDF-1.4 " + d["code"].encode(), "application/pdf")})
            assert r.status_code == 201, r.text
            attachments.append({"attachment_id": r.json()["attachment_id"], "sha256": r.json()["sha256"],
                                "code": d["code"]})
        payment_id = None
        if svc["fee"]["mrp"]:
            r = self.c.portal("POST", "/payments", who.token, json={"service_code": code, "region": region})
            assert r.status_code == 201, r.text
            payment_id = r.json()["payment_id"]
        doc = {"service_code": code, "region": region, "subtype": subtype, "iin_bin": who.iin, "language": "ru",
               "form": form if form is not None else svc["example"], "attachments": attachments,
               "payment_id": payment_id, "created_at": datetime.now(timezone.utc).isoformat(),
               "nonce": str(uuid.uuid4())}
        r = self.c.submit(who.token, doc, who.signer.sign(canonical(doc)))
        assert r.status_code == 202, r.text
        rid = r.json()["request_id"]
        view = self.c.wait_status(who.token, rid, set(wait))
        return Run(rid, view["application_number"], subtype, r.json())

    # --- operators ---------------------------------------------------------------------
    def token(self, username: str) -> str:
        if username not in self._tokens:
            r = self.c.arm("POST", "/auth/token", data={"username": username,
                                                          "password": self.operators[username]["password"]})
            assert r.status_code == 200, r.text
            self._tokens[username] = r.json()["access_token"]
        return self._tokens[username]

    def act(self, run: Run, username: str, step: str, decision: str, **body) -> dict:
        """Wait for the task of ``step`` in ``username``'s queue, complete it, record it."""
        token = self.token(username)
        task = self.c.wait_task(token, run.number, step)
        if body.pop("sign", False):
            full = self.c.arm("GET", f"/tasks/{task['task_id']}", token).json()
            body["signature"] = self.signer(username).sign(canonical(full["draft_result"]))
            task["draft_result"] = full["draft_result"]
        r = self.c.complete(token, task["task_id"], decision, **body)
        assert r.status_code == 200, r.text
        task["acted_by"] = username
        run.tasks.append(task)
        return task

    def signer(self, username: str) -> Signer:
        return Signer.from_dir(demo.key_dir(self.system.settings.data_dir, username, "sign"))

    def wait(self, who: Applicant, run: Run, statuses: set[str]) -> dict:
        return self.c.wait_status(who.token, run.request_id, statuses)

    def result(self, who: Applicant, run: Run) -> dict:
        r = self.c.portal("GET", f"/requests/{run.request_id}/result", who.token)
        assert r.status_code == 200, r.text
        return r.json()

    def permit(self, number: str):
        """The public registry's view of a licence or certificate."""
        return self.c.http.get(f"{self.system.url('e_licensing')}/api/v1/permits/{number}")

    def history(self, number: str) -> list[dict]:
        """The versions ИС ГБД ЕЛ keeps of a permit (issued, reissued, duplicated), read from its own
        database — the public view does not show them."""
        import asyncio

        from sqlalchemy import select

        from services.e_licensing.models import PermitEvent
        from shared.db import Database

        async def read():
            db = Database(self.system.settings.database_url("e_licensing"))
            try:
                async with db.read() as s:
                    rows = await s.scalars(select(PermitEvent).where(PermitEvent.number == number)
                                           .order_by(PermitEvent.at, PermitEvent.id))
                    return [{"event": e.event, "subtype": e.subtype} for e in rows]
            finally:
                await db.dispose()
        return asyncio.run(read())

    def diagram(self, process_id: str, request_id: str | None = None, operator: str | None = None):
        """The drawing; with ``request_id`` as ``operator`` (one of the case's provider), who alone may see it."""
        params = {"request_id": request_id} if request_id else None
        headers = {"Authorization": f"Bearer {self.token(operator)}"} if operator else None
        return self.c.http.get(f"{self.system.url('provider_arm')}/api/v1/processes/{process_id}/diagram.svg",
                               params=params, headers=headers)


def step_classes(svg: str) -> dict[str, set[str]]:
    """The classes of every step of a diagram, by step key (``data-step``)."""
    import xml.etree.ElementTree as ET

    return {g.get("data-step"): set(g.get("class", "").split())
            for g in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}g") if g.get("data-step")}


def almaty(iso: str) -> datetime:
    return at(iso).astimezone(ALMATY)


def wait_until(fn, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.3)
    raise AssertionError("condition not met in time")
