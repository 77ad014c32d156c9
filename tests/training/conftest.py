"""A seeded organisation for the control-run tests: named referrers whose training,
registration and review fall due at known dates under the procedure's numbers.

The procedure (in force from 1 January 2023 at both employers): warnings 60, 30 and 7 days
before a record expires; a lapse suspends only the scope items that need the training;
revocation 30 days after the lapse; renewals reinstate; a review 24 months after the grant,
suspended when overdue. Radiation protection is valid 36 months, contrast safety, MRI safety
and referral guidelines 24 months.

| referrer | entitled for            | what falls due                                        |
|----------|-------------------------|-------------------------------------------------------|
| Ada      | XR chest, CT head (+C)  | contrast safety expires 10 May 2025; she renews       |
| Ben      | XR chest, CT head (+C)  | contrast safety expires 20 July 2025; never renews    |
| Cara     | XR chest                | granted 4 December 2023: review due 4 December 2025   |
| Dev      | XR chest, at both trusts| registration expires 30 September 2025                |
| Eve      | XR chest                | referral guidelines expire 1 August 2025; renews early|

Everything else each of them needs is valid well beyond the 400 days the tests run for.
"""

import datetime
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from entitlements.models import Entitlement, ProcedureStatus, ProcedureVersion, TrainingKind
from entitlements.services import ScopeRequest
from referrers import services as people_services
from referrers.models import Organisation, Role, User
from tests.factories import (
    EmploymentFactory,
    OrganisationFactory,
    ProcedureFactory,
    ProcedureVersionFactory,
    ReferrerProfileFactory,
    UserFactory,
    give_role,
)
from tests.journeys import apply, catalogue_at, grant
from training.models import TrainingRecord

LONDON = ZoneInfo("Europe/London")
START = datetime.date(2025, 3, 1)
GRANTED = datetime.date(2025, 1, 6)
CARA_GRANTED = datetime.date(2023, 12, 4)
BASELINE = datetime.date(2024, 9, 1)  # completed: valid until 2026 (24 months) or 2027 (36)

RP = TrainingKind.RADIATION_PROTECTION.value
CONTRAST = TrainingKind.CONTRAST_SAFETY.value
MRI = TrainingKind.MRI_SAFETY.value
GUIDELINES = TrainingKind.REFERRAL_GUIDELINES.value

VALIDITY = {RP: 36, CONTRAST: 24, MRI: 24, GUIDELINES: 24}
PROCEDURE = {
    "warning_lead_days": [60, 30, 7],
    "lapse_action": "suspend_items",
    "grace_days": 30,
    "renewal_action": "reinstate",
    "review_interval_months": 24,
    "review_overdue_action": "suspend",
    # Audits fall due beyond the 400 days these tests run for (audit.overdue has its own
    # tests in tests/audits/).
    "audit_frequency_months": 60,
}


def at(day: datetime.date, hour: int = 12) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=LONDON)


def publish_procedure(organisation: Organisation, *, by: User, **overrides) -> ProcedureVersion:
    rules = {**PROCEDURE, **overrides}
    version = ProcedureVersionFactory(
        procedure=ProcedureFactory(organisation=organisation),
        status=ProcedureStatus.PUBLISHED,
        effective_from=datetime.date(2023, 1, 1),
        document_reference=f"{organisation.ods_code}-RAD-POL-012 v1",
        created_by=by,
        published_by=by,
        published_at=datetime.datetime(2022, 12, 1, tzinfo=datetime.UTC),
        **rules,
    )
    for kind, trigger in (
        (RP, "ionising"),
        (CONTRAST, "contrast"),
        (MRI, "mri"),
        (GUIDELINES, "all"),
    ):
        version.training_rules.create(
            training_kind=kind, required_for=trigger, validity_months=VALIDITY[kind]
        )
    return version


def add_record(user: User, kind: str, completed_on: datetime.date, *, verified_by: User):
    """A verified record, as a delegate who has seen the certificate would leave it."""
    return TrainingRecord.objects.create(
        referrer=user.referrer_profile,
        kind=kind,
        provider="e-Learning for Healthcare",
        completed_on=completed_on,
        recorded_by=user,
        verified_by=verified_by,
        verified_at=timezone.now(),
    )


def entitle(user, organisation, examinations, *, supervisor, delegate) -> Entitlement:
    """Apply, endorse and grant through the services (at the time it is called)."""
    application = apply(
        user,
        organisation,
        [ScopeRequest(examination=e, age_min=16, settings=("ED",)) for e in examinations],
        supervisor=supervisor,
        until="endorsed",
        employment=user.referrer_profile.employments.get(organisation=organisation),
    )
    return grant(application, delegate, rationale="Meets RAD-POL-012.")


@dataclass
class World:
    organisation: Organisation
    second: Organisation
    version: ProcedureVersion
    second_version: ProcedureVersion
    admin: User
    delegate: User
    second_delegate: User
    supervisor: User
    catalogue: dict
    second_catalogue: dict
    people: dict[str, User] = field(default_factory=dict)
    entitlements: dict[str, Entitlement] = field(default_factory=dict)

    def user(self, name: str) -> User:
        return self.people[name]

    def profile(self, name: str):
        return self.people[name].referrer_profile

    def referrer_names(self) -> dict[int, str]:
        return {user.referrer_profile.pk: name for name, user in self.people.items()}


def build_world(ods=("RDZ", "RX9"), tag: str = "", **procedure) -> World:
    """Two trusts with the same procedure, and the five referrers of the module docstring.
    `procedure` overrides rules of the main trust's procedure."""
    with time_machine.travel(at(datetime.date(2022, 12, 1)), tick=False):
        organisation = OrganisationFactory(ods_code=ods[0], name=f"Coast Hospitals {ods[0]}")
        second = OrganisationFactory(ods_code=ods[1], name=f"Valley Hospitals {ods[1]}")
        admin = give_role(
            UserFactory(email=f"admin{tag}@example.nhs.uk", full_name="Alex Admin"),
            organisation,
            Role.ORGANISATION_ADMINISTRATOR,
        )
        version = publish_procedure(organisation, by=admin, **procedure)
        second_version = publish_procedure(second, by=admin)
        delegates = []
        for org, name in ((organisation, "Dana Delegate"), (second, "Omar Delegate")):
            delegate = UserFactory(
                email=f"{name.split()[0].lower()}{tag}@example.nhs.uk", full_name=name
            )
            people_services.delegate_appointment_create(
                organisation=org,
                delegate=delegate,
                valid_from=datetime.date(2023, 1, 1),
                document_reference=f"Board paper {org.ods_code}",
                by=admin,
            )
            delegates.append(delegate)
        supervisor = UserFactory(email=f"sue{tag}@example.nhs.uk", full_name="Sue Supervisor")
        for org in (organisation, second):
            give_role(supervisor, org, Role.CLINICAL_SUPERVISOR)
        world = World(
            organisation=organisation,
            second=second,
            version=version,
            second_version=second_version,
            admin=admin,
            delegate=delegates[0],
            second_delegate=delegates[1],
            supervisor=supervisor,
            catalogue=catalogue_at(organisation),
            second_catalogue=catalogue_at(second),
        )
    xr, ct = world.catalogue["xr_chest"], world.catalogue["ct_head"]
    add_person(world, "Cara", "Review", [xr], granted=CARA_GRANTED)
    add_person(world, "Ada", "Contrast", [xr, ct], completed={CONTRAST: datetime.date(2023, 5, 10)})
    add_person(world, "Ben", "Never", [xr, ct], completed={CONTRAST: datetime.date(2023, 7, 20)})
    add_person(
        world,
        "Dev",
        "Registration",
        [xr],
        registration_expires_on=datetime.date(2025, 9, 30),
        second_scope=[world.second_catalogue["xr_chest"]],
    )
    add_person(world, "Eve", "Fine", [xr], completed={GUIDELINES: datetime.date(2023, 8, 1)})
    return world


def add_person(
    world: World,
    name: str,
    surname: str,
    scope: list,
    *,
    completed: dict[str, datetime.date] | None = None,
    granted: datetime.date = GRANTED,
    registration_expires_on: datetime.date = datetime.date(2030, 1, 31),
    second_scope: list | None = None,
) -> Entitlement:
    """A referrer employed at the main trust (and, with `second_scope`, at the second too),
    entitled for `scope` on `granted`, with verified radiation protection, contrast safety
    and referral guidelines records completed on the baseline day unless `completed` says
    otherwise. Their entitlements are `world.entitlements[name]` (and `[name + "@second"]`)."""
    tag = world.organisation.ods_code.lower()
    with time_machine.travel(at(datetime.date(2022, 12, 1)), tick=False):
        user = UserFactory(
            email=f"{name.lower()}.{tag}@example.nhs.uk", full_name=f"{name} {surname}"
        )
        profile = ReferrerProfileFactory(user=user, registration_expires_on=registration_expires_on)
        employers = [world.organisation] + ([world.second] if second_scope else [])
        for org in employers:
            EmploymentFactory(
                referrer=profile,
                organisation=org,
                clinical_supervisor=world.supervisor,
                starts_on=datetime.date(2023, 1, 1),
            )
            give_role(user, org, Role.REFERRER)
    world.people[name] = user
    with time_machine.travel(at(granted), tick=False):
        world.entitlements[name] = entitle(
            user, world.organisation, scope, supervisor=world.supervisor, delegate=world.delegate
        )
        if second_scope:
            world.entitlements[f"{name}@second"] = entitle(
                user,
                world.second,
                second_scope,
                supervisor=world.supervisor,
                delegate=world.second_delegate,
            )
        for kind in (RP, CONTRAST, GUIDELINES):
            day = (completed or {}).get(kind, BASELINE)
            add_record(user, kind, day, verified_by=world.delegate)
    return world.entitlements[name]


@pytest.fixture
def world(db) -> World:
    return build_world()


class Clock:
    """Moves the time of a test: `run(day)` is that night's 02:00 control run; `daytime(day)`
    is midday, when people act."""

    def __init__(self, traveller):
        self.traveller = traveller

    def daytime(self, day: datetime.date) -> None:
        self.traveller.move_to(at(day, 12))

    def run(self, day: datetime.date, organisation=None):
        from training.controls import run_controls

        self.traveller.move_to(at(day, 2))
        result = run_controls(on=day, organisation=organisation)
        assert result.errors == []
        return result


@pytest.fixture
def clock():
    with time_machine.travel(at(START, 2), tick=False) as traveller:
        yield Clock(traveller)


def done_for(result, entitlement_or_name) -> list[tuple[str, str]]:
    """(rule, action) of a run's actions about one entitlement (or referrer, by first name)."""
    if isinstance(entitlement_or_name, str):
        return [
            (a.rule, a.action)
            for a in result.actions
            if a.subject.split("(")[-1].startswith(entitlement_or_name + " ")
            or a.subject.startswith(entitlement_or_name + " ")
        ]
    return [
        (a.rule, a.action)
        for a in result.actions
        if a.subject.startswith(entitlement_or_name.reference + " ")
    ]
