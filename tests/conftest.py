"""Persona fixtures: people of one trust, and their counterparts at another."""

import datetime

import pytest

from referrers import services
from referrers.models import Role

from .factories import (
    EmploymentFactory,
    OrganisationFactory,
    ReferrerProfileFactory,
    UserFactory,
    give_role,
)


@pytest.fixture
def trust(db):
    return OrganisationFactory(ods_code="RDZ", name="Dorset Coast Hospitals NHS Trust")


@pytest.fixture
def other_trust(db):
    return OrganisationFactory(ods_code="RX9", name="Other Valley NHS Trust")


@pytest.fixture
def referrer(trust):
    profile = ReferrerProfileFactory(
        user=UserFactory(email="referrer@example.nhs.uk", full_name="Priya Shah"),
        registration_number="71A2998E",
    )
    EmploymentFactory(referrer=profile, organisation=trust)
    give_role(profile.user, trust, Role.REFERRER)
    return profile.user


@pytest.fixture
def other_referrer(other_trust):
    profile = ReferrerProfileFactory(
        user=UserFactory(email="other.referrer@example.nhs.uk", full_name="Sam Other"),
        registration_number="82B1234C",
    )
    EmploymentFactory(referrer=profile, organisation=other_trust)
    give_role(profile.user, other_trust, Role.REFERRER)
    return profile.user


@pytest.fixture
def org_admin(trust):
    return give_role(
        UserFactory(email="admin@example.nhs.uk", full_name="Alex Admin"),
        trust,
        Role.ORGANISATION_ADMINISTRATOR,
    )


@pytest.fixture
def other_trust_admin(other_trust):
    return give_role(
        UserFactory(email="other.admin@example.nhs.uk", full_name="Olu Otheradmin"),
        other_trust,
        Role.ORGANISATION_ADMINISTRATOR,
    )


@pytest.fixture
def delegate(trust, org_admin):
    user = UserFactory(email="delegate@example.nhs.uk", full_name="Dana Delegate")
    services.delegate_appointment_create(
        organisation=trust,
        delegate=user,
        valid_from=datetime.date(2025, 1, 1),
        document_reference="Board paper 2025/01",
        by=org_admin,
    )
    return user


@pytest.fixture
def other_trust_delegate(other_trust, other_trust_admin):
    user = UserFactory(email="other.delegate@example.nhs.uk", full_name="Omar Otherdelegate")
    services.delegate_appointment_create(
        organisation=other_trust,
        delegate=user,
        valid_from=datetime.date(2025, 1, 1),
        document_reference="Board paper 7",
        by=other_trust_admin,
    )
    return user


@pytest.fixture
def governance_lead(trust):
    return give_role(
        UserFactory(email="governance@example.nhs.uk", full_name="Gita Governance"),
        trust,
        Role.GOVERNANCE_LEAD,
    )


@pytest.fixture
def other_trust_governance_lead(other_trust):
    return give_role(
        UserFactory(email="other.governance@example.nhs.uk", full_name="Otto Othergov"),
        other_trust,
        Role.GOVERNANCE_LEAD,
    )


@pytest.fixture
def practitioner(trust):
    return give_role(
        UserFactory(email="practitioner@example.nhs.uk", full_name="Pat Practitioner"),
        trust,
        Role.IRMER_PRACTITIONER,
    )


@pytest.fixture
def supervisor(trust, referrer):
    user = UserFactory(email="supervisor@example.nhs.uk", full_name="Sue Supervisor")
    employment = referrer.referrer_profile.employments.get()
    employment.clinical_supervisor = user
    employment.save()
    return give_role(user, trust, Role.CLINICAL_SUPERVISOR)


@pytest.fixture
def catalogue(trust):
    """XR chest, CT head with contrast and MR knee in the trust's catalogue."""
    from .journeys import catalogue_at

    return catalogue_at(trust)


@pytest.fixture
def procedure(trust, org_admin):
    """A published procedure in force at the trust since 1 January 2025."""
    from .journeys import procedure_at

    return procedure_at(trust, by=org_admin)


@pytest.fixture
def endorsed_application(referrer, supervisor, trust, catalogue, procedure):
    """Priya's application for XR chest and CT head, endorsed and waiting for a delegate."""
    from .journeys import apply

    return apply(
        referrer,
        trust,
        [catalogue["xr_chest"], catalogue["ct_head"]],
        supervisor=supervisor,
        until="endorsed",
    )


@pytest.fixture
def entitlement(endorsed_application, delegate):
    """Priya's active entitlement, granted as requested by Dana Delegate."""
    from .journeys import grant

    return grant(endorsed_application, delegate)
