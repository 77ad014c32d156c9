"""The organisation administrator's pages, and forms in error, in a real browser: one h1 each,
no serious or critical axe violation, and the error summary links to the field."""

import pytest
from django.urls import reverse

from referrers import demo_data

from .helpers import assert_accessible, assert_single_h1, path_of, sign_in

pytestmark = pytest.mark.browser

ACUTE = demo_data.ACUTE_TRUST

PAGES = [
    ("catalogue", reverse("catalogue", args=[ACUTE])),
    ("examination-add", reverse("examination_add", args=[ACUTE])),
    ("catalogue-import", reverse("catalogue_import", args=[ACUTE])),
    ("procedure-versions", reverse("procedure_versions", args=[ACUTE])),
    ("procedure-version", reverse("procedure_version", args=[ACUTE, 1])),
    ("procedure-version-add", reverse("procedure_version_add", args=[ACUTE])),
    ("delegate-appointments", reverse("delegate_appointments", args=[ACUTE])),
    ("delegate-appointment-add", reverse("delegate_appointment_add", args=[ACUTE])),
    ("agreements", reverse("agreements", args=[ACUTE])),
    ("agreement-add", reverse("agreement_add", args=[ACUTE])),
    ("people", reverse("people", args=[ACUTE])),
    ("role-grant", reverse("role_grant", args=[ACUTE])),
    ("departments", reverse("departments", args=[ACUTE])),
]


def test_every_administration_page_is_accessible(page, axe, screenshots_dir):
    sign_in(page, "admin@demo.example", demo_data.DEMO_PASSWORD)
    for name, url in PAGES:
        page.goto(url)
        assert path_of(page) == url
        assert page.locator("h1").count() == 1, f"{url} has no single h1"
        page.screenshot(path=str(screenshots_dir / f"admin-{name}.png"), full_page=True)
        assert_accessible(page, axe)


def test_an_empty_examination_form_explains_every_problem(page, axe, screenshots_dir):
    sign_in(page, "admin@demo.example", demo_data.DEMO_PASSWORD)
    page.goto(reverse("examination_add", args=[ACUTE]))
    page.get_by_role("button").filter(has_text="Save examination").click()
    page.wait_for_load_state()

    summary = page.locator(".nhsuk-error-summary")
    assert "There is a problem" in summary.inner_text()
    assert page.title().startswith("Error: ")
    # Each summary link takes keyboard users to its field.
    first_link = summary.locator("a").first
    target = first_link.get_attribute("href")
    assert page.locator(target).count() == 1, f"the summary links to missing {target}"
    page.screenshot(path=str(screenshots_dir / "admin-examination-errors.png"), full_page=True)
    assert_accessible(page, axe)


def test_a_support_worker_is_told_why_they_cannot_register(page, axe, screenshots_dir):
    sign_in(page, "referrer@demo.example", demo_data.DEMO_PASSWORD)
    page.goto(reverse("referrer_registration"))
    assert_single_h1(page, "Your professional registration")
    page.get_by_label("Your profession").select_option("support_worker")
    page.get_by_role("button", name="Save registration").click()
    page.wait_for_load_state()

    assert path_of(page) == reverse("referrer_registration")
    summary = page.locator(".nhsuk-error-summary")
    assert "cannot be entitled to refer" in summary.inner_text()
    page.screenshot(path=str(screenshots_dir / "registration-error.png"), full_page=True)
    assert_accessible(page, axe)


def test_forgotten_password_pages_are_accessible(page, axe):
    page.goto(reverse("login"))
    page.get_by_role("link", name="Forgotten your password?").click()
    page.wait_for_load_state()
    assert_single_h1(page, "Forgotten your password?")
    assert_accessible(page, axe)
    page.get_by_label("E-mail address").fill("referrer@demo.example")
    page.get_by_role("button", name="Send link").click()
    page.wait_for_load_state()
    assert_single_h1(page, "Check your e-mail")
    assert_accessible(page, axe)
