"""Browser journeys: Playwright (sync API) driving Debian's Chromium against `live_server`.

The browser starts once per session; each test gets a fresh context (no shared cookies) and a
database seeded with the demo data. Without /usr/bin/chromium every browser test is skipped,
saying what is missing.
"""

import io
import os
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.e2e.helpers import local_context

# Playwright's sync API runs an asyncio event loop in this thread, so Django's async-safety
# check would refuse the ORM calls the fixtures make (the live server runs in its own thread).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    # This machine's network is closed: without these, Chromium keeps trying to reach Google.
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@pytest.fixture
def seeded_demo(transactional_db):
    call_command("seed_demo", stdout=io.StringIO())


@pytest.fixture
def page(browser, live_server, seeded_demo):
    """A new browser context and page; `page.responses` lists every response it received."""
    context = local_context(browser, live_server.url)
    page = context.new_page()
    page.responses = []
    page.on("response", lambda response: page.responses.append(response))
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshots_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def celery_worker(live_server):
    """A real Celery worker (in a thread of this process) taking tasks from the configured
    broker while the browser runs, so letters are rendered and e-mail sent as in production."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    app.control.purge()  # nothing left over from earlier tests
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
        yield worker
