"""Principle 5: the referrer notifies a change, and each kind does what the form says it
does. Through the service, and through the page."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from entitlements import selectors, services
from entitlements.models import (
    ChangeKind,
    ChangeNotice,
    EntitlementState,
    EventAction,
    Letter,
)
from referrers.models import Notification
from tests.journeys import apply, grant

from .test_lifecycle import snapshot

DETAILS = "I start as a consultant nurse at Wessex Community Trust"
ON = datetime.date(2026, 4, 30)


def notify(entitlement, by, kind, details=DETAILS, effective_on=ON):
    return services.change_notify(
        entitlement=entitlement, by=by, kind=kind, details=details, effective_on=effective_on
    )


def delegate_told(delegate, entitlement) -> bool:
    return Notification.objects.filter(
        user=delegate,
        url=reverse("entitlement_manage", args=["RDZ", entitlement.pk]),
        subject__startswith="Priya Shah reported a change",
    ).exists()


# --- The service ----------------------------------------------------------------------------


def test_no_longer_meeting_the_criteria_suspends_at_once(entitlement, referrer, delegate):
    notice = notify(entitlement, referrer, ChangeKind.CRITERIA, details="My IRMER course lapsed")
    entitlement.refresh_from_db()
    assert entitlement.state == EntitlementState.SUSPENDED
    assert "no longer meet the criteria" in entitlement.state_reason
    [suspended] = entitlement.events.filter(action=EventAction.SUSPENDED)
    assert suspended.actor == referrer
    assert Letter.objects.filter(event=suspended).exists()
    [reported] = entitlement.events.filter(action=EventAction.CHANGE_NOTIFIED)
    assert reported.actor == referrer and "My IRMER course lapsed" in reported.reason
    assert not Letter.objects.filter(event=reported).exists()
    assert (notice.kind, notice.reported_by, notice.acknowledged_at) == ("criteria", referrer, None)
    assert delegate_told(delegate, entitlement)


def test_no_longer_meeting_the_criteria_when_already_suspended_records_the_notice_only(
    entitlement, referrer, delegate
):
    services.entitlement_suspend(entitlement=entitlement, by=delegate, reason="Audit overdue")
    events = entitlement.events.count()
    notify(entitlement, referrer, ChangeKind.CRITERIA)
    entitlement.refresh_from_db()
    assert entitlement.state == EntitlementState.SUSPENDED
    assert entitlement.state_reason == "Audit overdue"
    assert list(entitlement.events.order_by("id").values_list("action", flat=True))[events:] == [
        EventAction.CHANGE_NOTIFIED
    ]


@pytest.mark.parametrize("kind", [ChangeKind.EMPLOYER, ChangeKind.ROLE])
def test_a_new_employer_or_role_ends_the_entitlement_it_is_not_transferable(
    entitlement, referrer, delegate, kind
):
    employment = entitlement.employment
    notify(entitlement, referrer, kind)
    entitlement.refresh_from_db()
    employment.refresh_from_db()
    assert entitlement.state == EntitlementState.EXPIRED
    assert "not transferable" in entitlement.state_reason
    assert "Apply again in the new role" in entitlement.state_reason
    [expired] = entitlement.events.filter(action=EventAction.EXPIRED)
    assert expired.actor == referrer
    assert Letter.objects.filter(event=expired).exists()
    assert Notification.objects.filter(user=referrer, subject="Your entitlement has ended").exists()
    assert delegate_told(delegate, entitlement)
    # Leaving the employer ends the employment too; a new role at the same one does not.
    assert employment.ends_on == (ON if kind == ChangeKind.EMPLOYER else None)


def test_leaving_ends_every_live_entitlement_of_that_employment(
    entitlement, referrer, supervisor, delegate, trust, catalogue
):
    evaluation = grant(
        apply(
            referrer,
            trust,
            [catalogue["mr_knee"]],
            supervisor=supervisor,
            until="endorsed",
            kind="clinical_evaluation",
        ),
        delegate,
    )
    notify(entitlement, referrer, ChangeKind.EMPLOYER)
    evaluation.refresh_from_db()
    assert evaluation.state == EntitlementState.EXPIRED
    assert entitlement.reference in evaluation.state_reason
    assert not selectors.live_entitlements_of_employment(entitlement.employment_id).exists()
    assert delegate_told(delegate, evaluation)


@pytest.mark.parametrize("kind", [ChangeKind.DEPARTMENT, ChangeKind.LEAVE])
def test_a_new_department_or_leave_is_for_the_delegate_to_decide(
    entitlement, referrer, delegate, kind
):
    letters = Letter.objects.count()
    notice = notify(entitlement, referrer, kind, details="Moving to the MIU from May")
    entitlement.refresh_from_db()
    assert entitlement.state == EntitlementState.ACTIVE
    assert entitlement.employment.ends_on is None
    assert Letter.objects.count() == letters
    assert list(selectors.change_notices_open_of(entitlement)) == [notice]
    assert delegate_told(delegate, entitlement)


def test_only_the_referrer_can_notify_a_change(entitlement, delegate, other_referrer):
    before = snapshot(entitlement)
    for someone in (delegate, other_referrer):
        with pytest.raises(PermissionDenied):
            notify(entitlement, someone, ChangeKind.CRITERIA)
    assert snapshot(entitlement) == before


@pytest.mark.parametrize(
    ("kind", "details", "effective_on", "field", "message"),
    [
        ("promotion", DETAILS, ON, "kind", "Select what has changed"),
        ("criteria", "   ", ON, "details", "Tell us what has changed"),
        ("criteria", "x" * 2001, ON, "details", "2,000 characters or fewer"),
        ("criteria", DETAILS, None, "effective_on", "Enter the date of the change"),
    ],
)
def test_a_change_that_is_not_complete_is_refused_and_changes_nothing(
    entitlement, referrer, kind, details, effective_on, field, message
):
    before = snapshot(entitlement)
    with pytest.raises(ValidationError) as refused:
        notify(entitlement, referrer, kind, details=details, effective_on=effective_on)
    assert message in refused.value.message_dict[field][0]
    assert snapshot(entitlement) == before


def test_marking_a_notice_seen_is_recorded_once_and_on_the_timeline(
    entitlement, referrer, delegate, governance_lead
):
    notice = notify(entitlement, referrer, ChangeKind.LEAVE, details="Maternity leave")
    services.change_notice_acknowledge(notice=notice, by=delegate)
    services.change_notice_acknowledge(notice=notice, by=governance_lead)
    notice.refresh_from_db()
    assert notice.acknowledged_by == delegate
    assert not selectors.change_notices_open_of(entitlement).exists()
    assert notice.history.count() == 2  # reported, seen
    titles = [entry.title for entry in selectors.timeline_of(entitlement)]
    # The report is one entry (its event), and its being seen another.
    assert titles.count("Change notified") == 1
    assert titles[-1] == "Reported change seen: i am going on extended leave"


# --- The page -----------------------------------------------------------------------------


def post(client, entitlement, kind, **overrides):
    data = {
        "kind": kind,
        "details": DETAILS,
        "effective_on_day": "30",
        "effective_on_month": "4",
        "effective_on_year": "2026",
        **overrides,
    }
    return client.post(reverse("change_notify", args=[entitlement.pk]), data)


def test_the_form_says_what_each_kind_of_change_does(client, entitlement, referrer):
    client.force_login(referrer)
    body = client.get(reverse("change_notify", args=[entitlement.pk])).content.decode()
    assert body.count("<h1") == 1
    assert "I no longer meet the criteria" in body
    assert "Your entitlement will be suspended straight away" in body
    assert body.count("Your entitlement will end: it cannot move with you") == 2
    assert body.count("Your entitlement delegate will be told and will decide") == 2
    assert 'name="effective_on_day"' in body


@pytest.mark.parametrize(
    ("kind", "state", "says"),
    [
        ("criteria", EntitlementState.SUSPENDED, "has been suspended"),
        ("employer", EntitlementState.EXPIRED, "cannot move with you to a new role or employer"),
        ("role", EntitlementState.EXPIRED, "You can apply again in your new role"),
        ("department", EntitlementState.ACTIVE, "has not changed"),
        ("leave", EntitlementState.ACTIVE, "will decide whether anything needs to change"),
    ],
)
def test_each_kind_of_change_through_the_page_does_what_it_says(
    client, entitlement, referrer, kind, state, says
):
    client.force_login(referrer)
    response = post(client, entitlement, kind)
    notice = ChangeNotice.objects.get(entitlement=entitlement)
    assert response.status_code == 302
    assert response["Location"] == reverse("change_notified", args=[entitlement.pk, notice.pk])
    entitlement.refresh_from_db()
    assert entitlement.state == state
    assert notice.kind == kind and notice.effective_on == ON and notice.details == DETAILS
    body = client.get(response["Location"]).content.decode()
    assert "Your change has been recorded" in body
    assert says in body


def test_a_change_with_missing_answers_shows_every_error_and_records_nothing(
    client, entitlement, referrer
):
    client.force_login(referrer)
    before = snapshot(entitlement)
    response = post(
        client, entitlement, "", details="", effective_on_day="31", effective_on_month="2"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in body
    assert "Select what has changed" in body
    assert "Tell us what has changed" in body
    assert "Enter a real date" in body
    assert "<title>Error: Tell us about a change" in body
    assert snapshot(entitlement) == before


def test_an_ended_entitlement_has_nothing_to_change(client, entitlement, referrer, delegate):
    services.entitlement_revoke(entitlement=entitlement, by=delegate, reason="Repeated misuse")
    client.force_login(referrer)
    response = client.get(reverse("change_notify", args=[entitlement.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("entitlement", args=[entitlement.pk])
    before = snapshot(entitlement)
    response = post(client, entitlement, "criteria")
    assert response.status_code == 200
    assert "is revoked, so there is nothing to change" in response.content.decode()
    assert snapshot(entitlement) == before


def test_another_referrers_confirmation_is_not_found(client, entitlement, referrer, other_referrer):
    notice = notify(entitlement, referrer, ChangeKind.LEAVE)
    client.force_login(other_referrer)
    url = reverse("change_notified", args=[entitlement.pk, notice.pk])
    assert client.get(url).status_code == 404
