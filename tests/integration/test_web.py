"""The web pages in a real browser: headless Chromium (Debian's package, /usr/bin/chromium) driven
by Playwright, through the whole S2 Almaty request (tests/integration/web_browser.py). Screenshots:
``tests/artifacts/web/<backend>/`` (git-ignored; ``EGOV_TEST_ARTIFACTS`` moves the root)."""
from __future__ import annotations

import os
import shutil
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


def test_applicant_and_operators_complete_a_request_in_the_browser(system, chromium, tmp_path):
    backend = "sqlite" if system.settings.db_server == "sqlite" else "postgresql"
    shots_dir = ARTIFACTS / "web" / backend
    shutil.rmtree(shots_dir, ignore_errors=True)
    shots = Shots(shots_dir)
    seen = drive(chromium, system.url("web"), system.url("portal"), system.settings.data_dir, shots, tmp_path)
    assert seen["status"] == "COMPLETED" and seen["valid"] == "true"
    assert len(shots.taken) >= 15 and all(p.stat().st_size > 1000 for p in shots.taken)
