"""What training an entitlement needs (principle 4), and whether a referrer's records meet it:
each trigger, groups, the certificate's own expiry, only verified records, CPD, and the
procedure version in force on the day."""

import datetime
from decimal import Decimal

import pytest

from entitlements.models import ExaminationGroup, ProcedureStatus, ScopeItem, TrainingKind
from tests.factories import ProcedureVersionFactory
from training import selectors
from training.models import RecordKind
from training.requirements import Status, cpd_for, record_expiry, requirements_for

from .builders import TODAY, frozen_today, make_record  # noqa: F401 (an autouse fixture)

pytestmark = pytest.mark.django_db

RP = TrainingKind.RADIATION_PROTECTION
CONTRAST = TrainingKind.CONTRAST_SAFETY
MRI = TrainingKind.MRI_SAFETY
RG = TrainingKind.REFERRAL_GUIDELINES
D = datetime.date


def items(*examinations):
    return [ScopeItem(examination=examination) for examination in examinations]


def statuses(requirements) -> dict[str, str]:
    return {requirement.kind: requirement.status for requirement in requirements}


def by_kind(requirements, kind):
    return next(r for r in requirements if r.kind == kind)


@pytest.mark.parametrize(
    ("examination", "needed"),
    [
        ("xr_chest", {RP, RG}),  # ionising
        ("ct_head", {RP, CONTRAST, RG}),  # ionising, and contrast may be given
        ("mr_knee", {MRI, RG}),  # MRI, not ionising
    ],
)
def test_each_trigger_requires_its_training(procedure, catalogue, examination, needed):
    requirements = requirements_for(items(catalogue[examination]), procedure, [], TODAY)

    assert statuses(requirements) == dict.fromkeys(needed, Status.MISSING)
    assert all(r.record is None and r.expires_on is None for r in requirements)


def test_a_group_needs_what_any_of_its_examinations_needs(trust, procedure, catalogue):
    group = ExaminationGroup.objects.create(organisation=trust, name="Knee, any modality")
    group.examinations.set([catalogue["xr_chest"], catalogue["mr_knee"]])
    group_item = ScopeItem(group=group)
    plain = items(catalogue["xr_chest"])[0]

    requirements = requirements_for([group_item, plain], procedure, [], TODAY)

    assert set(statuses(requirements)) == {RP, MRI, RG}
    assert by_kind(requirements, MRI).scope_items == [group_item]
    assert by_kind(requirements, RP).scope_items == [group_item, plain]


def test_a_verified_record_meets_its_requirement_for_the_procedures_validity(
    referrer, delegate, procedure, catalogue
):
    record = make_record(referrer, RG, D(2025, 1, 10), verified_by=delegate)

    requirements = requirements_for(items(catalogue["xr_chest"]), procedure, [record], TODAY)

    guidelines = by_kind(requirements, RG)
    assert guidelines.record == record
    assert guidelines.expires_on == D(2027, 1, 10)  # 24 months
    assert guidelines.status == Status.VALID
    assert by_kind(requirements, RP).status == Status.MISSING  # a record meets only its kind


@pytest.mark.parametrize(
    ("on", "status"),
    [
        (D(2026, 1, 31), Status.VALID),  # 60 days before expiry: not yet within the lead time
        (D(2026, 2, 1), Status.EXPIRING),  # 59 days: within the longest lead time (60)
        (D(2026, 4, 1), Status.EXPIRING),  # its last valid day
        (D(2026, 4, 2), Status.LAPSED),  # the day after
    ],
)
def test_a_record_is_expiring_within_the_lead_time_then_lapsed(
    referrer, delegate, procedure, catalogue, on, status
):
    record = make_record(referrer, RG, D(2024, 4, 1), verified_by=delegate)

    requirement = by_kind(
        requirements_for(items(catalogue["xr_chest"]), procedure, [record], on), RG
    )

    assert requirement.expires_on == D(2026, 4, 1)
    assert requirement.status == status


def test_an_earlier_expiry_on_the_certificate_wins_and_a_later_one_changes_nothing(
    referrer, delegate, procedure, catalogue
):
    earlier = make_record(
        referrer, RP, D(2025, 6, 1), verified_by=delegate, certificate_expires_on=D(2026, 2, 28)
    )
    assert record_expiry(earlier, 36) == D(2026, 2, 28)
    requirement = by_kind(
        requirements_for(items(catalogue["xr_chest"]), procedure, [earlier], TODAY), RP
    )
    assert (requirement.expires_on, requirement.status) == (D(2026, 2, 28), Status.LAPSED)

    later = make_record(
        referrer, RP, D(2025, 6, 1), verified_by=delegate, certificate_expires_on=D(2030, 1, 1)
    )
    assert record_expiry(later, 36) == D(2028, 6, 1)


def test_unverified_and_rejected_records_do_not_count(referrer, delegate, procedure, catalogue):
    records = [
        make_record(referrer, RP, D(2026, 1, 5)),  # waiting for verification
        make_record(referrer, RP, D(2026, 1, 6), rejected_by=delegate),
    ]

    requirement = by_kind(
        requirements_for(items(catalogue["xr_chest"]), procedure, records, TODAY), RP
    )

    assert requirement.record is None
    assert requirement.status == Status.MISSING


def test_the_record_that_stays_valid_longest_is_the_one_shown(
    referrer, delegate, procedure, catalogue
):
    old = make_record(referrer, RP, D(2023, 5, 1), verified_by=delegate)
    new = make_record(referrer, RP, D(2025, 5, 1), verified_by=delegate)
    future = make_record(referrer, RP, D(2026, 3, 1), verified_by=delegate)

    requirement = by_kind(
        requirements_for(
            items(catalogue["xr_chest"]), procedure, [old, new, future], D(2026, 2, 1)
        ),
        RP,
    )

    # A record completed after the day asked about does not count on that day.
    assert requirement.record == new
    assert requirement.expires_on == D(2028, 5, 1)


def test_cpd_counts_verified_hours_in_the_year_up_to_the_day(referrer, delegate, procedure):
    procedure.cpd_hours_per_year = 10
    records = [
        make_record(
            referrer, RecordKind.CPD, D(2025, 3, 3), hours=Decimal("4"), verified_by=delegate
        ),
        make_record(
            referrer, RecordKind.CPD, D(2025, 3, 2), hours=Decimal("3"), verified_by=delegate
        ),
        make_record(referrer, RecordKind.CPD, D(2026, 1, 10), hours=Decimal("5")),  # unverified
        make_record(
            referrer, RecordKind.CPD, D(2026, 1, 12), hours=Decimal("4.5"), verified_by=delegate
        ),
        make_record(referrer, RG, D(2026, 1, 12), hours=Decimal("6"), verified_by=delegate),
    ]

    cpd = cpd_for(procedure, records, TODAY)

    assert cpd.since == D(2025, 3, 3)  # a year up to and including TODAY
    assert cpd.hours_done == Decimal("8.5")  # 2 March 2025 is outside; unverified and non-CPD not
    assert (cpd.status, cpd.status_label) == (Status.MISSING, "Short")

    records.append(
        make_record(
            referrer, RecordKind.CPD, D(2026, 2, 1), hours=Decimal("1.5"), verified_by=delegate
        )
    )
    assert cpd_for(procedure, records, TODAY).status_label == "Met"

    procedure.cpd_hours_per_year = None
    assert cpd_for(procedure, records, TODAY) is None


@pytest.fixture
def shorter_version(procedure, org_admin):
    """Version 2 of the procedure, from 1 June 2026: referral guidelines valid 12 months,
    and CPD of 10 hours a year."""
    version = ProcedureVersionFactory(
        procedure=procedure.procedure,
        number=2,
        status=ProcedureStatus.PUBLISHED,
        effective_from=D(2026, 6, 1),
        document_reference="RAD-POL-012 v5",
        created_by=org_admin,
        published_by=org_admin,
        published_at=datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC),
        cpd_hours_per_year=10,
    )
    for rule in procedure.training_rules.all():
        version.training_rules.create(
            training_kind=rule.training_kind,
            required_for=rule.required_for,
            validity_months=12 if rule.training_kind == RG else rule.validity_months,
        )
    return version


def test_a_new_procedure_version_changes_the_status_from_the_day_it_starts(
    referrer, delegate, entitlement, procedure, shorter_version
):
    profile = referrer.referrer_profile
    make_record(referrer, RG, D(2025, 9, 10), verified_by=delegate)

    before = selectors.training_status_of_referrer(profile, D(2026, 5, 31))[0]
    after = selectors.training_status_of_referrer(profile, D(2026, 6, 1))[0]

    assert before.entitlement == after.entitlement == entitlement
    assert before.version == procedure and after.version == shorter_version
    assert (
        by_kind(before.requirements, RG).expires_on,
        by_kind(before.requirements, RG).status,
    ) == (
        D(2027, 9, 10),
        Status.VALID,
    )
    assert (by_kind(after.requirements, RG).expires_on, by_kind(after.requirements, RG).status) == (
        D(2026, 9, 10),
        Status.VALID,
    )
    assert (
        by_kind(
            selectors.training_status_of_referrer(profile, D(2026, 7, 20))[0].requirements, RG
        ).status
        == Status.EXPIRING
    )
    assert before.cpd is None and after.cpd.hours_required == 10


def test_every_live_entitlement_is_listed_with_all_its_scope(referrer, delegate, entitlement):
    [status] = selectors.training_status_of_referrer(referrer.referrer_profile, TODAY)

    # XR chest and CT head with contrast: radiation protection, contrast safety, guidelines.
    assert statuses(status.requirements) == {
        CONTRAST: Status.MISSING,
        RP: Status.MISSING,
        RG: Status.MISSING,
    }
    assert len(by_kind(status.requirements, RP).scope_items) == 2
    assert status.worst_status == Status.MISSING


def test_the_status_of_a_referrer_is_read_in_a_few_queries(
    referrer, delegate, entitlement, django_assert_max_num_queries
):
    for kind in (RP, CONTRAST, RG):
        make_record(referrer, kind, D(2025, 6, 1), verified_by=delegate)
    profile = referrer.referrer_profile

    with django_assert_max_num_queries(8):
        [status] = selectors.training_status_of_referrer(profile, TODAY)
        assert {r.status for r in status.requirements} == {Status.VALID}
