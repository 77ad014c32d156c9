"""In Chromium, with the demo data: the governance lead asks for a ZIP of the employer's
letters, watches its progress, and downloads it once a real Celery worker has built it;
anyone checks a letter at /verify/<code> without signing in. Every page passes axe."""

import csv
import io
import zipfile
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import expect

from config.celery import app
from entitlements.models import Entitlement, Letter, LetterStatus
from entitlements.services.letters import letter_render
from referrers import demo_data

from .helpers import assert_accessible, assert_single_h1, local_context, path_of, sign_in

pytestmark = pytest.mark.browser

ACUTE = demo_data.ACUTE_TRUST
GOVERNANCE = next(p for role, p in demo_data.DEMO_LOGINS if role == "Governance lead")


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    """The demo's evidence, its letters and the ZIP go to a folder of their own."""
    default = {**settings.STORAGES["default"], "OPTIONS": {"location": str(tmp_path)}}
    settings.STORAGES = {**settings.STORAGES, "default": default}


@pytest.fixture
def ready_letters(seeded_demo):
    """The demo's letters, rendered (seeding sends their tasks to no worker)."""
    if not (Path(settings.BASE_DIR) / "static" / "compiled" / "app.mjs").exists():
        pytest.skip("static/compiled/ is not built (make frontend)")
    app.control.purge()  # the seeded letters' tasks: rendered here instead
    return [
        letter_render(letter_id=pk)
        for pk in Letter.objects.filter(status=LetterStatus.PENDING).values_list("pk", flat=True)
    ]


def test_a_governance_lead_downloads_the_letters_as_a_zip(
    page, axe, screenshots_dir, ready_letters, tmp_path
):
    live = Entitlement.objects.filter(
        organisation__ods_code=ACUTE, state__in=["active", "suspended"]
    )
    assert live.count() >= 2, "the demo data should have live entitlements with letters"
    sign_in(page, GOVERNANCE.email, demo_data.DEMO_PASSWORD)
    page.get_by_role("link", name="Download the current letters as a ZIP").click()

    page.wait_for_url(f"**{reverse('letter_bundles', args=[ACUTE])}")
    assert path_of(page) == reverse("letter_bundles", args=[ACUTE])
    assert_single_h1(page, "Download letters")
    page.screenshot(path=str(screenshots_dir / "letter-bundles.png"), full_page=True)
    assert_accessible(page, axe)

    page.get_by_label("Entitlements").select_option(label="Active and suspended")
    page.get_by_role("button", name="Request ZIP of letters").click()
    page.wait_for_url("**/letters/bundles/*/")

    # The request has committed and its task waits in the broker: nothing has built it yet.
    assert_single_h1(page, "Your ZIP of letters is being built")
    progress = page.locator("progress")
    expect(progress).to_have_attribute("max", "100")
    expect(progress).to_have_attribute("value", "0")
    expect(page.locator("main")).to_contain_text("0%")
    expect(page.locator("main")).to_contain_text(f"0 of {live.count()}")
    expect(page.locator("[data-bundle-hint]")).to_contain_text("This page updates by itself")
    page.screenshot(path=str(screenshots_dir / "letter-bundle-building.png"), full_page=True)
    assert_accessible(page, axe)

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        # The page asks how far it has got and reloads itself when the ZIP is ready.
        expect(page.locator("h1")).to_have_text("Your ZIP of letters is ready", timeout=60_000)

    expect(page.locator("main")).to_contain_text("holds the current letter of every")
    page.screenshot(path=str(screenshots_dir / "letter-bundle-ready.png"), full_page=True)
    assert_accessible(page, axe)

    link = page.get_by_role("link", name="Download the ZIP of letters")
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.startswith(f"letters-{ACUTE}-")
    archive = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
    manifest = list(csv.reader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))[1:]
    assert sorted(row[0] for row in manifest) == sorted(e.reference for e in live)
    assert all(row[7] == "Included" for row in manifest)
    pdfs = [name for name in archive.namelist() if name.startswith("letters/")]
    assert len(pdfs) == live.count()
    assert all(archive.read(name).startswith(b"%PDF-") for name in pdfs)

    page.get_by_role("link", name="Back to download letters").click()
    expect(page.locator("main table")).to_contain_text(f"Every live entitlement ({live.count()})")


def test_anyone_checks_a_letter_without_signing_in(
    browser, live_server, axe, screenshots_dir, ready_letters
):
    letter = Letter.objects.order_by("-created_at", "-id").first()
    context = local_context(browser, live_server.url)
    page = context.new_page()
    try:
        page.goto(reverse("letter_check"))
        assert_single_h1(page, "Check a letter of entitlement")
        assert_accessible(page, axe)

        page.get_by_label("Verification code").fill(letter.verification_code.lower())
        page.get_by_role("button", name="Check letter").click()
        page.wait_for_url("**/verify/?code=*")

        assert_single_h1(page, "This letter is genuine and in force")
        main = page.locator("main")
        expect(main).to_contain_text(letter.content["referrer"]["name"])
        expect(main).to_contain_text(letter.content["employer"]["name"])
        assert letter.content["referrer"]["registration"] not in main.inner_text()
        page.screenshot(path=str(screenshots_dir / "verify-in-force.png"), full_page=True)
        assert_accessible(page, axe)

        page.goto(reverse("letter_check_code", args=["2345-6789-ABCD"]))
        page.wait_for_load_state()
        assert_single_h1(page, "This letter is not recognised")
        page.screenshot(path=str(screenshots_dir / "verify-unknown.png"), full_page=True)
        assert_accessible(page, axe)
    finally:
        context.close()
