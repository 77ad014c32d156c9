"""The training candidates at scale: the query that narrows an organisation's live
entitlements to those that may have training lapsed, missing or expiring (the queue, the
governance dashboard and the control run start from it) gives exactly what the correlated
`EXISTS` per rule it replaced gave, and what each candidate's scope needs is what
`requirements.item_needs` says, on every day and lead time, for every shape of scope and
record."""

import datetime
import functools
import operator
import random

import pytest
from dateutil.relativedelta import relativedelta
from django.db.models import Exists, OuterRef, Q

from audits.selectors import dashboard
from entitlements.models import (
    LIVE_STATES,
    Entitlement,
    EntitlementState,
    ExaminationGroup,
    RequirementTrigger,
    ScopeItem,
    ScopeItemState,
)
from tests.api.helpers import clone_entitlements
from tests.factories import ExaminationFactory
from training import selectors
from training.models import TrainingRecord
from training.requirements import item_needs, requirements_for
from training.selectors.controls import MONTH_END_SLACK

from .builders import TODAY, frozen_today, make_record  # noqa: F401 (an autouse fixture)

pytestmark = pytest.mark.django_db

D = datetime.date


def reference_candidates(organisation, version, on, beyond_days):
    """The candidates as the correlated `EXISTS` per rule gave them (the form the query
    replaced, kept here as the reference)."""

    def needing(rule):
        items = ScopeItem.objects.filter(entitlement=OuterRef("pk"))
        if rule.required_for != RequirementTrigger.ALL:
            flag = rule.required_for
            items = items.filter(
                Q(**{f"examination__{flag}": True}) | Q(**{f"group__examinations__{flag}": True})
            )
        return Exists(items)

    def clearly_valid(rule):
        threshold = on + datetime.timedelta(days=beyond_days)
        earliest = (
            threshold
            - relativedelta(months=rule.validity_months)
            + datetime.timedelta(days=MONTH_END_SLACK)
        )
        return Exists(
            TrainingRecord.objects.filter(
                referrer=OuterRef("referrer"),
                kind=rule.training_kind,
                verified_at__isnull=False,
                rejected_at__isnull=True,
                completed_on__lte=on,
                completed_on__gte=earliest,
            ).filter(
                Q(certificate_expires_on__isnull=True) | Q(certificate_expires_on__gt=threshold)
            )
        )

    conditions = [
        Q(needing(rule)) & ~Q(clearly_valid(rule)) for rule in version.training_rules.all()
    ]
    return set(
        Entitlement.objects.filter(organisation=organisation, state__in=LIVE_STATES)
        .filter(functools.reduce(operator.or_, conditions))
        .values_list("pk", flat=True)
    )


@pytest.fixture
def crowd(trust, other_trust, referrer, delegate, entitlement, procedure, catalogue):
    """Sixty referrers of the trust, each with a scope of its own shape (examinations and
    groups, flagged directly or through a member, suspended items, an empty group, no items
    at all) and records of every sort (verified, unverified, rejected, an earlier
    certificate expiry, completed in the future, near month ends); some entitlements ended,
    and one at another trust that must never appear."""
    rng = random.Random(9)  # noqa: S311 (test data, not security)
    xr, ct, mr = catalogue["xr_chest"], catalogue["ct_head"], catalogue["mr_knee"]
    us = ExaminationFactory(
        organisation=trust, code="UABDO", modality="US", ionising=False, name="US abdomen"
    )
    groups = {}
    for name, members in {
        "mr only": [mr],
        "ct and xr": [ct, xr],
        "us only": [us],
        "empty": [],
        "mixed": [us, mr, xr],
    }.items():
        groups[name] = ExaminationGroup.objects.create(organisation=trust, name=name)
        groups[name].examinations.set(members)
    shapes = [
        [xr],
        [ct],
        [mr],
        [us],
        [groups["mr only"]],
        [groups["ct and xr"]],
        [groups["us only"]],
        [groups["empty"]],
        [groups["mixed"], us],
        [xr, groups["mr only"]],
        [],
    ]
    clones = clone_entitlements(entitlement, 60, prefix="Cand", series=71)
    ScopeItem.objects.filter(entitlement__in=clones).delete()
    for n, clone in enumerate(clones):
        for subject in shapes[n % len(shapes)]:
            field = "group" if isinstance(subject, ExaminationGroup) else "examination"
            ScopeItem.objects.create(
                entitlement=clone,
                state=ScopeItemState.SUSPENDED if n % 7 == 3 else ScopeItemState.ACTIVE,
                **{field: subject},
            )
        if n % 13 == 5:
            Entitlement.objects.filter(pk=clone.pk).update(state=EntitlementState.REVOKED)
        elif n % 9 == 4:
            Entitlement.objects.filter(pk=clone.pk).update(state=EntitlementState.SUSPENDED)
        for rule in procedure.training_rules.all():
            for _ in range(rng.choice([0, 1, 1, 2])):
                completed = D(2022, 1, 31) + datetime.timedelta(days=rng.randrange(0, 1800))
                if rng.random() < 0.2:  # a month end
                    completed = completed.replace(day=1) - datetime.timedelta(days=1)
                sort = rng.choice(["verified"] * 5 + ["unverified", "rejected", "certificate"])
                make_record(
                    clone.referrer,
                    rule.training_kind,
                    completed,
                    verified_by=delegate if sort in ("verified", "certificate") else None,
                    rejected_by=delegate if sort == "rejected" else None,
                    certificate_expires_on=(
                        completed + datetime.timedelta(days=rng.randrange(30, 700))
                        if sort == "certificate"
                        else None
                    ),
                )
    # Another trust's entitlement, with the same scope and no records: never this trust's.
    elsewhere = clone_entitlements(entitlement, 1, prefix="Elsewhere", series=72)[0]
    Entitlement.objects.filter(pk=elsewhere.pk).update(organisation=other_trust)
    return {"elsewhere": elsewhere}


def test_the_candidates_are_those_of_an_exists_per_rule_on_every_day(trust, procedure, crowd):
    days = [TODAY + datetime.timedelta(days=n) for n in range(-400, 800, 37)]
    days += [D(2026, 2, 28), D(2026, 3, 31), D(2026, 8, 31), D(2027, 2, 28)]
    seen = set()
    for day in days:
        for beyond_days in (0, 7, 60, 90):
            listed = set(
                selectors.training_candidates(
                    trust, procedure, day, beyond_days=beyond_days
                ).values_list("pk", flat=True)
            )
            assert listed == reference_candidates(trust, procedure, day, beyond_days), (
                day,
                beyond_days,
            )
            seen |= listed
    assert 20 < len(seen) < Entitlement.objects.filter(organisation=trust).count()
    assert crowd["elsewhere"].pk not in seen


def test_what_each_candidate_needs_is_what_its_scope_items_need(trust, procedure, crowd):
    rules = list(procedure.training_rules.all())
    for day in (TODAY, TODAY + datetime.timedelta(days=300)):
        needs = selectors.candidate_needs_at(trust, procedure, day, beyond_days=90)
        assert needs
        entitlements = Entitlement.objects.filter(pk__in=list(needs)).prefetch_related(
            selectors.scope_items_prefetch()
        )
        for entitlement in entitlements:
            items = list(entitlement.scope_items.all())
            expected = [r for r in rules if any(item_needs(item, r) for item in items)]
            assert needs[entitlement.pk] == (entitlement.referrer_id, expected)


def test_the_dashboard_counts_every_live_entitlement_as_a_full_computation_would(
    trust, procedure, crowd
):
    """The dashboard reads only the candidates and what their scopes need: its training and
    modality figures are those of computing every live entitlement's scope in Python."""
    live = list(
        Entitlement.objects.filter(organisation=trust, state__in=LIVE_STATES).prefetch_related(
            selectors.scope_items_prefetch()
        )
    )
    records = selectors.records_of_referrers({e.referrer_id for e in live}, counting_only=True)
    for day in (TODAY, TODAY + datetime.timedelta(days=200)):
        lapsed, expiring = 0, {30: 0, 60: 0, 90: 0}
        for entitlement in live:
            for requirement in requirements_for(
                list(entitlement.scope_items.all()),
                procedure,
                records[entitlement.referrer_id],
                day,
            ):
                if requirement.status in ("lapsed", "missing"):
                    lapsed += 1
                elif requirement.expires_on is not None:
                    for days in expiring:
                        if (requirement.expires_on - day).days <= days:
                            expiring[days] += 1
        bars = dashboard._training(trust, day)
        assert [bar.value for bar in bars] == [lapsed, *expiring.values()]
        assert lapsed

    modalities = {}
    for entitlement in live:
        seen = set()
        for item in entitlement.scope_items.all():
            exams = [item.examination] if item.examination_id else item.group.examinations.all()
            seen |= {exam.modality for exam in exams}
        for modality in seen:
            modalities[modality] = modalities.get(modality, 0) + 1
    bars = {bar.label[-3:-1].strip("("): bar.value for bar in dashboard._by_modality(trust)}
    assert bars == modalities


def test_no_rules_no_candidates(trust, procedure, entitlement):
    procedure.training_rules.all().delete()
    assert not selectors.training_candidates(trust, procedure, TODAY).exists()
    assert selectors.candidate_needs_at(trust, procedure, TODAY, 90) == {}


def test_an_unverified_or_rejected_record_leaves_the_entitlement_a_candidate(
    trust, referrer, delegate, entitlement, procedure
):
    for rule in procedure.training_rules.all():
        make_record(referrer, rule.training_kind, D(2026, 1, 5), verified_by=delegate)
    assert not selectors.training_candidates(trust, procedure, TODAY).exists()

    TrainingRecord.objects.filter(kind="contrast_safety").update(verified_at=None, verified_by=None)
    assert list(selectors.training_candidates(trust, procedure, TODAY)) == [entitlement]

    record = TrainingRecord.objects.get(kind="contrast_safety")
    record.rejected_at, record.rejected_by = record.recorded_at, delegate
    record.save()
    assert list(selectors.training_candidates(trust, procedure, TODAY)) == [entitlement]
