"""The security headers of every page, and no inline script anywhere.

Every URL in the access matrix is fetched once, over HTTPS and with the production values of
the transport settings, by the first persona the matrix says may open it; each response is
read for its headers and, if it is HTML, for inline script and style.
"""

import re
from pathlib import Path

import pytest
from django.urls import reverse

from entitlements import services as entitlement_services

from . import access_world
from .test_access_matrix import (
    EXPECTED,
    PERSONAS,
    SESSION_PERSONAS,
    named_patterns,
    route_kwargs,
)
from .test_access_matrix import (
    personas as personas,  # noqa: F401 (the fixture)
)

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)


def policy(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def first_allowed(name: str) -> str | None:
    row = EXPECTED[name]
    row = row if isinstance(row, str) else row[0]
    for persona, code in zip(PERSONAS, row.split(), strict=True):
        if "200" in code.split("|"):
            return persona
    return None


@pytest.fixture
def production_transport(settings):
    """What config/settings/production.py sets (tests/test_settings.py checks it does)."""
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    return settings


def test_every_page_sends_the_security_headers_and_no_inline_script(
    client, personas, production_transport
):
    ours, _theirs = access_world.build(personas)
    _api_client, token = entitlement_services.api_client_create(
        organisation=personas["trust"], name="CRIS"
    )
    problems = []
    seen = 0
    for name, route in sorted(named_patterns().items()):
        persona = first_allowed(name)
        if persona is None:
            continue
        http = client.__class__(raise_request_exception=False)
        extra = {}
        if persona in SESSION_PERSONAS:
            http.force_login(personas[persona])
        elif persona == "api_client":
            extra = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        keys = route_kwargs(route)
        url = reverse(name, kwargs=access_world.kwargs_for(name, keys, ours) or None)
        response = http.get(url, secure=True, **extra)
        if response.status_code != 200:
            continue
        seen += 1

        def problem(text, name=name):
            problems.append(f"{name}: {text}")

        if response.headers.get("X-Content-Type-Options") != "nosniff":
            problem("no X-Content-Type-Options: nosniff")
        if response.headers.get("Referrer-Policy") not in ("same-origin", "no-referrer"):
            problem("no Referrer-Policy: same-origin (or the stricter no-referrer)")
        if "max-age=31536000" not in response.headers.get("Strict-Transport-Security", ""):
            problem("no HSTS")
        csp = policy(response)
        if not csp:
            problem("no Content-Security-Policy")
            continue
        scripts = csp.get("script-src", [])
        if "'unsafe-inline'" in scripts or "'unsafe-eval'" in scripts:
            problem(f"script-src allows inline script or eval: {scripts}")
        if csp.get("object-src") != ["'none'"] or csp.get("frame-ancestors") != ["'none'"]:
            problem("object-src or frame-ancestors is not 'none'")
        if csp.get("style-src") != ["'self'"] and name != "api_docs":
            problem(f"style-src is {csp.get('style-src')}")
        for cookie in response.cookies.values():
            if cookie.value and not cookie["secure"]:
                problem(f"cookie {cookie.key} is not Secure")
        if "text/html" not in response.headers.get("Content-Type", ""):
            continue
        html = response.content.decode()
        nonces = {word.removeprefix("'nonce-").rstrip("'") for word in scripts if "nonce-" in word}
        for attributes in SCRIPT_TAG.findall(html):
            if "src=" in attributes:
                continue
            nonce = re.search(r'nonce="([^"]+)"', attributes)
            if not nonce or nonce.group(1) not in nonces:
                problem(f"inline <script{attributes}> without this response's nonce")
        if re.search(r"<style\b", html) and name != "api_docs":
            problem("an inline <style> element")
        style = re.search(r".{0,60}\sstyle=\".{0,40}", html)
        if style:
            problem(f"a style attribute: {style.group(0)}")
    assert seen > 80, seen
    assert not problems, "\n".join(problems)


def test_our_templates_have_no_inline_script_and_no_event_handler_attributes():
    found = []
    templates = [*TEMPLATES.rglob("*.jinja"), *TEMPLATES.rglob("*.html")]
    assert len(templates) > 50
    for template in sorted(templates):
        text = template.read_text()
        for attributes in SCRIPT_TAG.findall(text):
            if "src=" not in attributes:
                found.append(f"{template.relative_to(TEMPLATES)}: <script{attributes}>")
        if re.search(r"\son[a-z]+=\"", text):
            found.append(f"{template.relative_to(TEMPLATES)}: an on...= event handler")
        if "javascript:" in text:
            found.append(f"{template.relative_to(TEMPLATES)}: a javascript: URL")
    assert not found, "\n".join(found)


def test_the_api_docs_start_swagger_ui_from_a_script_file(client):
    page = client.get(reverse("api_docs"))
    assert page.status_code == 200
    html = page.content.decode()
    sources = re.findall(r'<script src="([^"]+)"', html)
    assert any("?script" in source for source in sources), sources
    script = client.get(next(s for s in sources if "?script" in s))
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
    assert "'unsafe-inline'" not in policy(page)["script-src"]


def test_sign_in_sets_only_secure_http_only_cookies(client, referrer, production_transport):
    referrer.set_password("correct horse battery staple")
    referrer.save()
    response = client.post(
        reverse("login"),
        {"username": referrer.email, "password": "correct horse battery staple"},
        secure=True,
    )
    session = response.cookies["sessionid"]
    assert session["secure"] and session["httponly"]
    assert session["samesite"] == "Lax"
