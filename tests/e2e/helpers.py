"""What every browser test does: sign in, check the heading, scan with axe."""

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
    page.goto(reverse("login"))
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


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
