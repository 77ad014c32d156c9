"""Procedure versions: one in force on any date; published versions never change."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from entitlements import selectors, services
from entitlements.models import ProcedureStatus, ProcedureVersion

from .conftest import TODAY, form_data, rules

D = datetime.date


@pytest.fixture
def three_published(trust, org_admin, make_draft):
    """Versions starting 1 April 2026, 1 October 2026 and 1 January 2027, published in
    turn (each on its own day, so each start date is still in the future)."""
    versions = []
    for start in (D(2026, 4, 1), D(2026, 10, 1), D(2027, 1, 1)):
        draft = make_draft(effective_from=start)
        versions.append(
            services.procedure_version_publish(version=draft, by=org_admin, today=TODAY)
        )
    return versions


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (D(2026, 3, 31), None),  # the day before the first starts
        (D(2026, 4, 1), 0),  # its first day
        (D(2026, 7, 15), 0),
        (D(2026, 9, 30), 0),  # the last day of the first
        (D(2026, 10, 1), 1),  # the second's first day
        (D(2026, 12, 31), 1),
        (D(2027, 1, 1), 2),
        (D(2035, 1, 1), 2),
    ],
)
def test_exactly_one_version_is_in_force_on_any_date(trust, three_published, on, expected):
    in_force = selectors.procedure_version_in_force(trust, on)
    if expected is None:
        assert in_force is None
    else:
        assert in_force == three_published[expected]


def test_drafts_are_never_in_force(trust, make_draft):
    make_draft(effective_from=D(2026, 4, 1))
    assert selectors.procedure_version_in_force(trust, D(2027, 1, 1)) is None


def test_a_draft_is_numbered_after_the_highest_version(trust, make_draft):
    assert [make_draft().number for _ in range(3)] == [1, 2, 3]
    assert trust.procedure.title == "Non-medical referrer entitlement procedure"


def test_the_first_draft_needs_a_procedure_title(trust, org_admin):
    with pytest.raises(ValidationError) as error:
        services.procedure_version_create_draft(
            organisation=trust, rules=rules(), training_rules=[], by=org_admin
        )
    assert "procedure_title" in error.value.message_dict


def test_publishing_records_who_and_when(org_admin, make_draft, today):
    version = services.procedure_version_publish(version=make_draft(), by=org_admin)
    version.refresh_from_db()
    assert version.status == ProcedureStatus.PUBLISHED
    assert version.published_by == org_admin
    assert version.published_at is not None


def test_publishing_with_a_start_date_today_is_allowed(org_admin, make_draft, today):
    version = make_draft(effective_from=today)
    services.procedure_version_publish(version=version, by=org_admin)
    version.refresh_from_db()
    assert version.is_published


def test_publishing_with_a_start_date_in_the_past_is_refused(org_admin, make_draft, today):
    version = make_draft(effective_from=D(2026, 3, 1))
    with pytest.raises(ValidationError) as error:
        services.procedure_version_publish(version=version, by=org_admin)
    assert "in the past" in error.value.messages[0]
    version.refresh_from_db()
    assert version.status == ProcedureStatus.DRAFT
    assert version.published_by is None


@pytest.mark.parametrize("start", [D(2026, 6, 1), D(2026, 5, 1)])
def test_publishing_a_start_date_not_after_the_latest_published_is_refused(
    org_admin, make_draft, today, start
):
    services.procedure_version_publish(
        version=make_draft(effective_from=D(2026, 6, 1)), by=org_admin
    )
    version = make_draft(effective_from=start)
    with pytest.raises(ValidationError) as error:
        services.procedure_version_publish(version=version, by=org_admin)
    assert "must be after 1 June 2026" in error.value.messages[0]
    version.refresh_from_db()
    assert version.status == ProcedureStatus.DRAFT


def test_a_published_version_cannot_be_published_again(org_admin, make_draft, today):
    version = services.procedure_version_publish(version=make_draft(), by=org_admin)
    with pytest.raises(ValidationError, match="is published"):
        services.procedure_version_publish(version=version, by=org_admin)


def test_the_service_refuses_to_change_a_published_version(org_admin, make_draft, today):
    version = services.procedure_version_publish(version=make_draft(), by=org_admin)
    with pytest.raises(ValidationError, match="cannot be changed"):
        services.procedure_version_update_draft(
            version=version, rules=rules(grace_days=1), training_rules=[], by=org_admin
        )
    version.refresh_from_db()
    assert version.grace_days == 30
    assert version.training_rules.count() == 2


def test_a_draft_update_replaces_its_training_rules(org_admin, make_draft):
    version = make_draft()
    services.procedure_version_update_draft(
        version=version,
        rules=rules(grace_days=10),
        training_rules=[services.TrainingRuleData("mri_safety", "mri", 12)],
        by=org_admin,
    )
    version.refresh_from_db()
    assert version.grace_days == 10
    assert [(r.training_kind, r.validity_months) for r in version.training_rules.all()] == [
        ("mri_safety", 12)
    ]


def test_the_edit_page_of_a_published_version_shows_a_message_not_a_form(
    client, trust, org_admin, make_draft, today
):
    version = services.procedure_version_publish(version=make_draft(), by=org_admin)
    client.force_login(org_admin)
    url = reverse("procedure_version_edit", args=["RDZ", version.number])

    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Version 1 is published" in html
    assert "<form" not in html.split('id="maincontent"')[-1]

    response = client.post(url, form_data(grace_days="1"))
    assert response.status_code == 409
    assert "cannot be changed" in response.content.decode()
    version.refresh_from_db()
    assert version.grace_days == 30


def test_the_publish_page_of_a_published_version_shows_a_message(
    client, org_admin, make_draft, today
):
    version = services.procedure_version_publish(version=make_draft(), by=org_admin)
    client.force_login(org_admin)
    response = client.post(reverse("procedure_version_publish", args=["RDZ", version.number]))
    assert response.status_code == 409
    assert "Version 1 is published" in response.content.decode()


def test_the_publish_page_explains_a_refusal(client, org_admin, make_draft, today):
    version = make_draft(effective_from=D(2026, 3, 1))
    client.force_login(org_admin)
    url = reverse("procedure_version_publish", args=["RDZ", version.number])

    page = client.get(url).content.decode()
    assert "This version cannot be published yet" in page
    assert "in the past" in page
    assert "Publish version 1</button>" not in page.replace("\n", "").replace("  ", "")

    response = client.post(url)
    assert response.status_code == 200
    assert "in the past" in response.content.decode()
    version.refresh_from_db()
    assert version.status == ProcedureStatus.DRAFT


def test_publishing_through_the_page(client, org_admin, make_draft, today):
    version = make_draft()
    client.force_login(org_admin)
    response = client.post(reverse("procedure_version_publish", args=["RDZ", version.number]))
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.is_published and version.published_by == org_admin
    assert "in force from 1 April 2026" in client.get(response.url).content.decode()


def test_a_new_draft_through_the_page_creates_the_procedure(client, trust, org_admin, today):
    client.force_login(org_admin)
    url = reverse("procedure_version_add", args=["RDZ"])
    page = client.get(url).content.decode()
    assert "Procedure title" in page

    response = client.post(url, form_data(procedure_title="Referrer entitlement procedure"))

    assert response.status_code == 302, response.content.decode()
    version = ProcedureVersion.objects.get(procedure__organisation=trust)
    assert response.url == reverse("procedure_version", args=["RDZ", 1])
    assert version.procedure.title == "Referrer entitlement procedure"
    assert version.warning_lead_days == [60, 30, 7]
    assert version.created_by == org_admin
    assert sorted(version.training_rules.values_list("training_kind", "validity_months")) == [
        ("contrast_safety", 24),
        ("radiation_protection", 36),
        ("referral_guidelines", 24),
    ]


def test_a_new_draft_is_filled_in_from_the_latest_version(client, org_admin, make_draft, today):
    make_draft(grace_days=45, warning_lead_days=[90, 14])
    client.force_login(org_admin)
    response = client.get(reverse("procedure_version_add", args=["RDZ"]))
    form = response.context_data["form"]
    assert "procedure_title" not in form.fields
    assert form.initial["grace_days"] == 45
    assert form.initial["warning_lead_days"] == "90, 14"
    assert form.initial["radiation_protection_validity_months"] == 36
    assert "effective_from" not in form.initial
    assert "copied from version 1" in response.content.decode()


def post_draft(client, **overrides):
    return client.post(reverse("procedure_version_add", args=["RDZ"]), form_data(**overrides))


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"audit_overdue_action": "suspend", "audit_overdue_suspend_after_days": ""},
            "audit_overdue_suspend_after_days",
            "Enter how many days after the audit due date to suspend",
        ),
        ({"warning_lead_days": "60, thirty"}, "warning_lead_days", "like 60, 30, 7"),
        ({"warning_lead_days": "30, 30"}, "warning_lead_days", "only be given once"),
        ({"warning_lead_days": "400"}, "warning_lead_days", "365 days or fewer"),
        ({"warning_lead_days": ""}, "warning_lead_days", "at least one warning"),
        ({"review_interval_months": "0"}, "review_interval_months", "between 1 and 60"),
        ({"review_interval_months": "x"}, "review_interval_months", "whole number"),
        ({"feedback_window_months": "40"}, "feedback_window_months", "between 1 and 36"),
        (
            {"audit_compliance_standard_percent": "101"},
            "audit_compliance_standard_percent",
            "between 1% and 100%",
        ),
        ({"grace_days": "-1"}, "grace_days", "0 or more"),
        ({"lapse_action": ""}, "lapse_action", "Select what happens when training lapses"),
        (
            {"effective_from_day": "31", "effective_from_month": "2"},
            "effective_from",
            "Enter a real date",
        ),
        (
            {"effective_from_day": "1", "effective_from_month": "3"},
            "effective_from",
            "today or in the future",
        ),
        (
            {"mri_safety_required_for": "mri"},
            "mri_safety_validity_months",
            "Enter how many months MRI safety stays valid",
        ),
        (
            {"radiation_protection_validity_months": "121"},
            "radiation_protection_validity_months",
            "1 to 120 months",
        ),
        ({"mri_safety_validity_months": "12"}, "mri_safety_required_for", "Select which scopes"),
    ],
)
def test_rule_problems_are_shown_on_their_field_never_a_500(
    client, trust, org_admin, make_draft, today, overrides, field, message
):
    make_draft()  # so no title is asked for
    client.force_login(org_admin)
    response = post_draft(client, **overrides)
    assert response.status_code == 200
    errors = response.context_data["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    html = response.content.decode()
    assert "There is a problem" in html
    assert html.count("<h1") == 1
    assert ProcedureVersion.objects.count() == 1


def test_a_start_date_not_after_the_latest_published_is_a_field_error(
    client, org_admin, make_draft, today
):
    services.procedure_version_publish(
        version=make_draft(effective_from=D(2026, 6, 1)), by=org_admin
    )
    client.force_login(org_admin)
    response = post_draft(client, effective_from_day="1", effective_from_month="5")
    assert "must be after 1 June 2026" in " ".join(
        response.context_data["form"].errors["effective_from"]
    )


def test_editing_a_draft_through_the_page(client, org_admin, make_draft, today):
    version = make_draft()
    client.force_login(org_admin)
    url = reverse("procedure_version_edit", args=["RDZ", version.number])
    assert client.get(url).context_data["form"].initial["grace_days"] == 30
    response = client.post(
        url,
        form_data(grace_days="", mri_safety_required_for="mri", mri_safety_validity_months="12"),
    )
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.grace_days is None
    assert version.training_rules.filter(training_kind="mri_safety").exists()
