"""Each demo role signs in through the real form and lands on its own home page, which
passes an axe scan; a wrong password shows the error summary."""

import pytest
from django.urls import reverse

from referrers import demo_data

from .helpers import assert_accessible, assert_single_h1, path_of, sign_in

pytestmark = pytest.mark.browser

ACUTE = demo_data.ACUTE_TRUST

# role -> (e-mail, home URL, the page's h1)
ROLE_HOMES = {
    "referrer": (
        "referrer@demo.example",
        reverse("referrer_home"),
        "Your registration and employments",
    ),
    "supervisor": (
        "supervisor@demo.example",
        reverse("supervisor_home"),
        "Referrers you supervise",
    ),
    "delegate": (
        "delegate@demo.example",
        reverse("delegate_home", args=[ACUTE]),
        "Entitlement delegate",
    ),
    "governance": (
        "governance@demo.example",
        reverse("governance_home", args=[ACUTE]),
        "Governance",
    ),
    "practitioner": (
        "practitioner@demo.example",
        reverse("practitioner_home", args=[ACUTE]),
        "Find a referrer",
    ),
    "admin": (
        "admin@demo.example",
        reverse("administration_home", args=[ACUTE]),
        "Organisation administration",
    ),
}


@pytest.mark.parametrize("role", list(ROLE_HOMES))
def test_each_role_signs_in_and_lands_on_its_accessible_home(page, axe, screenshots_dir, role):
    email, home_url, heading = ROLE_HOMES[role]

    sign_in(page, email, demo_data.DEMO_PASSWORD)

    assert path_of(page) == home_url, f"{role} landed on {page.url}"
    assert_single_h1(page, heading)
    page.screenshot(path=str(screenshots_dir / f"{role}.png"), full_page=True)
    assert_accessible(page, axe)


def test_a_wrong_password_shows_the_error_summary_and_stays_on_sign_in(page, axe):
    sign_in(page, "referrer@demo.example", "not-the-password")

    assert path_of(page) == reverse("login")
    summary = page.locator(".nhsuk-error-summary")
    assert summary.is_visible()
    assert "There is a problem" in summary.inner_text()
    assert "Enter a correct e-mail address and password" in summary.inner_text()
    assert_single_h1(page, "Sign in")
    assert page.title().startswith("Error: ")
    assert_accessible(page, axe)


def test_pages_load_the_compiled_stylesheet(page):
    page.goto(reverse("login"))
    page.wait_for_load_state("networkidle")

    stylesheets = [r for r in page.responses if r.url.endswith("/static/compiled/app.css")]
    assert stylesheets, "the page did not request /static/compiled/app.css"
    assert stylesheets[0].status == 200, (
        f"/static/compiled/app.css answered {stylesheets[0].status}: run `make install` "
        "to build static/compiled/"
    )
    # The NHS.UK styles apply: the header is the NHS blue, not an unstyled page.
    header_colour = page.locator("header").first.evaluate(
        "el => getComputedStyle(el).backgroundColor"
    )
    assert header_colour == "rgb(0, 94, 184)"
