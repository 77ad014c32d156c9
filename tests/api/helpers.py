"""Helpers for the API and RIS export tests: asking the API, entitled referrers made through
the services, and registers of many rows made in bulk."""

import contextlib
import datetime

from django.db import connection
from django.db.utils import OperationalError
from django.urls import reverse

from entitlements.models import (
    Application,
    ApplicationStatus,
    Decision,
    DecisionOutcome,
    Entitlement,
    EntitlementKind,
    ScopeItem,
)
from referrers.models import Employment, ReferrerProfile, Role, User
from tests.factories import EmploymentFactory, ReferrerProfileFactory, UserFactory, give_role
from tests.journeys import apply, grant

CHECK_URL = "/api/v1/entitlement-check"
QUESTION = {
    "registration": "NMC:71A2998E",
    "examination": "XCHES",
    "employer": "RDZ",
    "patient_age": "40",
    "setting": "ED",
}


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def ask(http, token: str | None, **params):
    """GET the entitlement check with QUESTION changed by `params` (None drops one)."""
    query = {**QUESTION, **params}
    query = {key: value for key, value in query.items() if value is not None}
    headers = bearer(token) if token else {}
    return http.get(CHECK_URL, query, **headers)


def fhir_search(http, token: str, identifier: str):
    return http.get(reverse("fhir_practitioner_roles"), {"identifier": identifier}, **bearer(token))


def nmc(number: str) -> str:
    return f"https://fhir.hl7.org.uk/Id/nmc-number|{number}"


def entitled_referrer(
    organisation,
    examinations,
    *,
    delegate,
    name: str,
    email: str,
    registration_number: str,
    employer=None,
    **profile,
):
    """A referrer employed at `employer` (default `organisation`), entitled by
    `organisation` to `examinations` (ages 16 and over, ED and MIU) through the services."""
    person = ReferrerProfileFactory(
        user=UserFactory(email=email, full_name=name),
        registration_number=registration_number,
        **profile,
    )
    employment = EmploymentFactory(referrer=person, organisation=employer or organisation)
    give_role(person.user, employer or organisation, Role.REFERRER)
    supervisor = UserFactory(email=f"sup.{email}", full_name=f"Supervisor of {name}")
    employment.clinical_supervisor = supervisor
    employment.save()
    application = apply(
        person.user, organisation, examinations, supervisor=supervisor, until="endorsed"
    )
    return grant(application, delegate)


def grant_requests(referrer, organisation, requests, *, supervisor, delegate) -> Entitlement:
    """Like journeys.apply and grant, with the scope items given as ScopeRequests (groups,
    other ages and settings)."""
    application = apply(referrer, organisation, requests, supervisor=supervisor, until="endorsed")
    return grant(application, delegate)


def clone_entitlements(
    template: Entitlement, count: int, *, prefix: str = "Clone", series: int = 90
) -> list:
    """`count` more referrers, each with a copy of `template` (same scope, delegate and
    procedure), made in bulk: a register of many rows without running every journey."""
    users = User.objects.bulk_create(
        User(email=f"{prefix.lower()}{i}@example.nhs.uk", full_name=f"{prefix} {i:04d}")
        for i in range(count)
    )
    profiles = ReferrerProfile.objects.bulk_create(
        ReferrerProfile(
            user=user,
            profession="nurse",
            regulator="NMC",
            registration_number=f"{series:02d}C{i:04d}D",
            registration_expires_on=datetime.date(2030, 1, 31),
        )
        for i, user in enumerate(users)
    )
    employments = Employment.objects.bulk_create(
        Employment(
            referrer=profile,
            organisation=template.organisation,
            job_title="Advanced nurse practitioner",
            level="advanced",
            starts_on=datetime.date(2024, 1, 1),
        )
        for profile in profiles
    )
    applications = Application.objects.bulk_create(
        Application(
            referrer=profile,
            employment=employment,
            organisation=template.organisation,
            kind=EntitlementKind.REFERRAL,
            status=ApplicationStatus.GRANTED,
        )
        for profile, employment in zip(profiles, employments, strict=True)
    )
    decisions = Decision.objects.bulk_create(
        Decision(
            application=application,
            delegate=template.granted_by,
            appointment=template.delegate_appointment,
            outcome=DecisionOutcome.GRANTED,
            rationale="Meets the criteria.",
        )
        for application in applications
    )
    entitlements = Entitlement.objects.bulk_create(
        Entitlement(
            referrer=profile,
            employment=employment,
            organisation=template.organisation,
            kind=EntitlementKind.REFERRAL,
            application=application,
            decision=decision,
            granted_by=template.granted_by,
            delegate_appointment=template.delegate_appointment,
            procedure_version=template.procedure_version,
            review_due_on=template.review_due_on,
        )
        for profile, employment, application, decision in zip(
            profiles, employments, applications, decisions, strict=True
        )
    )
    items = list(template.scope_items.all())
    ScopeItem.objects.bulk_create(
        ScopeItem(
            entitlement=entitlement,
            examination_id=item.examination_id,
            group_id=item.group_id,
            age_min=item.age_min,
            age_max=item.age_max,
            settings=item.settings,
        )
        for entitlement in entitlements
        for item in items
    )
    return entitlements


def unreachable(execute, sql, params, many, context):
    """An execute wrapper: every query fails as if the server had gone away."""
    raise OperationalError("could not connect to server: Connection refused")


@contextlib.contextmanager
def database_failing(wrapper=unreachable):
    """Run the block with every query passed through `wrapper` (`unreachable` by default).

    Django learns some of what the database can do by asking it once and remembering the
    answer (SQLite: whether it has JSON functions); those questions are asked first, so an
    outage here is not remembered as "cannot" by the tests that run after this one."""
    connection.ensure_connection()
    _ = connection.features.supports_json_field
    with connection.execute_wrapper(wrapper):
        yield
