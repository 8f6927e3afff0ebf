"""Two instances of every service against one broker and one PostgreSQL, one instance of each
killed mid-load and started again: nothing lost, nothing applied twice (tests/chaos/replicas.py)."""
from __future__ import annotations

import os

import pytest

from tests.chaos.replicas import Replicas

pytestmark = [pytest.mark.integration, pytest.mark.postgres]
PG_URL = os.environ.get("EGOV_TEST_POSTGRES_URL")


@pytest.mark.skipif(not PG_URL, reason="EGOV_TEST_POSTGRES_URL is not set (two instances share one PostgreSQL)")
def test_two_instances_of_every_service_one_killed_mid_load(tmp_path):
    run = Replicas(applications=30, clients=6, applicants=4, rate=2.0, seed=11, postgres=PG_URL,
                   data_dir=tmp_path / "egov", drain_timeout=300, log=lambda *_: None)
    report = run.run()
    print(report.table())
    assert set(report.faults) == {f"kill:{s}" for s in Replicas.services}
    assert {"kill:con", "kill:web"} <= set(report.faults)
    assert report.collectable == report.completed == 30  # every result also at the ЦОН for collection
    assert report.accepted == 30
    assert report.lost == 0 and report.duplicates == 0, report.table()
    assert report.dead_letters == 0 and not any(report.failed_outbox.values()), report.table()
