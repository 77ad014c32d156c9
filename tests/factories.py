"""factory_boy factories. Objects with rules are made through the services where it matters;
these build plain valid rows for tests."""

import datetime

import factory

from entitlements.models import Examination, Procedure, ProcedureVersion
from referrers import services
from referrers.models import (
    Department,
    Employment,
    LevelOfPractice,
    Organisation,
    OrganisationKind,
    ReferrerProfile,
    User,
)
from referrers.regulators import Profession, Regulator

_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"person{n}@example.nhs.uk")
    full_name = factory.Sequence(lambda n: f"Test Person {n}")
    password = factory.django.Password("correct-horse-battery")


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("ods_code",)

    # Trust codes are R or T and two more characters; T keeps clear of the fixtures' R codes.
    ods_code = factory.Sequence(lambda n: f"T{_ALNUM[n // 36 % 36]}{_ALNUM[n % 36]}")
    name = factory.Sequence(lambda n: f"Test Hospitals NHS Trust {n}")
    kind = OrganisationKind.NHS_TRUST


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Department {n}")


class ReferrerProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReferrerProfile

    user = factory.SubFactory(UserFactory)
    profession = Profession.NURSE
    regulator = Regulator.NMC
    registration_number = factory.Sequence(lambda n: f"{n % 100:02d}A{n % 10000:04d}E")
    registration_expires_on = datetime.date(2030, 1, 31)


class EmploymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Employment

    referrer = factory.SubFactory(ReferrerProfileFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    job_title = "Advanced nurse practitioner"
    level = LevelOfPractice.ADVANCED
    starts_on = datetime.date(2024, 1, 1)


class ExaminationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Examination

    organisation = factory.SubFactory(OrganisationFactory)
    code = factory.Sequence(lambda n: f"X{n:04d}")
    name = factory.Sequence(lambda n: f"XR examination {n}")
    modality = "XR"
    body_area = "Chest"
    ionising = True
    contrast = False
    mri = False


class ProcedureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Procedure
        django_get_or_create = ("organisation",)

    organisation = factory.SubFactory(OrganisationFactory)
    title = "Entitlement of referrers procedure"


class ProcedureVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProcedureVersion

    procedure = factory.SubFactory(ProcedureFactory)
    number = factory.Sequence(lambda n: n + 1)
    document_reference = "EP-01"
    effective_from = datetime.date(2025, 4, 1)
    warning_lead_days = [60, 30, 7]
    lapse_action = "suspend_items"
    grace_days = 14
    review_interval_months = 24
    audit_frequency_months = 24
    audit_minimum_sample = 20
    feedback_threshold_count = 3
    feedback_window_months = 12
    created_by = factory.SubFactory(UserFactory)


def give_role(user: User, organisation: Organisation, role: str) -> User:
    """Assign a role the way the product does (role row + guardian permissions)."""
    services.role_assign(user=user, organisation=organisation, role=role, by=None)
    return user
