"""An IR(ME)R practitioner at 3 a.m.: finds a referrer on the register, asks whether they may
request an examination and gets a yes with the conditions, then asks about a suspended
examination and gets a no with the reason. Every page passes an axe scan."""

import pytest
from django.urls import reverse

from entitlements.models import RegisterLookup
from referrers import demo_data

from .helpers import assert_accessible, assert_single_h1, path_of, sign_in

pytestmark = pytest.mark.browser

ACUTE = demo_data.ACUTE_TRUST


def follow(page, control) -> None:
    """Click a link or button that loads a new page, and wait until it has."""
    with page.expect_navigation():
        control.click()


def test_a_practitioner_searches_the_register_and_checks_two_requests(page, axe, screenshots_dir):
    sign_in(page, "practitioner@demo.example", demo_data.DEMO_PASSWORD)
    assert path_of(page) == reverse("practitioner_home", args=[ACUTE])

    follow(page, page.get_by_role("link", name="Search the register of entitled referrers"))
    assert_single_h1(page, "Register of entitled referrers")
    assert_accessible(page, axe)

    page.get_by_label("Name").fill("Carver")
    follow(page, page.get_by_role("button", name="Search the register"))
    table = page.locator("table")
    assert "1 entitlement matches your search" in table.inner_text()
    assert "Ben Carver" in table.inner_text()
    assert "NMC:11C2045A" in table.inner_text()
    assert "XR Chest (XCHES)" in table.inner_text()
    page.screenshot(path=str(screenshots_dir / "register-search.png"), full_page=True)
    assert_accessible(page, axe)

    follow(page, page.get_by_role("link", name="Check a request from Ben Carver"))
    assert_single_h1(page, "Can this referrer request this examination?")
    assert page.get_by_label("Registration number").input_value() == "11C2045A"
    page.get_by_label("Examination").select_option("XCHES")
    page.get_by_label("Patient's age in years").fill("40")
    page.get_by_label("Emergency department").check()
    follow(page, page.get_by_role("button", name="Check", exact=True))

    answer = page.locator("#answer")
    assert "Yes, Ben Carver can request XR Chest (XCHES)" in answer.inner_text()
    assert "Entitled" in answer.inner_text()
    assert "As the iRefer guidelines for the presenting complaint" in page.inner_text("main")
    assert "Checked" in page.inner_text("main")
    page.screenshot(path=str(screenshots_dir / "register-check-yes.png"), full_page=True)
    assert_accessible(page, axe)

    # Grace Pemberton's pelvis X-ray is suspended on its own.
    page.get_by_label("Registration number").fill("98I1173E")
    page.get_by_label("Examination").select_option("XPELV")
    follow(page, page.get_by_role("button", name="Check", exact=True))
    answer = page.locator("#answer")
    assert "No, Grace Pemberton cannot request XR Pelvis" in answer.inner_text()
    assert "Not entitled" in answer.inner_text()
    assert "has been suspended since" in answer.inner_text()
    assert "because audit found pelvis requests outside the agreed indications" in (
        answer.inner_text()
    )
    page.screenshot(path=str(screenshots_dir / "register-check-no.png"), full_page=True)
    assert_accessible(page, axe)

    # A mistake is shown on the field, and answers nothing.
    page.get_by_label("Patient's age in years").fill("old")
    follow(page, page.get_by_role("button", name="Check", exact=True))
    assert "There is a problem" in page.locator(".nhsuk-error-summary").inner_text()
    assert page.title().startswith("Error: ")
    page.screenshot(path=str(screenshots_dir / "register-check-error.png"), full_page=True)
    assert_accessible(page, axe)

    assert list(RegisterLookup.objects.order_by("id").values_list("registration", "entitled")) == [
        ("NMC:11C2045A", True),
        ("NMC:98I1173E", False),
    ]
