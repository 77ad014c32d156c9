"""Query counts do not grow with the number of rows.

Each list-style page is requested as the persona who uses it, first with a few rows and then
with more than a page of them. Every row has its own related objects (person, department,
supervisor, organisation, appointer), so a foreign key or many-to-many read once per row
shows up as a difference between the two counts. The ceilings are the measured counts with
no slack: a new query on a page is a change someone should look at, not noise. They are the
same on SQLite and PostgreSQL.

Every page for a signed-in user counts their unread notifications once, for the header
(config.jinja2.unread_notifications), so every organisation page starts with the same 6
queries: session, user, that count, the organisation (with its parent), and
django-guardian's user and group permissions on it.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from entitlements.models import (
    Application,
    ApplicationScopeItem,
    ApplicationStatus,
    Decision,
    Entitlement,
    EntitlementState,
    ExaminationGroup,
    ProcedureStatus,
    ProcedureTrainingRule,
    ProcedureVersion,
    ScopeItem,
)
from entitlements.models.procedures import RequirementTrigger, TrainingKind
from referrers import services
from referrers.models import LevelOfPractice, Notification, Role
from referrers.regulators import Profession, Regulator

from .factories import (
    DepartmentFactory,
    EmploymentFactory,
    ExaminationFactory,
    OrganisationFactory,
    ProcedureFactory,
    ProcedureVersionFactory,
    ReferrerProfileFactory,
    UserFactory,
)

SMALL = 5
LARGE = 60  # more than settings.PAGE_SIZE (50), so paginated pages show a full page

# Professions come in with their own regulator; the aggregates group by both of these.
PROFESSIONS = [
    (Profession.NURSE, Regulator.NMC),
    (Profession.MIDWIFE, Regulator.NMC),
    (Profession.PHYSIOTHERAPIST, Regulator.HCPC),
    (Profession.RADIOGRAPHER, Regulator.HCPC),
    (Profession.PARAMEDIC, Regulator.HCPC),
]
LEVELS = list(LevelOfPractice)
# (modality, ionising, mri): the flags the catalogue's check constraints allow.
MODALITIES = [("XR", True, False), ("CT", True, False), ("MR", False, True), ("US", False, False)]


@pytest.fixture(autouse=True)
def today():
    """2 March 2026, midday in London: every dated row below is current or past on it."""
    moment = datetime.datetime(2026, 3, 2, 12, 0, tzinfo=ZoneInfo("Europe/London"))
    with time_machine.travel(moment, tick=False):
        yield moment.date()


# --- Rows, each with its own related objects ----------------------------------------------


def employment(organisation, i: int, *, referrer=None, supervisor=None):
    """Referrer "Row Person <i>" at `organisation`, in a department and under a supervisor of
    their own (pass `referrer` or `supervisor` to share one)."""
    profession, regulator = PROFESSIONS[i % len(PROFESSIONS)]
    referrer = referrer or ReferrerProfileFactory(
        user=UserFactory(full_name=f"Row Person {i:03d}"),
        profession=profession,
        regulator=regulator,
    )
    return EmploymentFactory(
        referrer=referrer,
        organisation=organisation,
        level=LEVELS[i % len(LEVELS)],
        department=DepartmentFactory(organisation=organisation, name=f"Row department {i:03d}"),
        clinical_supervisor=supervisor or UserFactory(full_name=f"Row Supervisor {i:03d}"),
        starts_on=datetime.date(2024, 1, 1) + datetime.timedelta(days=i),
    )


def appointment(organisation, i: int):
    """Delegate "Row Delegate <i>", appointed by a different person each time, covering one
    or two departments of their own; every fourth covers named modalities only."""
    departments = [
        DepartmentFactory(organisation=organisation, name=f"Row ward {i:03d}{suffix}")
        for suffix in ("a", "b")[: 1 + i % 2]
    ]
    return services.delegate_appointment_create(
        organisation=organisation,
        delegate=UserFactory(full_name=f"Row Delegate {i:03d}"),
        valid_from=datetime.date(2025, 1, 1) + datetime.timedelta(days=i),
        document_reference=f"Row paper {i:03d}",
        by=UserFactory(full_name=f"Row Appointer {i:03d}"),
        all_modalities=bool(i % 4),
        modalities=["CT", "MR"],
        departments=departments,
    )


def agreement(organisation, i: int):
    """An agreement with a referring organisation of its own, recorded by its own person.
    Every third one has `organisation` as the referring side rather than the provider."""
    other = OrganisationFactory(name=f"Row Practice {i:03d}")
    provider, referring = (other, organisation) if i % 3 == 0 else (organisation, other)
    return services.agreement_create(
        imaging_provider=provider,
        referring_organisation=referring,
        valid_from=datetime.date(2025, 4, 1) + datetime.timedelta(days=i),
        document_reference=f"Row agreement {i:03d}",
        by=UserFactory(full_name=f"Row Recorder {i:03d}"),
    )


def examination(organisation, i: int):
    modality, ionising, mri = MODALITIES[i % len(MODALITIES)]
    return ExaminationFactory(
        organisation=organisation,
        code=f"ROW{i:03d}",
        name=f"Row examination {i:03d}",
        modality=modality,
        ionising=ionising,
        mri=mri,
    )


def procedure_version(organisation, i: int, *, kinds=tuple(TrainingKind)):
    """Version `i + 1`, created by its own person; odd ones published by another person,
    each on its own start date, so one of them is in force."""
    published = i % 2 == 1
    version = ProcedureVersionFactory(
        procedure=ProcedureFactory(organisation=organisation),
        number=i + 1,
        document_reference=f"Row reference {i:03d}",
        effective_from=datetime.date(2020, 1, 1) + datetime.timedelta(days=7 * i),
        created_by=UserFactory(full_name=f"Row Author {i:03d}"),
        status=ProcedureStatus.PUBLISHED if published else ProcedureStatus.DRAFT,
        published_by=UserFactory(full_name=f"Row Publisher {i:03d}") if published else None,
        published_at=timezone.now() if published else None,
    )
    for kind in kinds:
        training_rule(version, kind)
    return version


def training_rule(version, kind):
    return ProcedureTrainingRule.objects.create(
        version=version,
        training_kind=kind,
        required_for=RequirementTrigger.IONISING,
        validity_months=24,
    )


# --- Measuring ----------------------------------------------------------------------------


@dataclass
class Measured:
    queries: int
    body: str


def measure(client, url: str, params: dict | None = None) -> Measured:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200, url
    return Measured(len(captured.captured_queries), response.content.decode())


def assert_flat(
    client,
    url: str,
    *,
    grow: Callable[[range], object],
    marker: str,
    shown: Callable[[int], int],
    ceiling: int,
    assert_max_num_queries,
    params: dict | None = None,
    small: int = SMALL,
    large: int = LARGE,
) -> None:
    """Request `url` with `small` rows and again with `large`; the counts must be equal and
    no more than `ceiling`. `marker` appears once per row shown; `shown(n)` says how many rows
    the page shows when there are `n`, which proves the rows were rendered, not skipped."""
    grow(range(small))
    # Warm process-wide caches (ContentType, used by guardian) so the first count does not
    # depend on which test ran before this one.
    client.get(url, params or {})
    few = measure(client, url, params)
    assert few.body.count(marker) == shown(small)

    grow(range(small, large))
    many = measure(client, url, params)
    assert many.body.count(marker) == shown(large)

    assert many.queries == few.queries, (
        f"{url}: {few.queries} queries with {small} rows, {many.queries} with {large}"
    )
    with assert_max_num_queries(ceiling):
        client.get(url, params or {})


def one_page(n: int) -> int:
    return min(n, settings.PAGE_SIZE)


def every(n: int) -> int:
    return n


# --- Pages --------------------------------------------------------------------------------


def test_delegate_home(client, trust, delegate, django_assert_max_num_queries):
    # Measured 13 with 5 and with 60 employments: the 6 of every organisation page, the
    # employments (count, page), the applications waiting (count and longest wait), the
    # procedure in force (version, training rules) and the delegate's appointments
    # (appointments, departments).
    client.force_login(delegate)
    procedure_version(trust, 1)  # in force, so the page names it
    assert_flat(
        client,
        reverse("delegate_home", args=[trust.ods_code]),
        grow=lambda rows: [employment(trust, i) for i in rows],
        marker="Row Person",
        shown=one_page,
        ceiling=13,
        assert_max_num_queries=django_assert_max_num_queries,
    )


def test_governance_home(client, trust, governance_lead, django_assert_max_num_queries):
    # Measured 15 with 5 and with 60 each of employments, appointments and agreements: the
    # 6, four aggregates (count, by profession, by level, entitlements by state), the
    # procedure in force (version, training rules), appointments with their departments,
    # agreements.
    client.force_login(governance_lead)
    procedure_version(trust, 1)

    def grow(rows):
        for i in rows:
            employment(trust, i)
            appointment(trust, i)
            agreement(trust, i)

    url = reverse("governance_home", args=[trust.ods_code])
    assert_flat(
        client,
        url,
        grow=grow,
        marker="Row agreement",
        shown=every,
        ceiling=15,
        assert_max_num_queries=django_assert_max_num_queries,
    )
    # The current appointments are listed too, not paginated.
    assert client.get(url).content.decode().count("Row paper") == LARGE


def test_practitioner_home_search(client, trust, practitioner, django_assert_max_num_queries):
    # Every row's job title is "Advanced nurse practitioner", so "nurse" matches them all.
    # Measured 8 with 5 and with 60 matches: the 6, then count and page.
    client.force_login(practitioner)
    assert_flat(
        client,
        reverse("practitioner_home", args=[trust.ods_code]),
        params={"q": "nurse"},
        grow=lambda rows: [employment(trust, i) for i in rows],
        marker="Row Person",
        shown=one_page,
        ceiling=8,
        assert_max_num_queries=django_assert_max_num_queries,
    )


def test_supervisor_home(client, supervisor, django_assert_max_num_queries):
    # Each supervisee works at an organisation of their own. Measured 6 with 5 and with 60
    # (plus the fixture's referrer, Priya Shah, in both): session, user, unread
    # notifications, the applications waiting for endorsement, count, page.
    client.force_login(supervisor)
    assert_flat(
        client,
        reverse("supervisor_home"),
        grow=lambda rows: [
            employment(OrganisationFactory(name=f"Row Trust {i:03d}"), i, supervisor=supervisor)
            for i in rows
        ],
        marker="Row Person",
        # Priya Shah sorts first and takes one place on the first page.
        shown=lambda n: one_page(n + 1) - 1,
        ceiling=6,
        assert_max_num_queries=django_assert_max_num_queries,
    )


def test_administration_home(client, trust, org_admin, django_assert_max_num_queries):
    # Measured 13 with 5 and with 60 each of examinations, procedure versions, appointments,
    # agreements and departments: the 6, catalogue counts, procedure in force (version,
    # training rules), appointments with their departments, agreements, departments. The five
    # latest versions are never evaluated: the template does not show them.
    client.force_login(org_admin)

    def grow(rows):
        for i in rows:
            examination(trust, i)
            procedure_version(trust, i, kinds=[TrainingKind.RADIATION_PROTECTION])
            appointment(trust, i)
            agreement(trust, i)

    assert_flat(
        client,
        reverse("administration_home", args=[trust.ods_code]),
        grow=grow,
        marker="Row Delegate",
        shown=lambda n: min(n, 10),  # the ten most recent appointments
        ceiling=13,
        assert_max_num_queries=django_assert_max_num_queries,
    )


def test_delegate_appointments(client, trust, org_admin, django_assert_max_num_queries):
    # Departments are many-to-many and must be prefetched. Measured 9 with 5 and with 60:
    # the 6, count, page, departments of the page.
    client.force_login(org_admin)
    assert_flat(
        client,
        reverse("delegate_appointments", args=[trust.ods_code]),
        grow=lambda rows: [appointment(trust, i) for i in rows],
        marker="Row paper",
        shown=one_page,
        ceiling=9,
        assert_max_num_queries=django_assert_max_num_queries,
    )


def test_agreements(client, trust, org_admin, django_assert_max_num_queries):
    # Measured 8 with 5 and with 60 agreements: the 6, count, page.
    client.force_login(org_admin)
    assert_flat(
        client,
        reverse("agreements", args=[trust.ods_code]),
        grow=lambda rows: [agreement(trust, i) for i in rows],
        marker="Row agreement",
        shown=one_page,
        ceiling=8,
        assert_max_num_queries=django_assert_max_num_queries,
    )


def test_catalogue(client, trust, org_admin, django_assert_max_num_queries):
    # Measured 8 with 5 and with 60 examinations: the 6, count, page.
    client.force_login(org_admin)
    assert_flat(
        client,
        reverse("catalogue", args=[trust.ods_code]),
        grow=lambda rows: [examination(trust, i) for i in rows],
        marker="Row examination",
        shown=lambda n: 2 * one_page(n),  # the name, and again in the hidden "Change" text
        ceiling=8,
        assert_max_num_queries=django_assert_max_num_queries,
    )


def test_procedure_versions(client, trust, org_admin, django_assert_max_num_queries):
    # Every version has all its training rules. Measured 11 with 5 and with 60 versions: the
    # 6, count, page, the procedure, and the version in force (version, training rules).
    client.force_login(org_admin)
    assert_flat(
        client,
        reverse("procedure_versions", args=[trust.ods_code]),
        grow=lambda rows: [procedure_version(trust, i) for i in rows],
        marker="Row reference",
        shown=one_page,
        ceiling=11,
        assert_max_num_queries=django_assert_max_num_queries,
    )


def test_procedure_version_detail(client, trust, org_admin, django_assert_max_num_queries):
    # Version 1 grows from one training rule to one of every kind (a version has at most one
    # per kind) while the procedure grows from 5 to 60 versions. Measured 10 both times: the
    # 6, the version and its training rules, the version in force and its training rules.
    client.force_login(org_admin)
    kinds = list(TrainingKind)
    version = procedure_version(trust, 0, kinds=kinds[:1])

    def grow(rows: range):
        for i in rows:
            if i:  # version 1 is the one above
                procedure_version(trust, i)
        if rows.start:  # the larger data set
            for kind in kinds[1:]:
                training_rule(version, kind)

    labels = [kind.label for kind in kinds]
    assert_flat(
        client,
        reverse("procedure_version", args=[trust.ods_code, version.number]),
        grow=grow,
        marker="Row reference 000",
        shown=lambda n: 1,
        ceiling=10,
        assert_max_num_queries=django_assert_max_num_queries,
    )
    body = client.get(reverse("procedure_version", args=[trust.ods_code, 1])).content.decode()
    assert all(label in body for label in labels)
    assert ProcedureVersion.objects.filter(procedure__organisation=trust).count() == LARGE


def test_referrer_home(client, referrer, django_assert_max_num_queries):
    # The referrer's own employments, each at an organisation of its own, with its own
    # department and supervisor, and an open application in each. Measured 6 with 5 and with
    # 60 (plus the fixture's one): session, user, unread notifications, profile, employments,
    # open applications (the five latest).
    client.force_login(referrer)
    profile = referrer.referrer_profile
    assert_flat(
        client,
        reverse("referrer_home"),
        grow=lambda rows: [
            own_application(
                employment(OrganisationFactory(name=f"Row Trust {i:03d}"), i, referrer=profile)
            )
            for i in rows
        ],
        marker="Row Supervisor",
        shown=every,
        ceiling=6,
        assert_max_num_queries=django_assert_max_num_queries,
    )


def own_application(work, *, status=ApplicationStatus.DRAFT):
    """An application of the employment's referrer, to its own employer."""
    return Application.objects.create(
        referrer=work.referrer,
        employment=work,
        organisation=work.organisation,
        kind="referral",
        status=status,
        clinical_supervisor=work.clinical_supervisor,
    )


def test_applications_of_a_referrer(client, referrer, django_assert_max_num_queries):
    # The referrer's own applications, each for an employment at an organisation of its own
    # (with its own department and supervisor); drafts show how many sections are done, from
    # annotations, not a query per row. Measured 6 with 5 and with 60 (plus none of the
    # fixture's): session, user, unread notifications, profile, count, page.
    client.force_login(referrer)
    profile = referrer.referrer_profile
    statuses = [ApplicationStatus.DRAFT, ApplicationStatus.UNDER_REVIEW, ApplicationStatus.RETURNED]
    assert_flat(
        client,
        reverse("applications"),
        grow=lambda rows: [
            own_application(
                employment(OrganisationFactory(name=f"Row Trust {i:03d}"), i, referrer=profile),
                status=statuses[i % len(statuses)],
            )
            for i in rows
        ],
        marker="Row Trust",
        shown=one_page,
        ceiling=6,
        assert_max_num_queries=django_assert_max_num_queries,
    )


def test_people(client, trust, org_admin, django_assert_max_num_queries):
    # Each role held by its own person, granted by another. Measured 8 with 5 and with 60
    # (plus the fixture's administrator, who sorts first): the 6, count, page.
    client.force_login(org_admin)
    roles = [Role.GOVERNANCE_LEAD, Role.IRMER_PRACTITIONER, Role.REFERRER]
    assert_flat(
        client,
        reverse("people", args=[trust.ods_code]),
        grow=lambda rows: [
            services.role_assign(
                user=UserFactory(email=f"row.person{i}@example.nhs.uk"),
                organisation=trust,
                role=roles[i % len(roles)],
                by=UserFactory(full_name=f"Row Granter {i:03d}"),
            )
            for i in rows
        ],
        marker="row.person",
        shown=lambda n: one_page(n + 1) - 1,
        ceiling=8,
        assert_max_num_queries=django_assert_max_num_queries,
    )


def test_departments(client, trust, org_admin, django_assert_max_num_queries):
    # Measured 7 with 5 and with 60 departments: the 6 and the departments.
    client.force_login(org_admin)
    assert_flat(
        client,
        reverse("departments", args=[trust.ods_code]),
        grow=lambda rows: [
            DepartmentFactory(organisation=trust, name=f"Row department {i:03d}") for i in rows
        ],
        marker="Row department",
        shown=every,
        ceiling=7,
        assert_max_num_queries=django_assert_max_num_queries,
    )


def application(organisation, i: int, *, status=ApplicationStatus.UNDER_REVIEW):
    """Row Person <i>'s application, submitted <i> days before today, asking for an
    examination of its own and, every other row, a group of two more."""
    work = employment(organisation, i)
    row = Application.objects.create(
        referrer=work.referrer,
        employment=work,
        organisation=organisation,
        kind="referral",
        status=status,
        clinical_supervisor=work.clinical_supervisor,
        submitted_at=timezone.now() - datetime.timedelta(days=i),
    )
    ApplicationScopeItem.objects.create(
        application=row, examination=examination(organisation, 1000 + i), settings=["ED"]
    )
    if i % 2:
        group = ExaminationGroup.objects.create(organisation=organisation, name=f"Row group {i}")
        group.examinations.set(
            [examination(organisation, 2000 + i), examination(organisation, 3000 + i)]
        )
        ApplicationScopeItem.objects.create(application=row, group=group, settings=["MIU"])
    return row


def test_application_queue(client, trust, delegate, django_assert_max_num_queries):
    # Each row has its own referrer, employment, department, supervisor and scope; as many
    # again wait for their supervisor's endorsement. Measured 14 with 5 and with 60 of each:
    # the 6, the queue (count, page, scope items, the groups' examinations), the applications
    # awaiting endorsement (count, the first 20) and the open change notices (count, list).
    client.force_login(delegate)

    def grow(rows):
        for i in rows:
            application(trust, i)
            application(trust, 500 + i, status=ApplicationStatus.AWAITING_ENDORSEMENT)

    assert_flat(
        client,
        reverse("application_queue", args=[trust.ods_code]),
        grow=grow,
        marker='aria-hidden="true">Waiting </span>',
        shown=one_page,
        ceiling=14,
        assert_max_num_queries=django_assert_max_num_queries,
    )


STATES = list(EntitlementState)


def entitlement(organisation, i: int, *, referrer=None):
    """An entitlement granted by `organisation` to Row Person <i> (or `referrer`), for an
    employment of their own, under a delegate appointment and procedure version of its own,
    in a state of its own; every third active one has a suspended scope item."""
    work = employment(organisation, i, referrer=referrer)
    application = Application.objects.create(
        referrer=work.referrer,
        employment=work,
        organisation=organisation,
        kind="referral",
        status=ApplicationStatus.GRANTED,
        clinical_supervisor=work.clinical_supervisor,
    )
    post = appointment(organisation, i)
    decision = Decision.objects.create(
        application=application,
        delegate=post.delegate,
        appointment=post,
        outcome="granted",
        rationale=f"Row rationale {i:03d}",
    )
    state = STATES[i % len(STATES)]
    row = Entitlement.objects.create(
        referrer=work.referrer,
        employment=work,
        organisation=organisation,
        kind="referral",
        state=state,
        application=application,
        decision=decision,
        granted_by=post.delegate,
        delegate_appointment=post,
        procedure_version=procedure_version(organisation, 100 + i, kinds=[]),
        review_due_on=datetime.date(2027, 1, 1) + datetime.timedelta(days=i),
        clinical_supervisor=work.clinical_supervisor,
    )
    ScopeItem.objects.create(
        entitlement=row,
        examination=examination(organisation, 1000 + i),
        settings=["ED"],
        state="suspended" if state == EntitlementState.ACTIVE and i % 3 == 0 else "active",
    )
    return row


def test_entitlements_at(client, trust, delegate, django_assert_max_num_queries):
    # Each entitlement has its own referrer, employment, department, supervisor, delegate,
    # appointment, procedure version and scope item. Measured 8 with 5 and with 60: the 6,
    # count and page (the suspended items are a subquery).
    client.force_login(delegate)
    assert_flat(
        client,
        reverse("entitlements_at", args=[trust.ods_code]),
        grow=lambda rows: [entitlement(trust, i) for i in rows],
        marker="Row Person",
        shown=one_page,
        ceiling=8,
        assert_max_num_queries=django_assert_max_num_queries,
    )


def test_entitlements_at_filtered(client, trust, delegate, django_assert_max_num_queries):
    client.force_login(delegate)
    active = sum(1 for i in range(LARGE) if STATES[i % len(STATES)] == EntitlementState.ACTIVE)
    few = sum(1 for i in range(SMALL) if STATES[i % len(STATES)] == EntitlementState.ACTIVE)
    assert_flat(
        client,
        reverse("entitlements_at", args=[trust.ods_code]),
        params={"state": "active"},
        grow=lambda rows: [entitlement(trust, i) for i in rows],
        marker="Row Person",
        shown=lambda n: few if n == SMALL else active,
        ceiling=8,
        assert_max_num_queries=django_assert_max_num_queries,
    )


def test_entitlements_of_a_referrer(client, referrer, django_assert_max_num_queries):
    # The referrer's own entitlements, each granted by an organisation of its own for an
    # employment there. Measured 5 with 5 and with 60: session, user, the header's unread
    # count, count and page.
    client.force_login(referrer)
    profile = referrer.referrer_profile
    assert_flat(
        client,
        reverse("entitlements"),
        grow=lambda rows: [
            entitlement(OrganisationFactory(name=f"Row Trust {i:03d}"), i, referrer=profile)
            for i in rows
        ],
        marker="Row Trust",
        shown=one_page,
        ceiling=5,
        assert_max_num_queries=django_assert_max_num_queries,
    )


def test_notifications(client, referrer, django_assert_max_num_queries):
    # Half of them unread. Measured 5 with 5 and with 60: session, user, the header's unread
    # count (the page reuses it), count and page.
    client.force_login(referrer)
    assert_flat(
        client,
        reverse("notifications"),
        grow=lambda rows: [
            Notification.objects.create(
                user=referrer,
                subject=f"Row notification {i:03d}",
                url=f"/entitlements/{i}/",
                read_at=timezone.now() if i % 2 else None,
            )
            for i in rows
        ],
        marker="Row notification",
        shown=one_page,
        ceiling=5,
        assert_max_num_queries=django_assert_max_num_queries,
    )


# --- At 10 and at 1,000 rows (the benchmark's pages and the lookup) ---------------------------

BENCH_PAGES = [
    # (URL name, persona fixture, query string)
    ("register", "delegate", {"name": "Clone", "state": "live"}),
    ("training_queue", "delegate", {}),
    ("governance_dashboard", "governance_lead", {}),
]


@pytest.mark.parametrize(("url_name", "persona", "query"), BENCH_PAGES)
def test_benchmark_pages_read_the_same_at_10_and_1000_entitlements(
    client, trust, entitlement, request, url_name, persona, query
):
    """The pages `make bench` times at 50,000 referrers: the same queries with 10
    entitlements as with 1,000 (made in bulk, each with its own referrer, employment and
    scope, none with training records, so every one is in the queue's training section)."""
    from tests.api.helpers import clone_entitlements

    client.force_login(request.getfixturevalue(persona))
    url = reverse(url_name, args=[trust.ods_code])
    clone_entitlements(entitlement, 9)
    assert client.get(url, query).status_code == 200  # warm process-wide caches
    with CaptureQueriesContext(connection) as few:
        assert client.get(url, query).status_code == 200
    clone_entitlements(entitlement, 990, prefix="More", series=91)

    with CaptureQueriesContext(connection) as many:
        response = client.get(url, query)

    assert response.status_code == 200
    assert len(many) == len(few), [q["sql"][:120] for q in many.captured_queries]
