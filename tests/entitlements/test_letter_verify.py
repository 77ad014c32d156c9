"""Checking a printed letter by its verification code: genuine or not, and still current?"""

import html
import re

import pytest
from django.urls import reverse

from entitlements import services
from entitlements.models import Letter
from entitlements.services.letters import letter_render

pytestmark = pytest.mark.django_db

URL = reverse("letter_verify")


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    default = {**settings.STORAGES["default"], "OPTIONS": {"location": str(tmp_path)}}
    settings.STORAGES = {**settings.STORAGES, "default": default}


@pytest.fixture
def letter(entitlement):
    return letter_render(letter_id=entitlement.letters.get().pk)


def text_of(response) -> str:
    """The page's visible words, on one line."""
    body = re.sub(r"<[^>]+>", " ", response.content.decode())
    return " ".join(html.unescape(body).split())


def test_signed_out_people_are_sent_to_sign_in(client, letter):
    response = client.get(URL, {"code": letter.verification_code})
    assert response.status_code == 302
    assert "next=" in response["Location"]


def test_the_empty_form(client, other_trust_delegate):
    client.force_login(other_trust_delegate)
    response = client.get(URL)
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count("<h1") == 1
    assert "Check a letter of entitlement" in page
    assert 'name="code"' in page
    assert "There is a problem" not in page


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter the verification code from the letter"),
        ("ABC", "Enter the verification code as it is printed, like 7KQM-3XTP-9HRW"),
        ("<script>x</script>", "Enter the verification code as it is printed"),
        ("OOOO-IIII-1111", "it never contains the letters I, L, O or U, or the numbers 0 or 1"),
        ("2345-6789-ABCD", "No letter has this verification code"),
    ],
)
def test_a_bad_code_is_explained_in_the_error_summary(client, practitioner, letter, typed, message):
    client.force_login(practitioner)

    response = client.get(URL, {"code": typed})

    page = text_of(response)
    assert response.status_code == 200
    assert "There is a problem" in page
    assert page.count(message) == 2  # in the summary and on the field
    assert 'href="#id_code"' in response.content.decode()
    assert "is genuine" not in page
    assert "<script>x" not in response.content.decode()


def test_a_genuine_current_letter(client, other_trust_delegate, letter):
    """Anyone signed in may check a code, here someone from another trust."""
    client.force_login(other_trust_delegate)
    typed = letter.verification_code.lower().replace("-", " ")

    response = client.get(URL, {"code": typed})

    page = text_of(response)
    assert f"Letter {letter.verification_code} is genuine" in page
    assert "Referrer Priya Shah" in page
    assert "Employer Dorset Coast Hospitals NHS Trust (RDZ)" in page
    assert "The letter records Entitlement granted" in page
    reference = letter.content["reference"]
    assert f"entitlement {reference}" in page
    year, month, day = letter.content["issued_on"].split("-")
    assert re.search(rf"Issued {int(day)} \w+ {year}", page)
    assert "The entitlement now Active: in force" in page
    assert "Most recent letter Yes" in page
    assert "as it stands today" in page
    # Checking is not reading: no download for someone outside the employer.
    assert reverse("letter_download", args=[letter.pk]) not in response.content.decode()
    # Nor the reason for the change, which may be personal.
    assert letter.content["event"]["reason"] not in page


def test_the_referrer_may_also_download_what_they_checked(client, referrer, letter):
    client.force_login(referrer)
    response = client.get(URL, {"code": letter.verification_code})
    assert reverse("letter_download", args=[letter.pk]) in response.content.decode()


def test_a_letter_replaced_by_a_newer_one_and_an_entitlement_no_longer_in_force(
    client, practitioner, letter, entitlement, delegate
):
    services.entitlement_suspend(entitlement=entitlement, by=delegate, reason="Training lapsed")
    client.force_login(practitioner)

    page = text_of(client.get(URL, {"code": letter.verification_code}))
    assert "Most recent letter No: a newer letter (Entitlement suspended) was issued on" in page
    assert "The entitlement now Suspended: not in force until it is reinstated" in page
    assert "Do not rely on this letter alone" in page
    assert "this letter no longer describes the entitlement" in page

    services.entitlement_revoke(entitlement=entitlement, by=delegate, reason="Left the trust")
    newest = Letter.objects.filter(entitlement=entitlement).order_by("-id").first()
    page = text_of(client.get(URL, {"code": newest.verification_code}))
    assert "The letter records Entitlement revoked" in page
    assert "Most recent letter Yes" in page
    assert "The entitlement now Revoked: no longer in force" in page
    assert "is no longer in force" in page


def test_checking_a_code_changes_nothing(client, practitioner, letter):
    client.force_login(practitioner)
    before = list(Letter.objects.values())
    client.get(URL, {"code": letter.verification_code})
    client.get(URL, {"code": "2345-6789-ABCD"})
    assert client.post(URL, {"code": letter.verification_code}).status_code == 405
    assert list(Letter.objects.values()) == before
