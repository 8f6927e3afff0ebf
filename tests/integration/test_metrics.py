"""The machinery's metrics at every service's /metrics (shared/telemetry.py), after one application
and a few things that go wrong on purpose: outbox backlog, consumer lag (also while idle), the
gateway's redeliveries and dead letters, signature checks by outcome, revocation answers from the
cache and from the НУЦ, overdue tasks (escalations and how many are open); and the Grafana dashboard
(deploy/grafana/egov-sim.json) asks only for metrics some service serves."""
from __future__ import annotations

import json
import re
import time
import uuid
from collections import defaultdict
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared import envelope, regulations
from shared.envelope import canonical
from shared.signing import Signer

from .test_chain import new_applicant
from .test_gateway_channels import Parties

pytestmark = pytest.mark.integration

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "egov-sim.json"
#: the systems that consume their topic with a GatewayConsumer and relay an outbox
CONSUMERS = ("portal", "e_licensing", "provider_arm", "con")


class Scrape:
    """One service's /metrics: the declared names and the samples."""

    def __init__(self, text: str):
        self.names: set[str] = set()
        self.samples: dict[str, list[tuple[dict, float]]] = defaultdict(list)
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(" ", 3)
                self.names |= {name} | ({f"{name}_bucket", f"{name}_count", f"{name}_sum"} if kind == "histogram" else set())
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                self.samples[s.name].append((s.labels, s.value))

    def value(self, name: str, **labels) -> float | None:
        found = [v for lab, v in self.samples.get(name, []) if all(lab.get(k) == w for k, w in labels.items())]
        return sum(found) if found else None


def scrape(system, service: str) -> Scrape:
    r = httpx.get(system.url(service) + "/metrics", timeout=10)
    assert r.status_code == 200, r.text
    return Scrape(r.text)


def wait_for(what: str, condition, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, what
        time.sleep(0.3)


def test_the_machinerys_metrics_after_one_application(system, tmp_path):
    c = system.client
    before = {s: scrape(system, s) for s in ("portal", "gateway")}
    # one application through to COMPLETED
    iin, _, token, signer = new_applicant(system, tmp_path)
    doc = c.prepare_document(token, iin)
    r = c.submit(token, doc, signer.sign(canonical(doc)))
    assert r.status_code == 202, r.text
    number = c.wait_status(token, r.json()["request_id"], {"REGISTERED", "IN_PROCESSING"})["application_number"]
    c.run_almaty_s2(number)
    c.wait_status(token, r.json()["request_id"], {"COMPLETED"})
    # a signature over other bytes: refused at the portal, counted by its outcome
    bad = c.submit(token, {**doc, "nonce": str(uuid.uuid4())}, signer.sign(b"something else"))
    assert bad.json()["error"]["code"] == "ECP_BAD_SIGNATURE", bad.text
    # a message ИС ГБД ЕЛ refuses for good (no document): a dead letter
    keys = system.settings.pki_dir / "systems" / "portal"
    env = envelope.build(service_id="ELICENSE_SUBMIT", message_type="REQUEST", sender_id="portal",
                         data={"request_id": str(uuid.uuid4()), "signature": "x"}, correlation_id=str(uuid.uuid4()))
    envelope.sign(env, Signer.from_dir(keys))
    env["messageInfo"]["sender"]["password"] = (keys / "password").read_text().strip()
    assert httpx.post(system.url("gateway") + "/shep/v1/async/messages", json=env).status_code == 200
    # a message nobody confirms: redelivered
    parties = Parties(system, tmp_path)
    mid = parties.send({"n": 1})

    gateway = wait_for("a redelivery and a dead letter counted at the gateway", lambda: (
        g if (g := scrape(system, "gateway")).value("shep_redeliveries_total", recipient=parties.echo)
        and (g.value("shep_dead_letters_total", recipient="e_licensing") or 0)
        > (before["gateway"].value("shep_dead_letters_total", recipient="e_licensing") or 0) else None))
    parties.confirm(mid)
    assert gateway.value("shep_redeliveries_total", recipient=parties.echo) >= 1

    # the outboxes drained and the consumers idle: both gauges there for every system, and 0
    def settled():
        scrapes = {s: scrape(system, s) for s in CONSUMERS}
        for s, m in scrapes.items():
            if m.value("egov_outbox_backlog", system=s) != 0 or m.value("egov_consumer_lag", system=s) != 0:
                return None
        return scrapes
    scrapes = wait_for("every outbox backlog and consumer lag at 0", settled)
    scrapes |= {"gateway": gateway, "registries": scrape(system, "registries"), "nca": scrape(system, "nca")}

    portal = scrapes["portal"]
    assert portal.value("egov_signature_checks_total", outcome="ok") > (
        before["portal"].value("egov_signature_checks_total", outcome="ok") or 0)
    assert portal.value("egov_signature_checks_total", outcome="ECP_BAD_SIGNATURE") >= 1 + (
        before["portal"].value("egov_signature_checks_total", outcome="ECP_BAD_SIGNATURE") or 0)
    for s in ("gateway", "e_licensing", "provider_arm", "con"):  # each checked signatures of this application
        assert scrapes[s].value("egov_signature_checks_total", outcome="ok") > 0, s
    # revocation answers: asked of the НУЦ, and served from the cache
    assert sum(m.value("egov_revocation_answers_total", source="nca") or 0 for m in scrapes.values()) > 0
    assert sum(m.value("egov_revocation_answers_total", source="cache") or 0 for m in scrapes.values()) > 0
    # overdue tasks: the escalations counter is declared, the open ones are a gauge per provider (0 or more)
    arm = scrapes["provider_arm"]
    assert "egov_overdue_tasks_total" in arm.names
    for provider in regulations.providers().values():
        open_now = arm.value("egov_overdue_tasks_open", provider=provider.bin)
        assert open_now is not None and open_now >= 0 and open_now == int(open_now), provider.key

    # the dashboard: valid JSON, and every metric a panel asks for is served by some service
    dashboard = json.loads(DASHBOARD.read_text())
    served = set().union(*(m.names for m in scrapes.values()), scrape(system, "web").names)
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            names = set(re.findall(r"\b((?:egov|shep|http)_[a-z_]+)\b", target["expr"]))
            assert names and names <= served, (panel["title"], names - served)
    assert "egov_overdue_tasks_open" in json.dumps(dashboard)
