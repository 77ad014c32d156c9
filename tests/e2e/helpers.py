"""What every browser test does: sign in, check the heading, scan with axe."""

import base64
from urllib.parse import urlsplit

from django.urls import reverse


def local_context(browser, origin: str, *, scripts: bool = True, **options):
    """A new browser context that reaches only the live server at `origin`: anything outside
    (the NHS.UK fonts on assets.nhs.uk, say) is refused at once rather than left to time out
    on a closed network. With `scripts=False` the server's scripts are refused too."""
    context = browser.new_context(
        base_url=origin, **{"viewport": {"width": 1280, "height": 900}, **options}
    )
    context.set_default_timeout(15_000)
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(origin)
            and (scripts or route.request.resource_type != "script")
            else route.abort("blockedbyclient")
        ),
    )
    return context


def sign_in(page, email: str, password: str) -> None:
    """Sign in through the real page. A delegate, governance lead or administrator is then
    asked for the second factor, as in production: on first sign-in the helper reads the key
    the set-up page shows (as a person types it into their app), later it uses the device's
    key from the database; either way it types the code an authenticator app would show."""
    page.goto(reverse("login"))
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    path = path_of(page)
    if path == reverse("mfa_setup"):
        key = base64.b32decode(_padded(page.locator(".app-totp-secret").inner_text()))
        enter_security_code(page, _totp_code(key, last_t=-1))
    elif path == reverse("mfa_verify"):
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.get(user__email=email, confirmed=True)
        enter_security_code(page, _totp_code(device.bin_key, last_t=device.last_t))


def enter_security_code(page, code: str) -> None:
    page.get_by_label("Security code").fill(code)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()


def _padded(text: str) -> str:
    text = "".join(text.split())
    return text + "=" * (-len(text) % 8)


def _totp_code(key: bytes, *, last_t: int) -> str:
    """The code for now, or for the next 30-second step if now's was used already (the
    server accepts one step of drift and never the same step twice)."""
    from django_otp.oath import TOTP

    totp = TOTP(key)
    now = totp.t()
    assert last_t <= now, "signed in as this person three times within 30 seconds"
    if last_t == now:
        totp.drift = last_t + 1 - now
    return f"{totp.token():06d}"


def path_of(page) -> str:
    return urlsplit(page.url).path


def assert_accessible(page, axe) -> None:
    """No axe violation of serious or critical impact."""
    results = axe.run(page)
    serious = [
        v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")
    ]
    assert not serious, f"axe found on {page.url}:\n" + "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}\n    "
        + "\n    ".join(node["html"] for node in v["nodes"][:5])
        for v in serious
    )


def assert_single_h1(page, text: str) -> None:
    headings = page.locator("h1")
    assert headings.count() == 1, headings.all_inner_texts()
    assert headings.inner_text().strip() == text
