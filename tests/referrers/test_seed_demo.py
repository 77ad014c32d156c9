"""`seed_demo`: loads enough to try every role, twice without change, never in production."""

import io

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from entitlements import selectors as entitlement_selectors
from entitlements.modalities import IONISING_MODALITIES, Modality
from entitlements.models import Examination, ProcedureStatus
from referrers import demo_data
from referrers.models import (
    DelegateAppointment,
    Employment,
    Organisation,
    OrganisationKind,
    OrganisationRole,
    ReferrerProfile,
    Role,
    SharedResponsibilityAgreement,
    User,
)
from referrers.regulators import validate_registration
from referrers.selectors import role_homes

pytestmark = pytest.mark.django_db

DEMO_ROLES = {
    "referrer@demo.example": Role.REFERRER,
    "supervisor@demo.example": Role.CLINICAL_SUPERVISOR,
    "delegate@demo.example": Role.ENTITLEMENT_DELEGATE,
    "governance@demo.example": Role.GOVERNANCE_LEAD,
    "practitioner@demo.example": Role.IRMER_PRACTITIONER,
    "admin@demo.example": Role.ORGANISATION_ADMINISTRATOR,
}


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    """Rows in every table of the project's apps, history tables included."""
    return {
        model._meta.label: model._default_manager.count()
        for app in ("referrers", "entitlements", "training", "audits", "guardian")
        for model in apps.get_app_config(app).get_models()
    }


@pytest.fixture
def seeded():
    return seed()


def test_a_second_run_changes_nothing(seeded):
    before = row_counts()

    output = seed()

    assert row_counts() == before
    assert "nothing changed" in output


def test_prints_the_url_each_demo_sign_in_and_the_password(seeded):
    # `make run` shows this block to a new user.
    assert "http://127.0.0.1:8000/" in seeded
    for email in [*DEMO_ROLES, "superuser@demo.example"]:
        assert email in seeded
    assert "demo-password-2026" in seeded


def test_the_acute_trust_has_departments_a_catalogue_and_a_procedure_in_force(seeded):
    ics = Organisation.objects.get(kind=OrganisationKind.ICS)
    members = Organisation.objects.exclude(pk=ics.pk)
    assert members.filter(kind=OrganisationKind.NHS_TRUST).count() == 2
    assert members.filter(kind=OrganisationKind.GP_PRACTICE).count() == 2
    assert all(o.parent_id == ics.pk for o in members)
    for organisation in Organisation.objects.all():
        organisation.full_clean()  # ODS codes in the right format for each kind
    acute = Organisation.objects.get(ods_code=demo_data.ACUTE_TRUST)
    assert acute.departments.filter(name="Emergency department").exists()

    examinations = Examination.objects.filter(organisation=acute)
    assert examinations.count() >= 40
    assert set(examinations.values_list("modality", flat=True)) == set(Modality.values)
    for examination in examinations:
        assert examination.ionising == (examination.modality in IONISING_MODALITIES)
        assert examination.mri == (examination.modality == Modality.MR)
    assert examinations.filter(modality=Modality.CT, contrast=True).exists()
    assert acute.examination_groups.filter(name="Plain film, appendicular skeleton").exists()

    version = entitlement_selectors.procedure_version_in_force(acute, timezone.localdate())
    assert version is not None
    assert version.status == ProcedureStatus.PUBLISHED
    assert version.warning_lead_days == [60, 30, 7]
    assert version.grace_days == 14
    assert {
        r.training_kind: (r.required_for, r.validity_months) for r in version.training_rules.all()
    } == {
        "radiation_protection": ("ionising", 36),
        "contrast_safety": ("contrast", 24),
        "mri_safety": ("mri", 12),
        "referral_guidelines": ("all", 36),
    }


def test_at_least_thirty_referrers_with_valid_registrations(seeded):
    profiles = ReferrerProfile.objects.all()

    assert profiles.count() >= 30
    assert len(set(profiles.values_list("profession", flat=True))) >= 5
    for profile in profiles:
        validate_registration(profile.regulator, profile.registration_number, profile.profession)
        assert profile.employments.exists()
    today = timezone.localdate()
    assert profiles.filter(registration_expires_on__lt=today).count() in (1, 2, 3)
    assert Employment.objects.exclude(organisation__ods_code=demo_data.ACUTE_TRUST).exists()
    assert not Employment.objects.filter(clinical_supervisor__isnull=True).exists()
    assert OrganisationRole.objects.filter(role=Role.REFERRER).count() >= 30


def test_one_demo_sign_in_per_role_that_lands_on_that_role(seeded):
    for email, role in DEMO_ROLES.items():
        user = User.objects.get(email=email)
        assert user.check_password(demo_data.DEMO_PASSWORD)
        assert [home.role for home in role_homes(user)] == [role], email
    superuser = User.objects.get(email="superuser@demo.example")
    assert superuser.is_superuser and superuser.is_staff
    assert superuser.check_password(demo_data.DEMO_PASSWORD)

    employment = Employment.objects.get(referrer__user__email="referrer@demo.example")
    assert employment.clinical_supervisor.email == "supervisor@demo.example"
    assert employment.organisation.ods_code == demo_data.ACUTE_TRUST
    assert employment.referrer.profession == "nurse"


def test_the_delegate_appointment_and_agreement_name_who_made_them(seeded):
    appointment = DelegateAppointment.objects.get(delegate__email="delegate@demo.example")
    assert appointment.all_modalities
    assert appointment.appointed_by.email == "admin@demo.example"
    assert appointment.is_current()
    assert appointment.document_reference

    agreement = SharedResponsibilityAgreement.objects.get()
    assert agreement.imaging_provider.kind == OrganisationKind.NHS_TRUST
    assert agreement.referring_organisation.kind == OrganisationKind.GP_PRACTICE
    assert agreement.is_current()

    acute = Organisation.objects.get(ods_code=demo_data.ACUTE_TRUST)
    created = Examination.history.filter(organisation_id=acute.pk, history_type="+")
    assert created.exists()
    assert not created.filter(history_user__isnull=True).exists()


@pytest.mark.parametrize(
    "settings_module", ["config.settings.production", "somewhere.settings.production"]
)
def test_refuses_to_run_with_production_settings(settings, settings_module):
    settings.SETTINGS_MODULE = settings_module

    with pytest.raises(CommandError, match="production settings"):
        call_command("seed_demo", stdout=io.StringIO())

    assert not User.objects.exists()


def test_refuses_when_the_environment_names_production_settings(monkeypatch):
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "config.settings.production")

    with pytest.raises(CommandError, match="production settings"):
        call_command("seed_demo", stdout=io.StringIO())

    assert not Organisation.objects.exists()


def test_the_demo_has_an_application_at_each_stage_and_granted_entitlements_with_letters():
    from entitlements.models import Application, Entitlement, Letter, ScopeItem

    call_command("seed_demo", stdout=io.StringIO())

    statuses = sorted(Application.objects.values_list("status", flat=True))
    assert statuses == ["awaiting_endorsement", "granted", "granted", "under_review"]
    assert Entitlement.objects.filter(state="active").count() == 2
    assert ScopeItem.objects.filter(state="suspended").get().examination.code == "XPELV"
    # Every grant and change issued a letter; the demo referrer has applied for nothing yet,
    # so the browser journey can apply as her.
    assert Letter.objects.count() == 3
    assert not Application.objects.filter(referrer__user__email="referrer@demo.example").exists()
