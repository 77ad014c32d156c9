"""Anyone holding a printed letter checks it at /verify/<code>, without signing in: genuine
and in force, genuine but no longer in force (and why, in plain words), or not recognised.
The page names only the referrer and the employer, and the letter's date."""

import html
import re
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from entitlements import services
from entitlements.models import Letter
from entitlements.services.letters import letter_html
from tests.journeys import grant, pdf_upload

pytestmark = pytest.mark.django_db

FORM = reverse("letter_check")


def check(code: str) -> str:
    return reverse("letter_check_code", args=[code])


def text_of(response) -> str:
    body = re.sub(r"<[^>]+>", " ", response.content.decode())
    return " ".join(html.unescape(body).split())


def h1(response) -> str:
    headings = re.findall(r"<h1[^>]*>(.*?)</h1>", response.content.decode(), re.S)
    assert len(headings) == 1, headings
    return " ".join(html.unescape(headings[0]).split())


def newest(entitlement) -> Letter:
    return entitlement.letters.order_by("-created_at", "-id").first()


@pytest.fixture
def letter(entitlement) -> Letter:
    """Priya's grant letter: the current letter of an active entitlement."""
    return entitlement.letters.get()


def assert_nothing_personal_beyond_names(response, entitlement) -> None:
    page = response.content.decode()
    registration = entitlement.referrer.registration_number
    assert registration not in page
    assert "NMC" not in page
    for item in entitlement.scope_items.select_related("examination"):
        assert item.examination.name not in page
        assert item.examination.code not in page
    assert entitlement.reference not in page
    assert "Suspected fracture" not in page  # clinical indications
    assert "Dana Delegate" not in page
    assert "Sue Supervisor" not in page


def test_a_genuine_current_letter_signed_out(client, letter, entitlement):
    response = client.get(check(letter.verification_code))

    assert response.status_code == 200
    assert h1(response) == "This letter is genuine and in force"
    page = text_of(response)
    assert "Referrer Priya Shah" in page
    assert "Employer Dorset Coast Hospitals NHS Trust" in page
    year, month, day = letter.content["issued_on"].split("-")
    assert re.search(rf"Letter dated {int(day)} \w+ {year}", page)
    assert f"Verification code {letter.verification_code}" in page
    assert_nothing_personal_beyond_names(response, entitlement)
    assert "Sign out" not in page  # nobody is signed in


@pytest.mark.parametrize(
    "typed",
    [
        lambda code: code.lower(),
        lambda code: code.replace("-", ""),
        lambda code: code.replace("-", " ").lower(),
        lambda code: code.replace("-", "\u2013"),  # an en dash, from a word processor
        lambda code: f"  {code}  ",
    ],
)
def test_case_spaces_and_dashes_do_not_matter(client, letter, typed):
    code = typed(letter.verification_code)

    by_form = client.get(FORM, {"code": code})
    assert h1(by_form) == "This letter is genuine and in force"
    if "/" not in code and code.strip() == code:
        by_address = client.get(check(code))
        assert h1(by_address) == "This letter is genuine and in force"


def test_the_address_works_with_or_without_a_trailing_slash(client, letter):
    code = letter.verification_code
    assert check(code) == f"/verify/{code}"
    assert h1(client.get(f"/verify/{code}/")) == "This letter is genuine and in force"


def test_a_letter_superseded_by_a_variation(
    client, letter, entitlement, referrer, supervisor, delegate
):
    application = services.variation_start(entitlement=entitlement, by=referrer)
    services.evidence_add(
        application=application, by=referrer, upload=pdf_upload(), kind="competency"
    )
    services.application_submit(application=application, by=referrer)
    services.application_endorse(application=application, by=supervisor, outcome="endorsed")
    application.refresh_from_db()
    varied = grant(application, delegate, rationale="Scope confirmed at review")

    old = client.get(check(letter.verification_code))
    assert h1(old) == "This letter is genuine but no longer in force"
    page = text_of(old)
    assert "The entitlement this letter records has been replaced by a newer one." in page
    assert "Do not rely on this letter" in page
    assert "Referrer Priya Shah" in page
    assert_nothing_personal_beyond_names(old, entitlement)
    assert varied.reference not in old.content.decode()

    new = client.get(check(varied.letters.get().verification_code))
    assert h1(new) == "This letter is genuine and in force"


def test_a_letter_replaced_by_a_later_letter(client, letter, entitlement, delegate):
    services.entitlement_suspend(entitlement=entitlement, by=delegate, reason="Training lapsed")
    services.entitlement_reinstate(entitlement=entitlement, by=delegate, reason="Renewed")

    old = client.get(check(letter.verification_code))
    assert h1(old) == "This letter is genuine but no longer in force"
    page = text_of(old)
    assert "A newer letter has been issued since this one." in page
    assert "suspended" not in page.lower()  # the entitlement is active again
    assert "Training lapsed" not in page and "Renewed" not in page  # no reasons, no details

    current = client.get(check(newest(entitlement).verification_code))
    assert h1(current) == "This letter is genuine and in force"


def test_a_suspended_entitlement(client, letter, entitlement, delegate):
    services.entitlement_suspend(entitlement=entitlement, by=delegate, reason="Training lapsed")
    suspension = newest(entitlement)

    response = client.get(check(suspension.verification_code))

    assert h1(response) == "This letter is genuine but no longer in force"
    page = text_of(response)
    assert "The entitlement this letter records is suspended." in page
    assert "A newer letter" not in page  # it is the newest letter
    assert "Training lapsed" not in page
    # The grant letter says both.
    grant_page = text_of(client.get(check(letter.verification_code)))
    assert "is suspended." in grant_page and "A newer letter has been issued" in grant_page


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ("entitlement_revoke", "has been revoked."),
        ("entitlement_expire", "has ended."),
    ],
)
def test_an_ended_entitlement(client, letter, entitlement, delegate, change, words):
    getattr(services, change)(entitlement=entitlement, by=delegate, reason="Left the trust")

    response = client.get(check(newest(entitlement).verification_code))

    assert h1(response) == "This letter is genuine but no longer in force"
    assert f"The entitlement this letter records {words}" in text_of(response)
    assert "Left the trust" not in text_of(response)


def test_an_unknown_code(client, letter):
    response = client.get(check("2345-6789-ABCD"))

    assert response.status_code == 200
    assert h1(response) == "This letter is not recognised"
    page = text_of(response)
    assert "No letter issued by this service has this verification code" in page
    assert "Priya Shah" not in page
    assert "Dorset Coast" not in page


def test_an_unknown_code_takes_the_same_path_as_a_genuine_one(client, letter):
    """No enumeration help: one query either way, the same status and headers."""
    answers = {}
    for code in (letter.verification_code, "2345-6789-ABCD"):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(check(code))
        answers[code] = (
            len(captured.captured_queries),
            response.status_code,
            response["Cache-Control"],
            response["Content-Type"],
        )
    genuine, unknown = answers.values()
    assert genuine == unknown
    assert genuine[0] == 1


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("ABC", "Enter the verification code as it is printed, like 7KQM-3XTP-9HRW"),
        ("OOOO-IIII-1111", "it never contains the letters I, L, O or U, or the numbers 0 or 1"),
        ("<script>alert(1)</script>", "Enter the verification code as it is printed"),
    ],
)
def test_a_malformed_code_is_explained(client, letter, typed, message):
    responses = [client.get(FORM, {"code": typed})]
    if "/" not in typed:  # an address with a slash in the code is not a check at all
        responses.append(client.get("/verify/" + quote(typed, safe="")))
    for response in responses:
        assert response.status_code == 200
        assert h1(response) == "Check a letter of entitlement"
        page = text_of(response)
        assert "There is a problem" in page
        assert page.count(message) == 2  # the summary and the field
        assert "<script>alert" not in response.content.decode()
        assert "This letter is genuine" not in page and "Priya Shah" not in page


def test_an_empty_code_is_asked_for(client):
    response = client.get(FORM, {"code": ""})
    assert "Enter the verification code from the letter" in text_of(response)


def test_the_empty_form(client):
    response = client.get(FORM)

    assert response.status_code == 200
    assert h1(response) == "Check a letter of entitlement"
    page = response.content.decode()
    assert 'name="code"' in page and 'method="get"' in page
    assert "There is a problem" not in page


def test_answers_are_never_cached_nor_indexed(client, letter):
    for response in (client.get(check(letter.verification_code)), client.get(FORM)):
        assert "no-store" in response["Cache-Control"]
        assert "private" in response["Cache-Control"]
        assert response["X-Robots-Tag"] == "noindex, nofollow"
        assert response["Referrer-Policy"] == "no-referrer"


def test_checking_changes_nothing_and_is_get_only(client, letter):
    before = list(Letter.objects.values())
    client.get(check(letter.verification_code))
    client.get(check("2345-6789-ABCD"))
    assert client.post(FORM, {"code": letter.verification_code}).status_code == 405
    assert client.post(check(letter.verification_code)).status_code == 405
    assert list(Letter.objects.values()) == before


def test_it_works_signed_in_too(client, letter, practitioner):
    client.force_login(practitioner)
    response = client.get(check(letter.verification_code))
    assert h1(response) == "This letter is genuine and in force"
    assert "Sign out" in text_of(response)


def test_the_printed_letter_says_where_to_check_it(settings, letter):
    settings.SITE_URL = "https://entitlement.example.nhs.uk"

    printed = " ".join(letter_html(letter).split())

    code = letter.verification_code
    assert f"https://entitlement.example.nhs.uk/verify/{code}" in printed
    assert "without signing in" in printed
    assert "https://entitlement.example.nhs.uk/verify/ " in printed.replace("</span>", " ")
