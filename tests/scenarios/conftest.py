"""Scenario tests: whole requests of every regional variant over the real services and broker.

They reuse the integration tests' stack (``tests/integration/conftest.py``: real processes on SQLite
and, with EGOV_TEST_POSTGRES_URL, PostgreSQL), whose demo data has the operators of every provider
(``regulations/providers.toml``) and their certificates.

The diagrams are the engine's logic, the same on either database: ``make test`` replays them on
SQLite (the integration tests cover both databases); ``EGOV_SCENARIOS_POSTGRES=1`` replays them on
PostgreSQL too.
"""
from __future__ import annotations

import os

import pytest

from egov import demo
from tests.integration.conftest import system  # noqa: F401  (the session-scoped stack)

from .harness import World


@pytest.fixture(scope="session")
def world(system, tmp_path_factory):  # noqa: F811
    return World(system, demo.operators(), tmp_path_factory.mktemp("applicants"))


def pytest_collection_modifyitems(config, items):
    if os.environ.get("EGOV_SCENARIOS_POSTGRES"):
        return
    skip = pytest.mark.skip(reason="scenarios replay on SQLite (EGOV_SCENARIOS_POSTGRES=1 adds PostgreSQL)")
    for item in items:
        if "tests/scenarios/" in item.nodeid and "[postgresql" in item.nodeid:
            item.add_marker(skip)
