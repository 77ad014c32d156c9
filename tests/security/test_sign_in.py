"""Sign-in throttling and lockout (django-axes), and disabling a user."""

import datetime

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.urls import reverse

from entitlements import services as entitlement_services
from entitlements.models import ApiClient
from referrers import services
from tests.api.helpers import ask

PASSWORD = "correct horse battery staple"


@pytest.fixture
def person(referrer):
    referrer.set_password(PASSWORD)
    referrer.save()
    return referrer


def attempt(client, email, password, ip="203.0.113.7"):
    return client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=ip)


def test_five_wrong_passwords_lock_the_address_out_even_with_the_right_one(client, person):
    for _ in range(4):
        response = attempt(client, person.email, "wrong password")
        assert response.status_code == 200
        assert "Enter a correct e-mail address and password" in response.content.decode()
    locked = attempt(client, person.email, "wrong password")
    assert locked.status_code == 429
    assert "Too many attempts to sign in" in locked.content.decode()
    # The right password is refused too while locked, and nobody is signed in.
    right = attempt(client, person.email, PASSWORD)
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
    # However the address is typed.
    assert attempt(client, person.email.upper(), PASSWORD).status_code == 429


def test_the_lockout_ends_after_the_cool_off(client, person):
    start = datetime.datetime.now(datetime.UTC)
    with time_machine.travel(start):
        for _ in range(5):
            attempt(client, person.email, "wrong password")
        assert attempt(client, person.email, PASSWORD).status_code == 429
    with time_machine.travel(start + datetime.timedelta(minutes=16)):
        response = attempt(client, person.email, PASSWORD)
        assert response.status_code == 302
        assert client.session["_auth_user_id"] == str(person.pk)


def test_a_lockout_from_one_address_does_not_lock_the_person_out_elsewhere(client, person):
    for _ in range(5):
        attempt(client, person.email, "wrong password", ip="198.51.100.9")
    assert attempt(client, person.email, PASSWORD, ip="198.51.100.9").status_code == 429
    assert attempt(client, person.email, PASSWORD, ip="203.0.113.7").status_code == 302


def test_a_correct_sign_in_resets_the_count(client, person):
    for _ in range(4):
        attempt(client, person.email, "wrong password")
    assert attempt(client, person.email, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert attempt(client, person.email, "wrong password").status_code == 200
    assert attempt(client, person.email, PASSWORD).status_code == 302


def test_behind_a_proxy_the_forwarded_address_is_counted(client, person, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(5):
        client.post(
            reverse("login"),
            {"username": person.email, "password": "wrong"},
            REMOTE_ADDR="10.0.0.1",
            # A client-chosen first hop is ignored; the proxy appended the real address.
            HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, 203.0.113.50",
        )
    assert AccessAttempt.objects.get().ip_address == "203.0.113.50"


def test_a_wrong_password_never_says_whether_the_account_exists(client, person):
    unknown = attempt(client, "nobody@example.nhs.uk", "wrong password").content.decode()
    known = attempt(client, person.email, "wrong password").content.decode()
    assert "Enter a correct e-mail address and password" in unknown
    assert "Enter a correct e-mail address and password" in known


# --- Disabling a user ------------------------------------------------------------------------


def test_disabling_a_user_ends_their_sessions_at_once(client, person, org_admin):
    assert attempt(client, person.email, PASSWORD).status_code == 302
    other = client.__class__()
    other.force_login(org_admin)
    assert client.get(reverse("referrer_home")).status_code == 200

    ended = services.user_disable(user=person, by=org_admin, reason="Left the trust")
    assert ended["sessions"] == 1
    # Their browser is signed out; everyone else's session stays.
    response = client.get(reverse("referrer_home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert Session.objects.count() == 1
    assert other.get(reverse("administration_home", args=["RDZ"])).status_code == 200
    # And they cannot sign in again.
    response = attempt(client, person.email, PASSWORD)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    person.refresh_from_db()
    assert not person.is_active
    assert person.history.first().history_change_reason == "Left the trust"


def test_disabling_a_user_revokes_the_api_tokens_they_created(client, trust, org_admin, delegate):
    theirs, token = entitlement_services.api_client_create(
        organisation=trust, name="CRIS", by=org_admin
    )
    someone_elses, other_token = entitlement_services.api_client_create(
        organisation=trust, name="PACS", by=delegate
    )
    assert ask(client, token).status_code != 401
    result = services.user_disable(user=org_admin, by=delegate)
    assert result["api_clients"] == 1
    assert ask(client, token).status_code == 401
    assert ask(client, other_token).status_code != 401
    theirs.refresh_from_db()
    assert theirs.revoked_by == delegate
    assert ApiClient.objects.get(pk=someone_elses.pk).revoked_at is None
    # Doing it again changes nothing.
    assert services.user_disable(user=org_admin, by=delegate) == {"sessions": 0, "api_clients": 0}


def test_the_disable_user_command_ends_sessions_and_says_what_it_did(client, person):
    from io import StringIO

    from django.core.management import CommandError, call_command

    assert attempt(client, person.email, PASSWORD).status_code == 302
    with pytest.raises(CommandError, match="No account"):
        call_command("disable_user", email="nobody@example.nhs.uk", reason="Left")
    assert person.__class__.objects.get(pk=person.pk).is_active
    out = StringIO()
    call_command("disable_user", email=person.email.upper(), reason="Left the trust", stdout=out)
    assert "1 session(s) ended, 0 API token(s) revoked" in out.getvalue()
    assert client.get(reverse("referrer_home")).status_code == 302
    person.refresh_from_db()
    assert not person.is_active
    assert person.history.first().history_change_reason == "Left the trust"
