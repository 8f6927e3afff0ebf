"""One application is one trace: the trace id the portal answered with is the one every later hop
logs — the gateway's accept, e_licensing's registration, the provider's case and each operator's
step, and the portal's receipt of the signed result (shared/telemetry.py)."""
from __future__ import annotations

import json

import pytest

from shared.envelope import canonical

from .test_chain import new_applicant

pytestmark = pytest.mark.integration


def events(system, service: str, trace_id: str) -> list[dict]:
    out = []
    for line in (system.settings.data_dir / "logs" / f"{service}.log").read_text(errors="replace").splitlines():
        if trace_id in line and line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def test_one_application_is_one_trace_across_http_and_kafka(system, tmp_path):
    c = system.client
    iin, _, token, signer = new_applicant(system, tmp_path)
    doc = c.prepare_document(token, iin)
    r = c.submit(token, doc, signer.sign(canonical(doc)))
    assert r.status_code == 202, r.text
    trace_id = r.headers["x-trace-id"]
    assert len(trace_id) == 32 and int(trace_id, 16)
    request_id = r.json()["request_id"]
    number = c.wait_status(token, request_id, {"REGISTERED", "IN_PROCESSING"})["application_number"]
    c.run_almaty_s2(number)
    c.wait_status(token, request_id, {"COMPLETED"})

    portal = {e["event"] for e in events(system, "portal", trace_id)}
    assert {"submitted", "result issued"} <= portal, portal
    assert "registered" in {e["event"] for e in events(system, "e_licensing", trace_id)}
    arm = events(system, "provider_arm", trace_id)
    assert "message applied" in {e["event"] for e in arm}
    # every operator's step (its own HTTP call, its own trace id in the answer) reports into the case's trace
    assert len([e for e in arm if e["event"] == "task done"]) >= 3
