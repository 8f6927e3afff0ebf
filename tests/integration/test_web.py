"""The web pages in a real browser: headless Chromium (Debian's package, /usr/bin/chromium) driven
by Playwright, through the whole S2 Almaty request (tests/integration/web_browser.py). Screenshots:
``tests/artifacts/web/<backend>/`` (git-ignored; ``EGOV_TEST_ARTIFACTS`` moves the root)."""
from __future__ import annotations

import asyncio
import os
import shutil
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from .web_browser import CHROMIUM, Shots, drive

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"no headless Chromium at {CHROMIUM} (apt-get install -y chromium; .ci/run installs it)"),
]

ARTIFACTS = Path(os.environ.get("EGOV_TEST_ARTIFACTS", Path(__file__).parents[1] / "artifacts"))


@pytest.fixture
def chromium():
    """Per test, set up after the session's system: Playwright's sync API runs an event loop, and the
    system fixture's own set-up and tear-down (PostgreSQL databases) use asyncio.run."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield browser
        finally:
            browser.close()


def overdue_maker(system):
    """``make(number, step)``: the application's open task of ``step`` an hour past its due time, in
    provider_arm's database (a task's time running out, without waiting hours for it)."""
    from sqlalchemy import select, update

    from services.provider_arm.models import Case, Task
    from shared.db import Database, utcnow

    async def work(number: str, step: str) -> int:
        db = Database(system.settings.database_url("provider_arm"))
        try:
            async with db.session() as s:
                case = select(Case.id).where(Case.application_number == number).scalar_subquery()
                return (await s.execute(update(Task).where(Task.case_id == case, Task.step_key == step,
                                                           Task.status == "OPEN")
                                        .values(due_at=utcnow() - timedelta(hours=1)))).rowcount
        finally:
            await db.dispose()

    def make(number: str, step: str) -> None:
        done: list[int] = []  # in a thread of its own: Playwright's sync API holds this thread's event loop
        t = threading.Thread(target=lambda: done.append(asyncio.run(work(number, step))))
        t.start()
        t.join(60)
        assert done == [1], done

    return make


def test_applicant_and_operators_complete_a_request_in_the_browser(system, chromium, tmp_path):
    backend = "sqlite" if system.settings.db_server == "sqlite" else "postgresql"
    shots_dir = ARTIFACTS / "web" / backend
    shutil.rmtree(shots_dir, ignore_errors=True)
    shots = Shots(shots_dir)
    seen = drive(chromium, system.url("web"), system.url("portal"), system.settings.data_dir, shots, tmp_path,
                 overdue_maker(system))
    assert seen["status"] == "COMPLETED" and seen["valid"] == "true"
    assert len(shots.taken) >= 15 and all(p.stat().st_size > 1000 for p in shots.taken)
