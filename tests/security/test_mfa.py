"""Delegates, governance leads and administrators sign in with a second factor (TOTP).

Every test here runs with the enforcement exactly as in production (`mfa_on`): no session
counts as verified until it has passed the TOTP step.
"""

import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import UserFactory

from .conftest import code_for, confirmed_device

PASSWORD = "correct horse battery staple"
pytestmark = pytest.mark.usefixtures("mfa_on")


def sign_in(client, user, password=PASSWORD):
    return client.post(reverse("login"), {"username": user.email, "password": password})


def with_password(user):
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.mark.parametrize(
    ("persona", "page"),
    [
        ("delegate", "delegate_home"),
        ("governance_lead", "governance_home"),
        ("org_admin", "administration_home"),
    ],
)
def test_privileged_roles_cannot_open_a_page_before_the_second_factor(
    client, request, persona, page
):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    url = reverse(page, args=["RDZ"])
    response = client.get(url)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == reverse("mfa_setup")
    assert parse_qs(location.query)["next"] == [url]
    # A POST elsewhere is refused the same way, and changes nothing.
    assert client.post(reverse("notifications"), {}).status_code == 302


def test_a_superuser_needs_the_second_factor_for_the_django_admin(client, django_user_model):
    superuser = django_user_model.objects.create_superuser(
        "root@example.nhs.uk", PASSWORD, full_name="R"
    )
    client.force_login(superuser)
    response = client.get("/django-admin/")
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == reverse("mfa_setup")


@pytest.mark.parametrize(
    ("persona", "page", "args"),
    [
        ("referrer", "referrer_home", []),
        ("supervisor", "supervisor_home", []),
        ("practitioner", "practitioner_home", ["RDZ"]),
    ],
)
def test_other_roles_sign_in_with_a_password_alone(client, request, persona, page, args):
    user = with_password(request.getfixturevalue(persona))
    response = sign_in(client, user)
    assert response.status_code == 302
    assert client.get(reverse(page, args=args)).status_code == 200


def test_first_sign_in_sets_up_an_authenticator_then_the_page_opens(client, delegate):
    with_password(delegate)
    url = reverse("delegate_home", args=["RDZ"])
    response = client.post(
        reverse("login") + f"?next={url}",
        {"username": delegate.email, "password": PASSWORD, "next": url},
    )
    response = client.get(response["Location"])
    assert response.status_code == 302
    setup = response["Location"]
    assert urlsplit(setup).path == reverse("mfa_setup")

    page = client.get(setup)
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and "QR code to scan with your authenticator app" in html
    device = TOTPDevice.objects.get(user=delegate, confirmed=False)
    # The key is shown for typing in, grouped in fours, and the QR code encodes the same.
    import base64

    shown = base64.b32encode(device.bin_key).decode().rstrip("=")
    assert shown[:4] + " " + shown[4:8] in html

    wrong = client.post(setup, {"code": "000000", "next": url})
    assert wrong.status_code == 200
    assert "The security code is not right" in wrong.content.decode()
    assert client.get(url).status_code == 302

    with time_machine.travel(datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=5)):
        right = client.post(setup, {"code": code_for(device), "next": url})
        assert right.status_code == 302
        assert right["Location"] == url
        device.refresh_from_db()
        assert device.confirmed
        assert client.get(url).status_code == 200


def test_later_sign_ins_ask_for_the_code_and_refuse_a_wrong_or_reused_one(client, governance_lead):
    with_password(governance_lead)
    device = confirmed_device(governance_lead)
    url = reverse("governance_home", args=["RDZ"])
    sign_in(client, governance_lead)
    response = client.get(url)
    assert urlsplit(response["Location"]).path == reverse("mfa_verify")

    verify = reverse("mfa_verify")
    refused = client.post(verify, {"code": "123456", "next": url})
    assert refused.status_code == 200
    assert client.get(url).status_code == 302

    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=10)
    with time_machine.travel(later):
        code = code_for(device)
        accepted = client.post(verify, {"code": code, "next": url})
        assert accepted["Location"] == url
        assert client.get(url).status_code == 200

        # The same code, seen over a shoulder and typed in another browser, is refused.
        other = client.__class__()
        sign_in(other, governance_lead)
        again = other.post(verify, {"code": code, "next": url})
        assert again.status_code == 200
        assert other.get(url).status_code == 302


def test_wrong_codes_slow_down_guessing(client, org_admin):
    with_password(org_admin)
    device = confirmed_device(org_admin)
    sign_in(client, org_admin)
    verify = reverse("mfa_verify")
    start = datetime.datetime.now(datetime.UTC)
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            client.post(verify, {"code": "000000"})
        # Now even the right code is refused until the wait is over.
        response = client.post(verify, {"code": code_for(device)})
        assert response.status_code == 200
        assert "Too many wrong codes" in response.content.decode()
    with time_machine.travel(start + datetime.timedelta(seconds=30), tick=False):
        response = client.post(verify, {"code": code_for(device)})
        assert response.status_code == 302


def test_a_password_alone_cannot_add_a_second_authenticator(client, delegate):
    with_password(delegate)
    confirmed_device(delegate)
    sign_in(client, delegate)
    response = client.get(reverse("mfa_setup"))
    assert urlsplit(response["Location"]).path == reverse("mfa_verify")
    client.post(reverse("mfa_setup"), {"code": "123456"})
    assert TOTPDevice.objects.filter(user=delegate).count() == 1


def test_the_code_page_only_redirects_within_the_site(client, delegate):
    with_password(delegate)
    device = confirmed_device(delegate)
    sign_in(client, delegate)
    with time_machine.travel(datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=5)):
        response = client.post(
            reverse("mfa_verify"), {"code": code_for(device), "next": "https://evil.example/"}
        )
    assert response["Location"] == reverse("home")


def test_signed_out_visitors_are_sent_to_sign_in_not_to_the_code_page(client):
    response = client.get(reverse("mfa_verify"))
    assert urlsplit(response["Location"]).path == reverse("login")


def test_a_role_given_later_brings_the_second_factor_with_it(client, trust):
    from referrers import services
    from referrers.models import Role

    user = UserFactory()
    client.force_login(user)
    assert client.get(reverse("home")).status_code in (200, 302)
    services.role_assign(user=user, organisation=trust, role=Role.GOVERNANCE_LEAD, by=None)
    response = client.get(reverse("governance_home", args=["RDZ"]))
    assert urlsplit(response["Location"]).path == reverse("mfa_setup")


@pytest.mark.django_db(transaction=True)
def test_the_code_is_checked_outside_a_test_transaction_too(client, trust):
    """Without the test's own transaction around the request, as in production: django-otp
    locks the device rows while it checks a code, which needs a transaction of the view's."""
    from referrers import services
    from referrers.models import Role

    user = with_password(UserFactory())
    services.role_assign(user=user, organisation=trust, role=Role.GOVERNANCE_LEAD, by=None)
    device = confirmed_device(user)
    sign_in(client, user)
    with time_machine.travel(datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=5)):
        response = client.post(reverse("mfa_verify"), {"code": code_for(device)})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_the_sign_in_helper_for_tests_passes_both_steps(client, governance_lead):
    from .mfa import sign_in as sign_in_both_steps

    with_password(governance_lead)
    response = sign_in_both_steps(client, governance_lead.email, PASSWORD)
    assert response.redirect_chain[-1][0] == reverse("governance_home", args=["RDZ"])
    client.logout()
    # Again at once: the helper types the app's next code, as the one just used is refused.
    response = sign_in_both_steps(client, governance_lead.email, PASSWORD)
    assert response.redirect_chain[-1][0] == reverse("governance_home", args=["RDZ"])
