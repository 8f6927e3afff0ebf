"""An НУЦ outage longer than the revocation cache loses nothing: what cannot be checked waits, and
goes on when the НУЦ answers again — no refusal to the applicant, no dead letter, nothing FAILED.

The reproduction of issue 9: a handover completed while the НУЦ was down used to leave the request
stuck for good (COMPLETED at the provider, IN_PROCESSING at the portal, no result)."""
from __future__ import annotations

import asyncio
import time

import pytest

from egov import demo
from egov.ops import SENDERS, _outbox_model
from services.gateway import service as gateway_service
from shared.db import Database
from shared.envelope import canonical
from shared.messaging import outbox

from .conftest import FRESHNESS_SECONDS

pytestmark = pytest.mark.integration

APPLICANT = demo.APPLICANTS[0]


def failures(settings) -> dict:
    """FAILED outbox rows per sending service, and the gateway's dead letters."""
    async def run():
        out = {}
        for service in SENDERS:
            db = Database(settings.database_url(service))
            try:
                out[service] = (await outbox.summary(db, _outbox_model(service))).get("FAILED", 0)
            finally:
                await db.dispose()
        db = Database(settings.database_url("gateway"))
        try:
            async with db.read() as s:
                out["dead_letters"] = len(await gateway_service.dead_letters(s))
        finally:
            await db.dispose()
        return out

    return asyncio.run(run())


def test_a_handover_during_an_nca_outage_completes_when_it_returns(system):
    c = system.client
    before = failures(system.settings)
    token = c.token(APPLICANT["username"], APPLICANT["password"])
    doc = c.prepare_document(token, APPLICANT["username"])
    r = c.submit(token, doc, c.signer(APPLICANT["username"]).sign(canonical(doc)))
    assert r.status_code == 202, r.text
    rid = r.json()["request_id"]
    number = c.wait_status(token, rid, {"IN_PROCESSING"})["application_number"]

    clerk, head, spec = (c.operator_token(u) for u in ("ala-clerk", "ala-head", "ala-specialist"))
    assert c.complete(clerk, c.wait_task(clerk, number, "register")["task_id"], "registered").status_code == 200
    r = c.complete(head, c.wait_task(head, number, "assign")["task_id"], "assigned", data={"assignee": "ala-specialist"})
    assert r.status_code == 200, r.text
    assert c.complete(spec, c.wait_task(spec, number, "check")["task_id"], "documents_ok").status_code == 200
    assert c.complete(spec, c.wait_task(spec, number, "prepare")["task_id"], "prepared").status_code == 200
    t = c.wait_task(head, number, "sign")
    draft = c.arm("GET", f"/tasks/{t['task_id']}", head).json()["draft_result"]
    r = c.complete(head, t["task_id"], "signed", signature=c.signer("ala-head").sign(canonical(draft)))
    assert r.status_code == 200, r.text
    handover = c.wait_task(clerk, number, "handover")

    system.stack.stop("nca")
    try:
        time.sleep(FRESHNESS_SECONDS + 1)  # every cached OCSP answer is stale now
        assert c.complete(clerk, handover["task_id"], "handed_over").status_code == 200
        time.sleep(3 * FRESHNESS_SECONDS)
        # the result cannot travel: the gateway cannot check provider_arm's certificate (503, retried)
        assert c.portal("GET", f"/requests/{rid}", token).json()["status"] == "IN_PROCESSING"
        assert failures(system.settings) == before  # waiting, not failed
    finally:
        system.stack.start_service("nca")
        system.stack.wait_healthy(60)

    done = c.wait_status(token, rid, {"COMPLETED", "REFUSED"}, timeout=150)
    assert done["status"] == "COMPLETED" and done["result_ready"]
    result = c.portal("GET", f"/requests/{rid}/result", token).json()
    assert result["document"]["application_number"] == number
    assert failures(system.settings) == before
