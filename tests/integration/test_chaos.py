"""The short chaos run of ``make test`` (``make chaos`` runs it with thousands of applications and,
on PostgreSQL, database restarts): applications flow while each service is killed with SIGKILL
and restarted, the broker is killed and restarted empty, and the НУЦ is unreachable for longer than
the revocation cache. Nothing accepted is lost, nothing is applied twice."""
from __future__ import annotations

import pytest

from tests.chaos.run import FAULT_KINDS, Chaos

pytestmark = pytest.mark.integration


def test_nothing_lost_nothing_duplicated_under_faults(tmp_path):
    chaos = Chaos(applications=40, clients=8, applicants=4, rate=2.0, seed=7, data_dir=tmp_path / "egov",
                  drain_timeout=300, log=lambda *_: None)
    report = chaos.run()
    print(report.table())
    assert set(report.faults) == {k for k in FAULT_KINDS if k != "database"}
    assert "kill:con" in report.faults
    assert report.collectable == report.completed == 40  # every S2 result also at the ЦОН (CON_NOTIFY)
    assert report.accepted == 40
    assert report.lost == 0 and report.duplicates == 0, report.table()
    assert report.dead_letters == 0 and not any(report.failed_outbox.values()), report.table()
