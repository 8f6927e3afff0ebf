"""A client that drives the S2 Almaty request through the running system, as a user would."""
from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx

from egov import demo
from shared.envelope import canonical
from shared.signing import Signer


class Client:
    def __init__(self, urls: dict[str, str], data_dir: Path):
        self.urls = urls
        self.data_dir = data_dir
        self.http = httpx.Client(timeout=30)

    # --- portal --------------------------------------------------------------------------
    def portal(self, method: str, path: str, token: str | None = None, **kw) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.request(method, self.urls["portal"] + "/api/v1" + path, headers=headers, **kw)

    def login(self, username: str, password: str) -> httpx.Response:
        return self.portal("POST", "/auth/token", data={"username": username, "password": password})

    def token(self, username: str, password: str) -> str:
        r = self.login(username, password)
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def signer(self, username: str, usage: str = "sign") -> Signer:
        return Signer.from_dir(demo.key_dir(self.data_dir, username, usage))

    def prepare_document(self, token: str, iin_bin: str, *, pay: bool = True, region: str = "almaty") -> dict:
        services = self.portal("GET", "/services").json()
        s2 = next(s for s in services if s["code"] == "S2")
        attachments = []
        for doc in s2["required_documents"]:
            r = self.portal("POST", "/attachments", token,
                            files={"file": (f"{doc['code']}.pdf", b"%PDF-1.4 " + doc["code"].encode(), "application/pdf")})
            assert r.status_code == 201, r.text
            attachments.append({"attachment_id": r.json()["attachment_id"], "sha256": r.json()["sha256"],
                                "code": doc["code"]})
        payment_id = None
        if pay:
            r = self.portal("POST", "/payments", token, json={"service_code": "S2", "region": region})
            assert r.status_code == 201, r.text
            payment_id = r.json()["payment_id"]
        return {"service_code": "S2", "region": region, "subtype": "issue", "iin_bin": iin_bin, "language": "ru",
                "form": s2["example"], "attachments": attachments, "payment_id": payment_id,
                "created_at": datetime.now(timezone.utc).isoformat(), "nonce": str(uuid.uuid4())}

    def submit(self, token: str, document: dict, signature: str) -> httpx.Response:
        return self.portal("POST", "/requests", token, json={"document": document, "signature": signature})

    def wait_status(self, token: str, request_id: str, statuses: set[str], timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.portal("GET", f"/requests/{request_id}", token)
            if r.status_code == 200 and r.json()["status"] in statuses:
                return r.json()
            time.sleep(0.3)
        raise AssertionError(f"request {request_id} did not reach {statuses}: {r.text}")

    # --- provider workstation --------------------------------------------------------------
    def arm(self, method: str, path: str, token: str | None = None, **kw) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.request(method, self.urls["provider_arm"] + "/api/v1" + path, headers=headers, **kw)

    def operator_token(self, username: str) -> str:
        op = next(o for o in demo.operators() if o["username"] == username)
        r = self.arm("POST", "/auth/token", data={"username": username, "password": op["password"]})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def wait_task(self, token: str, application_number: str, step_key: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for t in self.arm("GET", "/tasks", token).json():
                if t["application"]["number"] == application_number and t["step"]["key"] == step_key:
                    return t
            time.sleep(0.3)
        raise AssertionError(f"no task {step_key} for {application_number}")

    def complete(self, token: str, task_id: int, decision: str, **body) -> httpx.Response:
        return self.arm("POST", f"/tasks/{task_id}/complete", token, json={"decision": decision, **body})

    def run_almaty_s2(self, application_number: str, *, refuse: str | None = None, staff: str = "ala") -> None:
        """Work the request through the six steps of the Almaty regulation (п. 9), by the demo staff
        whose usernames start with ``staff``."""
        clerk, head, spec = (self.operator_token(f"{staff}-{r}") for r in ("clerk", "head", "specialist"))
        t = self.wait_task(clerk, application_number, "register")
        assert self.complete(clerk, t["task_id"], "registered").status_code == 200
        t = self.wait_task(head, application_number, "assign")
        r = self.complete(head, t["task_id"], "assigned", data={"assignee": f"{staff}-specialist"})
        assert r.status_code == 200, r.text
        t = self.wait_task(spec, application_number, "check")
        r = self.complete(spec, t["task_id"], "refuse", comment=refuse) if refuse else \
            self.complete(spec, t["task_id"], "documents_ok")
        assert r.status_code == 200, r.text
        t = self.wait_task(spec, application_number, "prepare")
        assert self.complete(spec, t["task_id"], "prepared").status_code == 200
        t = self.wait_task(head, application_number, "sign")
        full = self.arm("GET", f"/tasks/{t['task_id']}", head).json()
        assert base64.b64decode(full["draft_result_jcs_b64"]) == canonical(full["draft_result"])
        signature = self.signer(f"{staff}-head").sign(canonical(full["draft_result"]))
        r = self.complete(head, t["task_id"], "signed", signature=signature)
        assert r.status_code == 200, r.text
        t = self.wait_task(clerk, application_number, "handover")
        assert self.complete(clerk, t["task_id"], "handed_over").status_code == 200


def dump(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=1)
