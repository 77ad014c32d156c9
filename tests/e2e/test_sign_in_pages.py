"""The second-factor and lockout pages in Chromium, with the Content-Security-Policy on: a
demo delegate sets up an authenticator on first sign-in, then signs in again with a code; too
many wrong passwords show the lockout page. Each page has one h1 and passes an axe scan."""

import base64

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from referrers import demo_data
from tests.e2e.helpers import (
    assert_accessible,
    assert_single_h1,
    enter_security_code,
    path_of,
)

pytestmark = pytest.mark.browser

DELEGATE = "delegate@demo.example"


def password_step(page, email, password=demo_data.DEMO_PASSWORD):
    page.goto(reverse("login"))
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_a_delegate_sets_up_an_authenticator_then_signs_in_with_a_code(page, axe, screenshots_dir):
    csp_errors = []
    page.on("console", lambda m: csp_errors.append(m.text) if "Content Security" in m.text else 0)
    password_step(page, DELEGATE)
    assert path_of(page) == reverse("mfa_setup")
    assert_single_h1(page, "Set up your authenticator app")
    assert page.locator("svg.app-qr").count() == 1
    page.screenshot(path=str(screenshots_dir / "mfa-setup.png"), full_page=True)
    assert_accessible(page, axe)

    enter_security_code(page, "12345")
    assert page.locator(".nhsuk-error-summary").count() == 1
    assert "Enter the 6-digit security code" in page.locator(".nhsuk-error-summary").inner_text()
    assert_accessible(page, axe)

    secret = "".join(page.locator(".app-totp-secret").inner_text().split())
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    enter_security_code(page, f"{TOTP(key).token():06d}")
    assert path_of(page) == reverse("delegate_home", args=[demo_data.ACUTE_TRUST])

    page.goto(reverse("sign_out"))
    page.get_by_role("button", name="Sign out").click()
    password_step(page, DELEGATE)
    assert path_of(page) == reverse("mfa_verify")
    assert_single_h1(page, "Enter your security code")
    page.screenshot(path=str(screenshots_dir / "mfa-verify.png"), full_page=True)
    assert_accessible(page, axe)
    device = TOTPDevice.objects.get(user__email=DELEGATE, confirmed=True)
    totp = TOTP(device.bin_key)
    totp.drift = 1  # the step after the one used at set-up
    enter_security_code(page, f"{totp.token():06d}")
    assert path_of(page) == reverse("delegate_home", args=[demo_data.ACUTE_TRUST])
    assert not csp_errors, csp_errors


def test_too_many_wrong_passwords_show_the_lockout_page(page, axe, screenshots_dir):
    for _ in range(5):
        password_step(page, "referrer@demo.example", "not-the-password")
    assert_single_h1(page, "Too many attempts to sign in")
    page.screenshot(path=str(screenshots_dir / "locked-out.png"), full_page=True)
    assert_accessible(page, axe)
