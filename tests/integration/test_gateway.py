"""The gateway refuses what it must, and a broker restart in the middle of the chain loses nothing."""
from __future__ import annotations

import time

import httpx
import pytest

from shared import envelope
from shared.envelope import canonical
from shared.signing import Signer
from shared.topics import MessageType, ServiceId, SystemId

from .test_chain import assert_error, new_applicant

pytestmark = pytest.mark.integration


def send(system, env: dict, password: str | None) -> httpx.Response:
    env["messageInfo"]["sender"]["password"] = password
    return httpx.post(f"{system.url('gateway')}/shep/v1/async/messages", json=env)


def system_keys(system, system_id: str) -> tuple[Signer, str]:
    d = system.settings.pki_dir / "systems" / system_id
    return Signer.from_dir(d), (d / "password").read_text().strip()


def envelope_from(system_id: str, service_id: str, signer: Signer) -> dict:
    env = envelope.build(service_id=service_id, message_type=MessageType.REQUEST, data={"hello": "шэп"},
                         sender_id=system_id, correlation_id=envelope.new_id())
    return envelope.sign(env, signer)


def test_unregistered_sender_is_refused(system, tmp_path):
    system.ca.issue_system("rogue_system").write(tmp_path / "rogue")
    env = envelope_from("rogue_system", ServiceId.ELICENSE_SUBMIT, Signer.from_dir(tmp_path / "rogue"))
    assert_error(send(system, env, "anything"), 401, "SENDER_UNKNOWN")


def test_registry_checks_in_order(system):
    signer, password = system_keys(system, SystemId.PORTAL)
    env = envelope_from(SystemId.PORTAL, ServiceId.ELICENSE_SUBMIT, signer)
    assert_error(send(system, env, "wrong-password"), 401, "SENDER_AUTH_FAILED")
    other, _ = system_keys(system, SystemId.E_LICENSING)  # signed by another system's key
    assert_error(send(system, envelope_from(SystemId.PORTAL, ServiceId.ELICENSE_SUBMIT, other), password),
                 401, "SENDER_SIGNATURE_INVALID")
    assert_error(send(system, envelope_from(SystemId.PORTAL, "NO_SUCH_SERVICE", signer), password),
                 404, "SERVICE_NOT_FOUND")
    assert_error(send(system, envelope_from(SystemId.PORTAL, ServiceId.ARM_PROCESS, signer), password),
                 403, "ACCESS_DENIED")


def test_broker_restart_in_the_middle_loses_nothing_and_applies_once(system, tmp_path):
    c = system.client
    iin, _, token, signer = new_applicant(system, tmp_path)
    request_ids = []
    for _ in range(3):
        doc = c.prepare_document(token, iin)
        r = c.submit(token, doc, signer.sign(canonical(doc)))
        assert r.status_code == 202, r.text
        request_ids.append(r.json()["request_id"])
    # paid before: the payment is a sync call to ПШЭП, which needs the broker (a retryable 504 without it)
    doc = c.prepare_document(token, iin)
    # the broker dies with the requests somewhere between portal, gateway, registry and provider
    system.stack.stop("broker", kill=True)
    time.sleep(1.5)
    # accepted while the broker is down: the outbox keeps it
    r = c.submit(token, doc, signer.sign(canonical(doc)))
    assert r.status_code == 202, r.text
    request_ids.append(r.json()["request_id"])
    time.sleep(1.5)
    system.stack.start_broker()

    # registration now waits for ПШЭП's answer too (a sync call), whose recipient rejoins the restarted broker
    numbers = [c.wait_status(token, rid, {"IN_PROCESSING"}, timeout=180)["application_number"]
               for rid in request_ids]
    assert len(set(numbers)) == len(request_ids)
    c.run_almaty_s2(numbers[0])
    view = c.wait_status(token, request_ids[0], {"COMPLETED"}, timeout=90)
    time.sleep(3 * system.settings.redelivery_seconds)  # room for any redelivery to show up twice

    # exactly once: one registration, one case (one first task), one of each step in the timeline
    for rid in request_ids:
        timeline = c.portal("GET", f"/requests/{rid}", token).json()["timeline"]
        assert [e["status"] for e in timeline].count("REGISTERED") == 1
        assert [e["step"] for e in timeline].count("condition 3") == 1  # the provider's receipt: one case
    clerk = c.operator_token("ala-clerk")
    open_numbers = [t["application"]["number"] for t in c.arm("GET", "/tasks", clerk).json()]
    for number in numbers[1:]:
        assert open_numbers.count(number) == 1
    # every provider step once, counted once the redeliveries have settled: after a broker restart a
    # step's notice may reach the cabinet after the result (each message is redelivered on its own)
    settled = c.portal("GET", f"/requests/{request_ids[0]}", token).json()["timeline"]
    steps = [e["step"] for e in settled if e["step"] and e["step"][0].isdigit()]
    assert view["status"] == "COMPLETED" and len(steps) == len(set(steps)) == 6, steps
