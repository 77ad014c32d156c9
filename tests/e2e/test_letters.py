"""In Chromium: the page waiting for a letter swaps in the download link by itself when the
worker finishes (letters.mjs), and the letter pages pass an axe scan."""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from entitlements.services.letters import letter_render
from tests.e2e.helpers import local_context

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    default = {**settings.STORAGES["default"], "OPTIONS": {"location": str(tmp_path)}}
    settings.STORAGES = {**settings.STORAGES, "default": default}


@pytest.fixture
def signed_in_page(browser, live_server, referrer):
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    if not (Path(settings.BASE_DIR) / "static" / "compiled" / "app.mjs").exists():
        pytest.skip("static/compiled/ is not built (make frontend)")
    client = Client()
    client.force_login(referrer)
    context = local_context(browser, live_server.url)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    yield context.new_page()
    # Beside Playwright's running event loop, Django keeps the ORM calls of the test on a
    # connection of their own; close it here, or PostgreSQL refuses to drop the test database.
    connections.close_all()
    context.close()


def assert_accessible(page):
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    serious = [v for v in violations if v.get("impact") in ("serious", "critical")]
    assert not serious, [(v["id"], [n["html"] for n in v["nodes"][:3]]) for v in serious]


def test_the_waiting_page_shows_the_download_link_when_the_letter_is_ready(
    signed_in_page, entitlement
):
    page = signed_in_page
    letter = entitlement.letters.get()

    page.goto(reverse("letter_download", args=[letter.pk]))
    assert page.locator("h1").inner_text() == "This letter is being prepared"
    status = page.locator("[data-letter-status-url]")
    # With JavaScript the advice to refresh becomes a promise to update.
    assert "This will update when the letter is ready" in status.inner_text()
    assert_accessible(page)

    letter = letter_render(letter_id=letter.pk)  # the worker finishes

    link = page.get_by_role("link", name="Download PDF")
    link.wait_for()
    assert link.get_attribute("href") == reverse("letter_download", args=[letter.pk])
    assert f"({-(-letter.size // 1024)} KB)" in link.inner_text()
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == (
        f"entitlement-{letter.content['reference']}-letter-1.pdf"
    )
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")


def test_the_check_a_letter_page(signed_in_page, entitlement):
    page = signed_in_page
    letter = letter_render(letter_id=entitlement.letters.get().pk)

    page.goto(reverse("letter_verify"))
    page.get_by_role("button", name="Check letter").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text(
        "Enter the verification code from the letter"
    )
    assert_accessible(page)

    page.get_by_label("Verification code").fill(letter.verification_code.lower())
    page.get_by_role("button", name="Check letter").click()
    expect(
        page.get_by_role("heading", name=f"Letter {letter.verification_code} is genuine")
    ).to_be_visible()
    expect(page.locator("main")).to_contain_text("Most recent letter")
    assert_accessible(page)
