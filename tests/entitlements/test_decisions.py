"""A delegate's queue, and decisions made through the pages (principle 1): grant as
requested, grant a narrower scope, decline, return; and who may not decide."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from dateutil.relativedelta import relativedelta
from django.urls import reverse

from entitlements.models import (
    Application,
    ApplicationStatus,
    Decision,
    Entitlement,
    ProcedureVersion,
    ScopeItem,
)
from entitlements.selectors import Authority
from entitlements.views.decisions import ApplicationMixin
from referrers import services as people_services
from referrers.models import DelegateAppointment, Notification, Role
from tests.factories import EmploymentFactory, ReferrerProfileFactory, UserFactory, give_role
from tests.journeys import apply, pdf_upload

LONDON = ZoneInfo("Europe/London")
TODAY = datetime.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def today():
    """2 March 2026, midday in London; the procedure and appointments started in 2025."""
    with time_machine.travel(datetime.datetime(2026, 3, 2, 12, 0, tzinfo=LONDON), tick=False):
        yield TODAY


# --- Helpers ------------------------------------------------------------------------------


def review_url(application, ods="RDZ") -> str:
    return reverse("application_review", args=[ods, application.pk])


def decide_url(application, ods="RDZ") -> str:
    return reverse("application_decide", args=[ods, application.pk])


def narrow_url(application, ods="RDZ") -> str:
    return reverse("application_narrow", args=[ods, application.pk])


def fresh(application) -> Application:
    return Application.objects.get(pk=application.pk)


def nothing_decided(application) -> bool:
    return (
        fresh(application).status == ApplicationStatus.UNDER_REVIEW
        and not Decision.objects.filter(application=application).exists()
        and not Entitlement.objects.filter(application=application).exists()
    )


def items_of(application):
    return list(application.scope_items.order_by("id"))


def narrow_data(application, *, rationale="Within the ED protocol.", reasons="", **changes):
    """What the narrow page posts when nothing is changed; `changes` maps
    `item-<id>-<field>` to a new value (None removes the field, as an unticked box does)."""
    data = {"rationale": rationale, "narrowing_reasons": reasons}
    for item in items_of(application):
        prefix = f"item-{item.pk}-"
        data.update(
            {
                prefix + "include": "on",
                prefix + "age_min": str(item.age_min),
                prefix + "age_max": "" if item.age_max is None else str(item.age_max),
                prefix + "settings": list(item.settings),
                prefix + "clinical_indications": item.clinical_indications,
                prefix + "exclusions": item.exclusions,
            }
        )
    for name, value in changes.items():
        name = name.replace("_", "-", 2) if name.startswith("item_") else name
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def item_field(item, field: str) -> str:
    return f"item-{item.pk}-{field}"


def make_referrer(trust, supervisor, *, email: str, name: str):
    profile = ReferrerProfileFactory(user=UserFactory(email=email, full_name=name))
    EmploymentFactory(referrer=profile, organisation=trust, clinical_supervisor=supervisor)
    give_role(profile.user, trust, Role.REFERRER)
    return profile.user


# --- The queue ----------------------------------------------------------------------------


def test_queue_shows_days_waiting_longest_first(
    client, trust, referrer, supervisor, catalogue, procedure, delegate
):
    with time_machine.travel(datetime.datetime(2026, 2, 27, 9, 0, tzinfo=LONDON), tick=False):
        recent = apply(
            referrer, trust, [catalogue["xr_chest"]], supervisor=supervisor, until="endorsed"
        )
    ravi = make_referrer(trust, supervisor, email="ravi@example.nhs.uk", name="Ravi Rao")
    with time_machine.travel(datetime.datetime(2026, 2, 19, 9, 0, tzinfo=LONDON), tick=False):
        older = apply(
            ravi,
            trust,
            [catalogue["ct_head"], catalogue["mr_knee"]],
            supervisor=supervisor,
            until="endorsed",
        )
    tom = make_referrer(trust, supervisor, email="tom@example.nhs.uk", name="Tom Waiting")
    waiting = apply(tom, trust, [catalogue["xr_chest"]], supervisor=supervisor, until="submitted")

    client.force_login(delegate)
    response = client.get(reverse("application_queue", args=["RDZ"]))
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count("<h1") == 1
    # Ravi's, submitted on 19 February, comes before Priya's of 27 February.
    assert body.index(older.reference) < body.index(recent.reference)
    assert "11 days" in body and "3 days" in body
    assert review_url(older) in body and review_url(recent) in body
    assert "CT, MR" in body  # the modalities Ravi asks for
    assert "2 applications, longest waiting first" in body
    # Tom's waits for his supervisor: counted in its own section, not in the queue.
    assert "1 application is waiting for the referrer's clinical supervisor" in body
    assert waiting.reference in body
    assert review_url(waiting) not in body


def test_queue_names_the_entitlement_a_variation_changes(client, entitlement, referrer, delegate):
    from entitlements import services

    variation = services.variation_start(entitlement=entitlement, by=referrer)
    services.evidence_add(application=variation, by=referrer, upload=pdf_upload(), kind="training")
    services.application_submit(application=variation, by=referrer)
    supervisor = variation.clinical_supervisor
    services.application_endorse(application=variation, by=supervisor, outcome="endorsed")
    client.force_login(delegate)
    body = client.get(reverse("application_queue", args=["RDZ"])).content.decode()
    assert f"Variation of {entitlement.reference}" in body


def test_queue_lists_changes_reported_by_referrers(client, entitlement, referrer, delegate):
    from entitlements import services

    services.change_notify(
        entitlement=entitlement,
        by=referrer,
        kind="leave",
        details="Maternity leave from April.",
        effective_on=datetime.date(2026, 4, 1),
    )
    client.force_login(delegate)
    body = client.get(reverse("application_queue", args=["RDZ"])).content.decode()
    assert "1 change has been reported and not yet acknowledged" in body
    assert reverse("entitlement_manage", args=["RDZ", entitlement.pk]) in body
    assert "I am going on extended leave" in body and "1 Apr 2026" in body


def test_delegate_home_counts_the_applications_waiting(client, endorsed_application, delegate):
    client.force_login(delegate)
    body = client.get(reverse("delegate_home", args=["RDZ"])).content.decode()
    assert "1 application is waiting for a decision" in body
    assert "The longest has waited less than a day" in body
    assert reverse("application_queue", args=["RDZ"]) in body


# --- Reviewing ----------------------------------------------------------------------------


def test_review_shows_the_application_and_the_way_to_decide(
    client, endorsed_application, delegate, supervisor
):
    client.force_login(delegate)
    body = client.get(review_url(endorsed_application)).content.decode()
    assert body.count("<h1") == 1
    assert "Priya Shah" in body and endorsed_application.reference in body
    assert "ED advanced practice needs plain film and CT head requests." in body
    assert "XR Chest" in body and "CT Head with contrast" in body
    assert "Endorsed</strong> by Sue Supervisor" in body
    evidence = endorsed_application.evidence.get()
    assert reverse("evidence_download", args=[evidence.pk]) in body
    assert decide_url(endorsed_application) in body
    assert "Board paper 2025/01" in body  # the appointment they would decide under


def test_decide_page_offers_the_four_decisions(client, endorsed_application, delegate):
    client.force_login(delegate)
    body = client.get(decide_url(endorsed_application)).content.decode()
    for label in (
        "Grant as requested",
        "Grant a narrower scope",
        "Decline",
        "Return for more information",
    ):
        assert label in body
    assert 'name="rationale"' in body


# --- Granting as requested ----------------------------------------------------------------


def test_grant_as_requested(client, endorsed_application, delegate, procedure, referrer):
    ProcedureVersion.objects.filter(pk=procedure.pk).update(review_interval_months=18)
    requested = items_of(endorsed_application)
    client.force_login(delegate)
    response = client.post(
        decide_url(endorsed_application),
        {"outcome": "granted", "rationale": "Meets RAD-POL-012 section 4."},
    )
    entitlement = Entitlement.objects.get(application=endorsed_application)
    assert response.status_code == 302
    assert response["Location"] == reverse("entitlement_manage", args=["RDZ", entitlement.pk])

    appointment = DelegateAppointment.objects.get(delegate=delegate)
    decision = Decision.objects.get(application=endorsed_application)
    assert (decision.outcome, decision.delegate, decision.appointment) == (
        "granted",
        delegate,
        appointment,
    )
    assert decision.rationale == "Meets RAD-POL-012 section 4."
    assert entitlement.decision == decision
    assert entitlement.granted_by == delegate
    assert entitlement.delegate_appointment == appointment
    assert entitlement.procedure_version == procedure
    assert entitlement.review_due_on == TODAY + relativedelta(months=18)
    assert entitlement.state == "active"
    granted = [
        (i.examination_id, i.group_id, i.conditions()) for i in entitlement.scope_items.all()
    ]
    assert granted == [(i.examination_id, i.group_id, i.conditions()) for i in requested]
    assert fresh(endorsed_application).status == ApplicationStatus.GRANTED
    assert Notification.objects.filter(user=referrer, subject__icontains="granted").exists()
    # The success message waits on the next page.
    body = client.get(reverse("application_queue", args=["RDZ"])).content.decode()
    assert f"Priya Shah has been granted {entitlement.reference}" in body


def test_rationale_is_required(client, endorsed_application, delegate):
    client.force_login(delegate)
    response = client.post(decide_url(endorsed_application), {"outcome": "granted"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "There is a problem" in body
    assert "Enter the rationale for your decision" in body
    assert nothing_decided(endorsed_application)


def test_a_decision_must_be_chosen(client, endorsed_application, delegate):
    client.force_login(delegate)
    response = client.post(decide_url(endorsed_application), {"rationale": "Fine."})
    assert "Select a decision" in response.content.decode()
    assert nothing_decided(endorsed_application)


# --- Declining and returning --------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "status", "told"),
    [
        ("declined", ApplicationStatus.DECLINED, "declined"),
        ("returned", ApplicationStatus.RETURNED, "returned for more information"),
    ],
)
def test_decline_and_return(
    client, endorsed_application, delegate, referrer, outcome, status, told
):
    client.force_login(delegate)
    rationale = "The competency sign-off does not cover CT head."
    response = client.post(
        decide_url(endorsed_application), {"outcome": outcome, "rationale": rationale}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("application_queue", args=["RDZ"])
    assert fresh(endorsed_application).status == status
    decision = Decision.objects.get(application=endorsed_application)
    assert (decision.outcome, decision.rationale, decision.delegate) == (
        outcome,
        rationale,
        delegate,
    )
    assert not Entitlement.objects.exists()
    notice = Notification.objects.get(user=referrer, body=rationale)
    assert told in notice.subject
    body = client.get(response["Location"]).content.decode()
    assert endorsed_application.reference in body  # in the success message
    assert review_url(endorsed_application) not in body  # no longer in the queue


def test_a_decided_application_shows_its_status_and_cannot_be_decided_again(
    client, endorsed_application, delegate
):
    client.force_login(delegate)
    client.post(decide_url(endorsed_application), {"outcome": "declined", "rationale": "No."})
    body = client.get(review_url(endorsed_application)).content.decode()
    assert "This application is declined" in body
    assert decide_url(endorsed_application) not in body
    assert "Declined</strong> by Dana Delegate" in body
    response = client.post(
        decide_url(endorsed_application), {"outcome": "granted", "rationale": "Yes after all."}
    )
    assert response.status_code == 302
    assert response["Location"] == review_url(endorsed_application)
    assert Decision.objects.filter(application=endorsed_application).count() == 1
    assert fresh(endorsed_application).status == ApplicationStatus.DECLINED
    assert "so it cannot be decided now" in client.get(response["Location"]).content.decode()


# --- Granting a narrower scope ------------------------------------------------------------


def test_narrower_grant_removes_an_item_and_tightens_conditions(
    client, endorsed_application, delegate
):
    xr, ct = items_of(endorsed_application)
    client.force_login(delegate)
    response = client.post(
        decide_url(endorsed_application),
        {"outcome": "granted_narrower", "rationale": "Plain film only for now."},
    )
    assert response.status_code == 302
    assert response["Location"] == narrow_url(endorsed_application)
    assert nothing_decided(endorsed_application)

    page = client.get(narrow_url(endorsed_application)).content.decode()
    assert "Plain film only for now." in page  # the rationale came along
    assert f'name="{item_field(ct, "include")}"' in page
    # Each item's conditions start as they were asked for.
    assert f'name="{item_field(xr, "age_min")}" type="text" value="16"' in page
    assert f'name="{item_field(xr, "settings")}" type="checkbox" value="MIU" checked' in page
    assert f'name="{item_field(xr, "settings")}" type="checkbox" value="OUTPATIENT"\n' in page

    data = narrow_data(
        endorsed_application,
        rationale="Plain film only for now.",
        reasons="CT head needs contrast training first; adults only in ED.",
    )
    data.pop(item_field(ct, "include"))
    data[item_field(xr, "age_min")] = "18"
    data[item_field(xr, "age_max")] = "80"
    data[item_field(xr, "settings")] = ["ED"]
    response = client.post(narrow_url(endorsed_application), data)
    entitlement = Entitlement.objects.get(application=endorsed_application)
    assert response.status_code == 302
    assert response["Location"] == reverse("entitlement_manage", args=["RDZ", entitlement.pk])

    items = list(entitlement.scope_items.all())
    assert [(i.examination_id, i.age_min, i.age_max, i.settings) for i in items] == [
        (xr.examination_id, 18, 80, ["ED"])
    ]
    assert items[0].clinical_indications == xr.clinical_indications
    decision = entitlement.decision
    assert decision.outcome == "granted_narrower"
    assert decision.rationale == "Plain film only for now."
    assert decision.narrowing_reasons == "CT head needs contrast training first; adults only in ED."
    assert fresh(endorsed_application).status == ApplicationStatus.GRANTED


def test_narrow_page_works_on_its_own(client, endorsed_application, delegate):
    """Without the decide page first (no rationale carried), the rationale is asked for."""
    xr, ct = items_of(endorsed_application)
    client.force_login(delegate)
    data = narrow_data(endorsed_application, rationale="", reasons="XR only.")
    data.pop(item_field(ct, "include"))
    response = client.post(narrow_url(endorsed_application), data)
    assert "Enter the rationale for your decision" in response.content.decode()
    assert nothing_decided(endorsed_application)
    data["rationale"] = "XR only."
    assert client.post(narrow_url(endorsed_application), data).status_code == 302
    assert [i.examination_id for i in ScopeItem.objects.all()] == [xr.examination_id]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("age_min", "10", "the age range cannot be wider than requested"),
        (
            "settings",
            ["ED", "MIU", "OUTPATIENT"],
            "only settings that were requested can be granted",
        ),
    ],
)
def test_a_narrower_grant_cannot_widen(
    client, endorsed_application, delegate, field, value, message
):
    xr, ct = items_of(endorsed_application)
    client.force_login(delegate)
    data = narrow_data(endorsed_application, reasons="Adults only.")
    data.pop(item_field(ct, "include"))
    data[item_field(xr, field)] = value
    response = client.post(narrow_url(endorsed_application), data)
    assert response.status_code == 200
    body = response.content.decode()
    assert f"XR Chest (XCHES): {message}" in body
    # In the error summary, linked to the input at fault, and next to that input.
    assert f'href="#id_{item_field(xr, field)}"' in body
    assert f'id="id_{item_field(xr, field)}-error"' in body
    assert nothing_decided(endorsed_application)
    assert not ScopeItem.objects.exists()


def test_a_narrower_grant_must_narrow_something_and_say_why(client, endorsed_application, delegate):
    client.force_login(delegate)
    response = client.post(narrow_url(endorsed_application), narrow_data(endorsed_application))
    body = response.content.decode()
    assert "Say why the scope granted is narrower" in body
    response = client.post(
        narrow_url(endorsed_application), narrow_data(endorsed_application, reasons="Because.")
    )
    assert "Nothing was narrowed" in response.content.decode()
    assert nothing_decided(endorsed_application)


def test_a_narrower_grant_keeps_at_least_one_item(client, endorsed_application, delegate):
    xr, ct = items_of(endorsed_application)
    client.force_login(delegate)
    data = narrow_data(endorsed_application, reasons="Neither.")
    data.pop(item_field(xr, "include"))
    data.pop(item_field(ct, "include"))
    response = client.post(narrow_url(endorsed_application), data)
    assert "Keep at least one item, or decline the application instead" in response.content.decode()
    assert nothing_decided(endorsed_application)


def test_a_badly_typed_age_is_shown_on_its_field(client, endorsed_application, delegate):
    xr, ct = items_of(endorsed_application)
    client.force_login(delegate)
    data = narrow_data(endorsed_application, reasons="Adults.")
    data[item_field(xr, "age_min")] = "eighteen"
    # A removed item's boxes are not checked.
    data.pop(item_field(ct, "include"))
    data[item_field(ct, "age_min")] = "nonsense"
    body = client.post(narrow_url(endorsed_application), data).content.decode()
    assert "Enter the youngest age as a whole number from 0 to 130" in body
    assert f'id="id_{item_field(xr, "age_min")}-error"' in body
    assert f'id="id_{item_field(ct, "age_min")}-error"' not in body
    assert nothing_decided(endorsed_application)


# --- Who may not decide -------------------------------------------------------------------


def assert_cannot_decide(client, application, reason: str) -> None:
    """The review page says why and offers no decision; posting a decision changes nothing
    and shows the reason as a message, not a bare 403."""
    body = client.get(review_url(application)).content.decode()
    assert "You cannot decide this application" in body
    assert reason in body
    assert decide_url(application) not in body
    for url, data in (
        (decide_url(application), {"outcome": "granted", "rationale": "Looks fine."}),
        (decide_url(application), {"outcome": "declined", "rationale": "No."}),
        (narrow_url(application), narrow_data(application, reasons="Less.")),
    ):
        response = client.post(url, data)
        assert response.status_code == 302
        assert response["Location"] == review_url(application)
        assert reason in client.get(response["Location"]).content.decode()
    assert client.get(decide_url(application)).status_code == 302
    assert nothing_decided(application)


def test_a_delegate_cannot_decide_their_own_application(
    client, trust, supervisor, catalogue, procedure, delegate, org_admin
):
    profile = ReferrerProfileFactory(user=delegate)
    EmploymentFactory(referrer=profile, organisation=trust, clinical_supervisor=supervisor)
    own = apply(delegate, trust, [catalogue["xr_chest"]], supervisor=supervisor, until="endorsed")
    client.force_login(delegate)
    assert_cannot_decide(client, own, "You cannot decide your own application")
    # The queue still lists it: another delegate decides it.
    assert (
        review_url(own) in client.get(reverse("application_queue", args=["RDZ"])).content.decode()
    )


def test_a_delegate_whose_appointment_has_ended_cannot_decide(
    client, endorsed_application, delegate, org_admin
):
    appointment = DelegateAppointment.objects.get(delegate=delegate)
    people_services.delegate_appointment_end(
        appointment=appointment, ends_on=TODAY - datetime.timedelta(days=1), by=org_admin
    )
    client.force_login(delegate)
    assert_cannot_decide(
        client,
        endorsed_application,
        "You do not hold a current delegate appointment from Dorset Coast Hospitals NHS Trust",
    )


def test_an_appointment_for_xr_only_cannot_decide_a_ct_request(
    client, trust, endorsed_application, org_admin
):
    xr_delegate = UserFactory(email="xr.delegate@example.nhs.uk", full_name="Xavier Ray")
    people_services.delegate_appointment_create(
        organisation=trust,
        delegate=xr_delegate,
        valid_from=datetime.date(2025, 1, 1),
        document_reference="Board paper 2025/07",
        by=org_admin,
        all_modalities=False,
        modalities=["XR"],
    )
    client.force_login(xr_delegate)
    assert_cannot_decide(
        client, endorsed_application, "Your delegate appointment does not cover everything"
    )


def test_a_refusal_from_the_service_is_a_message_not_a_403(
    client, endorsed_application, delegate, monkeypatch
):
    """If the page thinks the delegate may decide but the service (checking inside its lock)
    finds otherwise, the delegate sees why and nothing changes."""
    appointment = DelegateAppointment.objects.get(delegate=delegate)
    people_services.delegate_appointment_end(
        appointment=appointment, ends_on=TODAY - datetime.timedelta(days=1), by=delegate
    )
    monkeypatch.setattr(ApplicationMixin, "get_authority", lambda self: Authority(appointment))
    client.force_login(delegate)
    response = client.post(
        decide_url(endorsed_application), {"outcome": "granted", "rationale": "Fine."}
    )
    assert response.status_code == 302
    assert response["Location"] == review_url(endorsed_application)
    monkeypatch.undo()
    body = client.get(response["Location"]).content.decode()
    assert "You do not hold a current delegate appointment" in body
    assert "Nothing has been changed" in body
    assert nothing_decided(endorsed_application)


ORGANISATION_PAGES = ["review", "decide", "narrow"]


@pytest.mark.parametrize("page", ORGANISATION_PAGES)
def test_another_employers_delegate_is_refused(
    client, endorsed_application, other_trust_delegate, page
):
    client.force_login(other_trust_delegate)
    url = {"review": review_url, "decide": decide_url, "narrow": narrow_url}[page](
        endorsed_application
    )
    assert client.get(reverse("application_queue", args=["RDZ"])).status_code == 403
    assert client.get(url).status_code == 403
    assert client.post(url, {"outcome": "granted", "rationale": "Fine."}).status_code == 403
    # Under their own organisation's address, the trust's application does not exist.
    own = {"review": review_url, "decide": decide_url, "narrow": narrow_url}[page](
        endorsed_application, ods="RX9"
    )
    assert client.get(own).status_code == 404
    if page != "review":
        assert client.post(own, {"outcome": "granted", "rationale": "Fine."}).status_code == 404
    assert nothing_decided(endorsed_application)


@pytest.mark.parametrize("persona", ["referrer", "supervisor", "governance_lead", "practitioner"])
def test_people_who_are_not_delegates_are_refused(client, request, endorsed_application, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("application_queue", args=["RDZ"])).status_code == 403
    assert client.get(review_url(endorsed_application)).status_code == 403
    response = client.post(
        decide_url(endorsed_application), {"outcome": "granted", "rationale": "Fine."}
    )
    assert response.status_code == 403
    assert nothing_decided(endorsed_application)


def test_a_draft_is_not_visible_to_delegates(
    client, trust, referrer, supervisor, catalogue, procedure, delegate
):
    draft = apply(referrer, trust, [catalogue["xr_chest"]], supervisor=supervisor, until="draft")
    client.force_login(delegate)
    assert client.get(review_url(draft)).status_code == 404
    assert (
        client.post(decide_url(draft), {"outcome": "granted", "rationale": "x"}).status_code == 404
    )
