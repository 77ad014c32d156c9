"""The named clinical supervisor endorses an application, or declines with a comment;
nobody else can see or answer it."""

import pytest
from django.urls import reverse

from entitlements.models import Application, ApplicationStatus, Endorsement
from referrers.models import Notification, Role
from tests.factories import UserFactory, give_role
from tests.journeys import apply


@pytest.fixture
def submitted(referrer, supervisor, trust, catalogue, procedure):
    """Priya's application for XR chest and CT head, waiting for Sue Supervisor."""
    return apply(
        referrer,
        trust,
        [catalogue["xr_chest"], catalogue["ct_head"]],
        supervisor=supervisor,
        until="submitted",
    )


def endorsement_url(application) -> str:
    return reverse("endorsement", args=[application.pk])


def status_of(application) -> str:
    return Application.objects.get(pk=application.pk).status


def test_supervisor_sees_the_application_and_the_form(client, submitted, supervisor):
    client.force_login(supervisor)
    response = client.get(endorsement_url(submitted))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Endorse Priya Shah&#39;s application" in body
    assert "ED advanced practice needs plain film and CT head requests." in body
    assert "400" in body  # expected volume
    assert "XR Chest" in body and "CT Head with contrast" in body
    assert "16 years and over" in body and "Emergency department, Minor injuries unit" in body
    assert "Consultant in emergency medicine on shift" in body
    assert "Clinical lead for emergency medicine" in body
    evidence = submitted.evidence.get()
    assert reverse("evidence_download", args=[evidence.pk]) in body
    assert "competency-sign-off.pdf" in body
    assert "Yes, I endorse the service need and supervision arrangements" in body
    assert body.count("<h1") == 1


def test_supervisor_home_lists_applications_waiting(client, submitted, supervisor):
    client.force_login(supervisor)
    body = client.get(reverse("supervisor_home")).content.decode()
    assert "Applications waiting for your endorsement" in body
    assert endorsement_url(submitted) in body
    assert submitted.reference in body


def test_endorsing_sends_it_to_the_delegates(client, submitted, supervisor, delegate, referrer):
    client.force_login(supervisor)
    response = client.post(endorsement_url(submitted), {"outcome": "endorsed", "comment": ""})
    assert response.status_code == 302
    assert response["Location"] == reverse("supervisor_home")
    assert status_of(submitted) == ApplicationStatus.UNDER_REVIEW
    endorsement = Endorsement.objects.get(application=submitted)
    assert (endorsement.supervisor, endorsement.outcome) == (supervisor, "endorsed")
    notice = Notification.objects.get(user=delegate)
    assert submitted.reference in notice.subject
    assert notice.url == reverse("application_review", args=["RDZ", submitted.pk])
    # The referrer is not told anything yet.
    assert not Notification.objects.filter(user=referrer, subject__icontains="endorse").exists()
    page = client.get(reverse("supervisor_home")).content.decode()
    assert "You have endorsed Priya Shah" in page
    assert endorsement_url(submitted) not in page


def test_declining_without_a_comment_is_refused(client, submitted, supervisor, referrer):
    client.force_login(supervisor)
    before = Notification.objects.count()
    response = client.post(endorsement_url(submitted), {"outcome": "declined", "comment": "  "})
    assert response.status_code == 200
    body = response.content.decode()
    assert "There is a problem" in body
    assert "Say why you cannot endorse it" in body
    assert status_of(submitted) == ApplicationStatus.AWAITING_ENDORSEMENT
    assert not Endorsement.objects.exists()
    assert Notification.objects.count() == before


def test_no_answer_is_refused(client, submitted, supervisor):
    client.force_login(supervisor)
    response = client.post(endorsement_url(submitted), {"comment": ""})
    assert "Select whether you endorse the application" in response.content.decode()
    assert status_of(submitted) == ApplicationStatus.AWAITING_ENDORSEMENT
    assert not Endorsement.objects.exists()


def test_declining_with_a_comment_returns_it_to_the_referrer(
    client, submitted, supervisor, referrer, delegate
):
    client.force_login(supervisor)
    comment = "We have not agreed CT head requests for this role yet."
    response = client.post(endorsement_url(submitted), {"outcome": "declined", "comment": comment})
    assert response.status_code == 302
    assert status_of(submitted) == ApplicationStatus.RETURNED
    endorsement = Endorsement.objects.get(application=submitted)
    assert (endorsement.outcome, endorsement.comment) == ("declined", comment)
    notice = Notification.objects.get(user=referrer, body=comment)
    assert "did not endorse" in notice.subject
    assert not Notification.objects.filter(user=delegate).exists()


def test_once_answered_the_page_shows_the_status_and_no_form(client, submitted, supervisor):
    client.force_login(supervisor)
    client.post(endorsement_url(submitted), {"outcome": "endorsed"})
    body = client.get(endorsement_url(submitted)).content.decode()
    assert "This application is under review" in body
    assert "Endorse Priya Shah" not in body
    assert 'name="outcome"' not in body
    # A second answer (say, from another tab) changes nothing.
    response = client.post(endorsement_url(submitted), {"outcome": "declined", "comment": "No"})
    assert response.status_code == 302
    assert status_of(submitted) == ApplicationStatus.UNDER_REVIEW
    assert Endorsement.objects.filter(application=submitted).count() == 1
    assert (
        "it is not waiting for your endorsement"
        in client.get(response["Location"]).content.decode()
    )


@pytest.fixture
def another_supervisor(trust):
    return give_role(
        UserFactory(email="another.supervisor@example.nhs.uk", full_name="Ann Other"),
        trust,
        Role.CLINICAL_SUPERVISOR,
    )


@pytest.mark.parametrize(
    "persona",
    ["another_supervisor", "delegate", "referrer", "other_trust_delegate", "governance_lead"],
)
def test_nobody_else_can_see_or_answer_it(client, request, submitted, persona):
    client.force_login(request.getfixturevalue(persona))
    before = Notification.objects.count()
    url = endorsement_url(submitted)
    assert client.get(url).status_code == 404
    assert client.post(url, {"outcome": "endorsed"}).status_code == 404
    assert client.post(url, {"outcome": "declined", "comment": "No"}).status_code == 404
    assert status_of(submitted) == ApplicationStatus.AWAITING_ENDORSEMENT
    assert not Endorsement.objects.exists()
    assert Notification.objects.count() == before


def test_an_unknown_application_is_not_found(client, submitted, supervisor):
    client.force_login(supervisor)
    assert client.get(reverse("endorsement", args=[submitted.pk + 1000])).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client, submitted):
    response = client.get(endorsement_url(submitted))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
