"""Training records in Chromium: the demo referrer adds a record with its certificate, the
demo delegate verifies it from the training queue with one click, and the referrer's page
then shows the requirement as valid. Every page has one h1 and passes an axe scan."""

import re

import pytest
from django.db import connections
from django.utils import timezone

from entitlements.models import Examination
from referrers.models import User
from tests.e2e.helpers import assert_accessible, assert_single_h1, local_context, sign_in
from tests.journeys import PDF_BYTES, apply, grant
from training.models import TrainingRecord

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "demo-password-2026"
REFERRER = "referrer@demo.example"  # Aisha Rahman, ANP in the emergency department at RZ9
SUPERVISOR = "supervisor@demo.example"  # Helen Okafor
DELEGATE = "delegate@demo.example"  # Julian Ashby


@pytest.fixture
def entitled_referrer(seeded_demo):
    """Aisha holds an entitlement for XR chest: radiation protection (which she has not
    recorded) and referral guidelines (verified in the demo data) are required."""
    aisha = User.objects.get(email=REFERRER)
    application = apply(
        aisha,
        aisha.referrer_profile.employments.get().organisation,
        [Examination.objects.get(organisation__ods_code="RZ9", code="XCHES")],
        supervisor=User.objects.get(email=SUPERVISOR),
        until="endorsed",
    )
    yield grant(application, User.objects.get(email=DELEGATE))
    connections.close_all()


@pytest.fixture
def browser_page(browser, live_server, entitled_referrer, tmp_path, settings):
    default = {**settings.STORAGES["default"], "OPTIONS": {"location": str(tmp_path / "media")}}
    settings.STORAGES = {**settings.STORAGES, "default": default}
    context = local_context(browser, live_server.url)
    yield context.new_page()
    context.close()


def row_of(page, text: str, table: str = ""):
    """The row holding `text`, of the table whose caption holds `table` (if given)."""
    scope = page.get_by_role("table", name=re.compile(re.escape(table))) if table else page
    return scope.locator("tr", has_text=text)


def requirement(page, label: str):
    return row_of(page, label, "Training needed for")


def test_add_a_record_verify_it_from_the_queue_and_see_it_valid(
    browser_page, axe, screenshots_dir, entitled_referrer
):
    page = browser_page
    shots = iter(range(1, 100))

    def visit(h1: str) -> None:
        page.wait_for_load_state()
        assert_single_h1(page, h1)
        assert_accessible(page, axe)
        page.screenshot(
            path=str(screenshots_dir / f"training-{next(shots):02d}.png"), full_page=True
        )

    # --- The referrer sees what is missing and adds a record -------------------------------
    sign_in(page, REFERRER, PASSWORD)
    visit("Your registration and employments")
    page.get_by_role("link", name="See your training").click()
    visit("Your training")
    assert "Missing" in requirement(page, "Radiation protection (IR(ME)R)").inner_text()
    assert "Valid" in requirement(page, "Referral guidelines (such as iRefer)").inner_text()

    page.get_by_role("button", name="Add a training record").click()
    visit("Add a training record")
    page.get_by_role("button", name="Add record").click()
    visit("Add a training record")  # the error summary, and the same page
    assert "Select what the training was" in page.locator(".nhsuk-error-summary").inner_text()
    page.get_by_label("Radiation protection (IR(ME)R)").check()
    page.get_by_label("Course or module name (optional)").fill("IR(ME)R for referrers")
    page.get_by_label("Who provided it?").fill("NHS England e-Learning for Healthcare")
    completed = page.get_by_role("group", name="When did you complete it?")
    completed.get_by_label("Day").fill("12")
    completed.get_by_label("Month").fill("1")
    completed.get_by_label("Year").fill(str(timezone.localdate().year - 1))
    # With JavaScript, nhsuk-frontend's file upload shows a button in front of the input.
    page.locator("input[type=file][name=certificate]").set_input_files(
        files=[
            {"name": "irmer-certificate.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES}
        ]
    )
    page.get_by_role("button", name="Add record").click()
    visit("Your training")
    assert "It counts once an entitlement delegate has verified it" in page.content()
    assert (
        "Waiting for verification" in row_of(page, "IR(ME)R for referrers", "record").inner_text()
    )
    assert "Missing" in requirement(page, "Radiation protection (IR(ME)R)").inner_text()
    record = TrainingRecord.objects.get(
        referrer__user__email=REFERRER, title="IR(ME)R for referrers"
    )
    assert record.certificate_name == "irmer-certificate.pdf"
    page.context.clear_cookies()

    # --- The delegate verifies it from the queue -------------------------------------------
    sign_in(page, DELEGATE, PASSWORD)
    visit("Entitlement delegate")
    page.get_by_role("link", name="See the training queue").click()
    visit("Training queue")
    waiting = page.locator("#unverified + table")
    assert "Aisha Rahman" in waiting.inner_text()
    assert "Grace Pemberton" in waiting.inner_text()  # the demo's record waiting
    with page.expect_download() as download:
        row_of(page, "Aisha Rahman").get_by_role("link", name="Download").click()
    assert download.value.suggested_filename == "irmer-certificate.pdf"
    page.get_by_role("button", name="Verify Radiation protection (IR(ME)R) of Aisha Rahman").click()
    visit("Training queue")
    assert "Aisha Rahman's Radiation protection (IR(ME)R) record has been verified" in (
        page.content().replace("&#39;", "'")
    )
    assert "Aisha Rahman" not in page.locator("#unverified + table").inner_text()

    # The other pages a delegate reaches from the queue: a record, rejecting it (the reason
    # is required), confirming a registration renewed, and the import.
    page.get_by_role("link", name="Contrast safety of Grace Pemberton", exact=True).click()
    visit("Contrast safety: Grace Pemberton")
    page.get_by_role("link", name="Reject record").click()
    visit("Reject this training record")
    page.get_by_role("button", name="Reject record").click()
    visit("Reject this training record")
    assert "Enter why the record is rejected" in page.locator(".nhsuk-error-summary").inner_text()
    page.get_by_role("link", name="Cancel").click()
    visit("Contrast safety: Grace Pemberton")
    page.get_by_role("link", name="Training queue").click()
    visit("Training queue")
    page.locator("#registrations ~ ul").get_by_role(
        "link", name=re.compile("^Confirm renewed")
    ).click()
    visit("Confirm Liam O'Connor's registration is current")
    page.get_by_role("link", name="Cancel").click()
    visit("Training of Liam O'Connor")
    page.get_by_role("link", name="Training queue").click()
    page.get_by_role("link", name="Import training records from a CSV file").click()
    visit("Import training records from a CSV file")
    page.get_by_role("link", name="Go back to the training queue").click()
    visit("Training queue")
    page.get_by_role("link", name="Find a referrer's training").click()
    visit("Find a referrer's training")
    page.get_by_label("Search by name or registration number").fill("Aisha")
    page.get_by_role("button", name="Search").click()
    visit("Find a referrer's training")
    page.get_by_role("link", name="Aisha Rahman").click()
    visit("Training of Aisha Rahman")
    page.context.clear_cookies()

    # --- The referrer's page shows the requirement met --------------------------------------
    sign_in(page, REFERRER, PASSWORD)
    page.goto("/training/")
    visit("Your training")
    met = requirement(page, "Radiation protection (IR(ME)R)").inner_text()
    assert "Valid" in met and "IR(ME)R for referrers" in met
    assert "Verified" in row_of(page, "IR(ME)R for referrers", "record").inner_text()
    record.refresh_from_db()
    assert record.verified_by.email == DELEGATE
