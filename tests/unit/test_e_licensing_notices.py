"""What ИС ГБД ЕЛ tells the cabinet about a case: every forwarded notification carries the
application number, so that a status arriving before REGISTERED (a broker restart reorders them)
still shows the request with its number."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from services.e_licensing.consumers import on_provider_message
from services.e_licensing.models import Application, OutboxMessage
from shared.db import Database
from shared.db.migrate import upgrade
from shared.messaging.outbox import Outbox
from shared.pki.ca import DevCA
from shared.signing import Signer
from shared.topics import ServiceId


@pytest.fixture
def url(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'e_licensing.db'}"
    upgrade("e_licensing", url)  # the service's own migrations (Alembic runs its own event loop)
    return url


@pytest.fixture
async def db(url):
    database = Database(url)
    yield database
    await database.dispose()


@pytest.fixture
def rt(tmp_path):
    ca = DevCA.load_or_create(tmp_path / "ca")
    ca.issue_system("e_licensing", key_type="ec").write(tmp_path / "e_licensing")
    return SimpleNamespace(outbox=Outbox(OutboxMessage, "e_licensing", Signer.from_dir(tmp_path / "e_licensing")))


async def test_a_forwarded_status_carries_the_application_number(db, rt):
    async with db.session() as s:
        s.add(Application(number="EL-2026-0000042", request_id="r-1", service_code="S2", region="almaty",
                          subtype="issue", applicant_iin_bin="860717450455", document={}, signature="x",
                          signer={}, status="REGISTERED"))
    async with db.session() as s:
        await on_provider_message(s, rt, "NOTIFICATION", {"request_id": "r-1", "status": "IN_PROCESSING",
                                                          "step": "condition 3", "note": "поступило"}, provider=None)
    async with db.read() as s:
        [row] = (await s.scalars(select(OutboxMessage))).all()
        app = await s.scalar(select(Application))
    assert row.service_id == ServiceId.PORTAL_NOTIFY
    data = row.envelope["messageData"]["data"]
    assert data["application_number"] == "EL-2026-0000042"
    assert data["status"] == "IN_PROCESSING" and data["step"] == "condition 3"
    assert app.status == "IN_PROCESSING"
