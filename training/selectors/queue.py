"""What needs a delegate at an organisation: the training queue.

Shaped for tens of thousands of referrers: every section is one query (or a count and a
page), and training statuses are computed from records loaded in bulk. The caller has
checked the user's permission at the organisation (`OrganisationMixin`).

Lapsed and expiring training is found in two steps. The database first narrows the live
entitlements to those that need some kind of training for which the referrer has no
verified record that is *clearly* valid beyond the warning lead time (completed at least a
day later than the validity strictly needs, to allow for month ends, and no earlier expiry
on its certificate), and says which training each one's scope needs (one query: see
`controls.training_candidates`). Only those candidates are loaded, with their referrers'
records, and `training.requirements` decides each status exactly. An entitlement left out
by the first step has a record valid beyond the lead time for everything it needs.
"""

import datetime
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet
from django.http import Http404

from entitlements import selectors as entitlement_selectors
from entitlements.models import (
    Entitlement,
    ProcedureTrainingRule,
    ProcedureVersion,
)
from referrers.models import Employment, Organisation, ReferrerProfile

from ..models import TrainingImport, TrainingLapse, TrainingRecord
from ..requirements import Requirement, Status, requirement_of, warning_days
from .controls import _candidates_sql, warning_candidates
from .records import (
    ID_BATCH,
    LIVE_STATES,
    employed_or_entitled_at,
)

SEVERITY = {Status.LAPSED: 0, Status.MISSING: 1, Status.EXPIRING: 2}


def _with_people(entitlements: QuerySet[Entitlement]) -> QuerySet[Entitlement]:
    return entitlements.select_related(
        "referrer__user", "organisation", "employment__organisation", "employment__department"
    )


def unverified_records_at(
    organisation: Organisation, on: datetime.date
) -> QuerySet[TrainingRecord]:
    """Records neither verified nor rejected, of referrers employed or entitled here, the
    longest waiting first."""
    connected = ReferrerProfile.objects.filter(employed_or_entitled_at(organisation, on))
    return (
        TrainingRecord.objects.filter(
            verified_at__isnull=True, rejected_at__isnull=True, referrer__in=connected
        )
        .select_related("referrer__user", "recorded_by")
        .order_by("recorded_at", "id")
    )


def training_candidates_at(
    organisation: Organisation, version: ProcedureVersion, on: datetime.date
) -> QuerySet[Entitlement]:
    """Live entitlements from `organisation` that may have training lapsed, missing or
    expiring on `on` under `version` (its training rules prefetched): a superset, decided
    exactly by `training_problems_at`."""
    return warning_candidates(organisation, version, on)


def candidate_needs_at(
    organisation: Organisation, version: ProcedureVersion, on: datetime.date, beyond_days: int
) -> dict[int, tuple[int, list[ProcedureTrainingRule]]]:
    """The training candidates (`controls.training_candidates` with `beyond_days`), each
    entitlement's id mapped to its referrer's id and the rules of `version` its scope needs
    (every one it needs, covered or not): one query, so a page need not load the scopes to
    know what they need."""
    rules = list(version.training_rules.all())
    if not rules:
        return {}
    sql, params = _candidates_sql(organisation, rules, on, beyond_days)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {
        entitlement_id: (
            referrer_id,
            [rule for rule, need in zip(rules, needs, strict=True) if need],
        )
        for entitlement_id, referrer_id, *needs in rows
    }


def requirements_needed(
    rules: list[ProcedureTrainingRule],
    version: ProcedureVersion,
    records: list[TrainingRecord],
    on: datetime.date,
) -> list[Requirement]:
    """`requirements.requirements_for` for a scope known to need `rules` (in the version's
    order), without its scope items: each with its best verified record and a status."""
    warn_days = warning_days(version)
    return [requirement_of(rule, records, on, warn_days) for rule in rules]


@dataclass
class TrainingProblem:
    """One required training kind of one entitlement that is lapsed, missing or expiring
    (the requirement without its scope items: the queue does not list them). Every problem
    is computed, to be counted and sorted; only the rows shown get their `entitlement`
    loaded (`with_entitlements`)."""

    entitlement_id: int
    referrer_name: str
    requirement: Requirement
    group: str
    employed_elsewhere: bool
    entitlement: Entitlement | None = None


def _group(
    organisation: Organisation, employer_id: int, employer: str, department: str | None
) -> tuple[bool, str]:
    if employer_id == organisation.pk:
        return False, department or "No department recorded"
    return True, f"{employer}, {department}" if department else employer


# What a problem is sorted and grouped by: the entitlement, its referrer's name, and the
# employer and department of the employment it was granted for.
PROBLEM_COLUMNS = (
    "pk",
    "referrer_id",
    "referrer__user__full_name",
    "employment__organisation_id",
    "employment__organisation__name",
    "employment__department__name",
)
# The fields of a training record that a requirement reads.
REQUIREMENT_FIELDS = (
    "referrer_id",
    "kind",
    "completed_on",
    "certificate_expires_on",
    "verified_at",
    "rejected_at",
)


def counting_records_of(referrer_ids: set[int]) -> dict[int, list[TrainingRecord]]:
    """`records.records_of_referrers(counting_only=True)` with only the fields a requirement
    reads: the queue reads every candidate's records to sort them, and builds them by the
    thousand."""
    ids = sorted(referrer_ids)
    result: dict[int, list[TrainingRecord]] = {pk: [] for pk in ids}
    for start in range(0, len(ids), ID_BATCH):
        for record in (
            TrainingRecord.objects.filter(
                referrer_id__in=ids[start : start + ID_BATCH],
                verified_at__isnull=False,
                rejected_at__isnull=True,
            )
            .only(*REQUIREMENT_FIELDS)
            .order_by("referrer_id", "-completed_on", "-id")
        ):
            result[record.referrer_id].append(record)
    return result


def training_problems_at(
    organisation: Organisation, on: datetime.date, version: ProcedureVersion | None = None
) -> list[TrainingProblem]:
    """Every lapsed, missing or expiring training requirement of the live entitlements from
    `organisation` on `on`, grouped by department (referrers employed here) or by employer
    (referrers employed elsewhere and entitled here under an agreement), the most urgent
    first in each group. Three queries, however many entitlements: the candidates with what
    their scopes need, their referrers and employments (as values: only the page's rows are
    loaded whole, by `with_entitlements`), and the referrers' records."""
    version = version or entitlement_selectors.procedure_version_in_force(organisation, on=on)
    if version is None:
        return []
    needs = candidate_needs_at(organisation, version, on, beyond_days=warning_days(version))
    rows = list(Entitlement.objects.filter(pk__in=list(needs)).values_list(*PROBLEM_COLUMNS))
    records = counting_records_of({row[1] for row in rows})
    problems = []
    for pk, referrer_id, name, employer_id, employer, department in rows:
        elsewhere, group = _group(organisation, employer_id, employer, department)
        for requirement in requirements_needed(needs[pk][1], version, records[referrer_id], on):
            if requirement.status != Status.VALID:
                problems.append(TrainingProblem(pk, name, requirement, group, elsewhere))
    problems.sort(
        key=lambda p: (
            p.employed_elsewhere,
            p.group.lower(),
            SEVERITY[p.requirement.status],
            p.requirement.expires_on or datetime.date.min,
            p.referrer_name,
            p.entitlement_id,
        )
    )
    return problems


def with_entitlements(problems: list[TrainingProblem]) -> list[TrainingProblem]:
    """`problems` (the rows of one page) with their entitlements and people: one query."""
    ids = {problem.entitlement_id for problem in problems}
    entitlements = {e.pk: e for e in _with_people(Entitlement.objects.filter(pk__in=ids))}
    for problem in problems:
        problem.entitlement = entitlements[problem.entitlement_id]
    return problems


def lapses_at(organisation: Organisation, state: str) -> QuerySet[TrainingLapse]:
    """Training lapses of the organisation's entitlements in `state` (open: suspended and
    awaiting renewal; queued: renewed, awaiting a delegate), the oldest first."""
    return (
        TrainingLapse.objects.filter(entitlement__organisation=organisation, state=state)
        .select_related(
            "entitlement__referrer__user",
            "entitlement__employment__organisation",
            "entitlement__employment__department",
            "procedure_version__procedure__organisation",
            "renewed_by_record",
        )
        .order_by("suspended_at", "id")
    )


def lapse_at(organisation: Organisation, pk: int) -> TrainingLapse:
    """A training lapse of one of the organisation's entitlements, or 404."""
    lapse = (
        TrainingLapse.objects.select_related("entitlement__referrer__user")
        .filter(pk=pk, entitlement__organisation=organisation)
        .first()
    )
    if lapse is None:
        raise Http404("No such training lapse")
    return lapse


def reviews_overdue_at(organisation: Organisation, on: datetime.date) -> QuerySet[Entitlement]:
    """Live entitlements from `organisation` whose review date has passed."""
    return _with_people(
        Entitlement.objects.filter(
            organisation=organisation, state__in=LIVE_STATES, review_due_on__lt=on
        )
    ).order_by("review_due_on", "id")


def _connected_at(organisation: Organisation, on: datetime.date) -> Q:
    """`records.employed_or_entitled_at` as two id sets, each read once: for a filter over
    every referrer (a correlated `EXISTS` is costed once per referrer, which at 50,000 of
    them set off PostgreSQL's JIT compilation, 0.2 s a query, for a few milliseconds of
    work)."""
    employed = Employment.objects.filter(organisation=organisation).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=on)
    )
    entitled = Entitlement.objects.filter(organisation=organisation, state__in=LIVE_STATES)
    return Q(pk__in=employed.values("referrer_id")) | Q(pk__in=entitled.values("referrer_id"))


def registrations_lapsed_at(
    organisation: Organisation, on: datetime.date
) -> QuerySet[ReferrerProfile]:
    """Referrers employed or entitled here whose registration has expired, or was marked
    lapsed by a delegate."""
    return (
        ReferrerProfile.objects.filter(_connected_at(organisation, on))
        .filter(Q(registration_lapsed=True) | Q(registration_expires_on__lt=on))
        .select_related("user")
        .order_by("registration_expires_on", "id")
    )


def training_imports_at(organisation: Organisation) -> QuerySet[TrainingImport]:
    """The organisation's accepted imports, newest first."""
    return (
        TrainingImport.objects.filter(organisation=organisation)
        .select_related("imported_by")
        .order_by("-imported_at", "-id")
    )
