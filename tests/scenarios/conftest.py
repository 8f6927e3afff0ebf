"""Scenario tests: whole requests of every regional variant over the real services and broker.

They reuse the integration tests' stack (``tests/integration/conftest.py``: real processes on SQLite
and, with EGOV_TEST_POSTGRES_URL, PostgreSQL), whose demo data has the operators of every provider
(``egov/demo.py`` with ``services/provider_arm/demo_operators.py``) and their certificates.
"""
from __future__ import annotations

import pytest

from egov import demo
from tests.integration.conftest import system  # noqa: F401  (the session-scoped stack)

from .harness import World


@pytest.fixture(scope="session")
def world(system, tmp_path_factory):  # noqa: F811
    return World(system, demo.OPERATORS, tmp_path_factory.mktemp("applicants"))
