"""The database cannot be reached: pages say so in plain words with a 503 (never a stack
trace or a half-drawn page), the lookup API answers 503 and never `entitled: true`, and once
the database is back everything answers as before."""

import contextlib
import re

import pytest
from django.db import IntegrityError, OperationalError, connection
from django.test import Client
from django.urls import reverse

from entitlements.models.letters import verification_code_new
from tests.api.helpers import database_failing


@pytest.fixture
def browser():
    """A client that shows what a browser would get, not the exception."""
    return Client(raise_request_exception=False)


def assert_friendly_unavailable_page(response):
    text = response.content.decode()
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response["Content-Type"].startswith("text/html")
    assert len(re.findall(r"<h1[ >]", text)) == 1
    assert "Sorry, the service is unavailable" in text
    assert "has not been saved" in text
    assert "treat them as not entitled" in text
    assert "Traceback" not in text and "OperationalError" not in text
    assert "Sign out" not in text  # nothing read from the session or the user


@contextlib.contextmanager
def database_at_a_closed_port():
    """The real thing: the connection points at a port where nothing listens."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["HOST"] = "127.0.0.1"
    connection.settings_dict["PORT"] = "1"
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


@pytest.mark.parametrize(
    "persona,url",
    [
        ("referrer", lambda: reverse("referrer_home")),
        ("delegate", lambda: reverse("application_queue", args=["RDZ"])),
        ("governance_lead", lambda: reverse("letter_bundles", args=["RDZ"])),
        (None, lambda: reverse("letter_check_code", args=[verification_code_new()])),
    ],
)
def test_a_page_while_the_database_is_unreachable_is_a_friendly_503(
    request, browser, trust, persona, url
):
    path = url()
    if persona:
        browser.force_login(request.getfixturevalue(persona))
    assert browser.get(path).status_code == 200

    with database_failing():
        response = browser.get(path)
    assert_friendly_unavailable_page(response)

    assert browser.get(path).status_code == 200  # and back once it is reachable


@pytest.mark.django_db(transaction=True)
def test_a_form_posted_when_the_database_goes_away_mid_request_saves_nothing_and_says_so(
    browser, trust, referrer
):
    """The session and the user are read; the write then fails as the server goes away."""
    from referrers.models import Notification
    from referrers.services import notification_send

    notification_send(user=referrer, subject="Your application has been returned")
    browser.force_login(referrer)

    def gone_on_write(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(("UPDATE", "INSERT")):
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with database_failing(gone_on_write):
        response = browser.post(reverse("notifications"))
    assert_friendly_unavailable_page(response)
    assert not Notification.objects.filter(read_at__isnull=False).exists()


@pytest.mark.django_db(transaction=True)
def test_a_page_with_the_database_at_a_closed_port_is_a_friendly_503(browser, trust, referrer):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite has no server to point at a closed port (PostgreSQL runs this)")
    browser.force_login(referrer)
    with database_at_a_closed_port():
        response = browser.get(reverse("referrer_home"))
    assert_friendly_unavailable_page(response)
    assert browser.get(reverse("referrer_home")).status_code == 200


def test_a_bug_is_a_500_page_not_an_unavailable_one(browser, trust, referrer, monkeypatch):
    def a_bug(self, request):
        raise IntegrityError("a bug, not an outage")

    monkeypatch.setattr("django.core.handlers.base.BaseHandler._get_response", a_bug)
    response = browser.get(reverse("home"))
    text = response.content.decode()
    assert response.status_code == 500
    assert not response.has_header("Retry-After")
    assert "Sorry, there is a problem with the service" in text
    assert len(re.findall(r"<h1[ >]", text)) == 1
    assert "Traceback" not in text and "IntegrityError" not in text


def test_the_api_while_the_database_fails_before_the_view_is_still_a_503_never_entitled(
    browser, trust, entitlement, monkeypatch
):
    """A failure outside the API's own handler (a middleware) still answers in the API's
    words, never `entitled: true`."""

    def database_gone(self, request):
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr("django.core.handlers.base.BaseHandler._get_response", database_gone)
    check = browser.get("/api/v1/entitlement-check", {"referrer": "x", "examination": "y"})
    fhir = browser.get("/api/fhir/PractitionerRole", {"practitioner.identifier": "x"})

    assert check.status_code == 503 and check["Retry-After"] == "30"
    assert check.json()["entitled"] is False
    assert fhir.status_code == 503
    assert fhir.json()["resourceType"] == "OperationOutcome"
    assert fhir.json()["issue"][0]["code"] == "transient"
    assert '"entitled": true' not in fhir.content.decode().replace(" ", "")
