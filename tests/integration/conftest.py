"""The whole system as real processes — broker, gateway, e_licensing, provider_arm, portal —
on SQLite and, when EGOV_TEST_POSTGRES_URL is set, on PostgreSQL (databases made and dropped
by the fixture)."""
from __future__ import annotations

import asyncio
import os
from contextlib import contextmanager
import uuid

import pytest

from egov.bootstrap import SERVICES, prepare
from egov.launcher import Stack, free_port
from shared.db.migrate import drop_database
from shared.pki.ca import DevCA
from shared.settings import CommonSettings
from shared.signing import TrustStore

from .flow import Client

PG_URL = os.environ.get("EGOV_TEST_POSTGRES_URL")
FRESHNESS_SECONDS = 5



@contextmanager
def running_system(data_dir, backend: str = "sqlite", env: dict | None = None):
    """The whole system as real processes on ``data_dir`` (SQLite, or PostgreSQL databases made and
    dropped here), yielded as a :class:`SystemUnderTest`."""
    ports = {name: free_port() for name in ("portal", "gateway", "e_licensing", "provider_arm", "nca", "registries", "con", "web")}
    settings = CommonSettings(
        data_dir=data_dir,
        broker=f"127.0.0.1:{free_port()}",
        db_server="sqlite" if backend == "sqlite" else PG_URL,
        db_prefix=f"egov_t{uuid.uuid4().hex[:8]}_",
        redelivery_seconds=2.0,
        nca_url=f"http://127.0.0.1:{ports['nca']}",
        outbox_poll_seconds=0.3,
    )
    prepare(settings)
    # revocation answers go stale after a few seconds, so that an НУЦ outage "longer than the cache"
    # fits in a test (tests/integration/test_outage.py)
    stack = Stack(settings, ports=ports, env={"EGOV_REVOCATION_FRESHNESS_SECONDS": str(FRESHNESS_SECONDS),
                                              **(env or {})})
    try:
        stack.start_all()
        stack.wait_healthy(90)
        yield SystemUnderTest(stack, settings)
    finally:
        stack.stop_all()
        if backend == "postgresql":
            async def drop():
                for service in SERVICES:
                    await drop_database(settings.database_url(service))
            asyncio.run(drop())


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def system(request, tmp_path_factory):
    backend = request.param
    if backend == "postgresql" and not PG_URL:
        pytest.skip("EGOV_TEST_POSTGRES_URL is not set")
    with running_system(tmp_path_factory.mktemp(f"egov-{backend}"), backend) as sut:
        yield sut


class SystemUnderTest:
    def __init__(self, stack: Stack, settings: CommonSettings):
        self.stack = stack
        self.settings = settings
        self.client = Client({name: stack.url(name) for name in stack.ports}, settings.data_dir)
        self.ca = DevCA.load_or_create(settings.pki_dir / "ca", base_url=stack.url("nca"))
        #: what a recipient trusts: the НУЦ roots, revocation checked at the running nca
        self.client_trust = TrustStore.from_pki_dir(settings.pki_dir)

    def url(self, service: str) -> str:
        return self.stack.url(service)

    @property
    def nca_operator(self) -> tuple[str, str]:
        """The CA operator's HTTP Basic credentials, as the bootstrap made them."""
        from services.nca import operators

        return operators.OPERATOR, operators.read_password(self.settings.data_dir)
