"""What needs a delegate at an organisation: the training queue.

Shaped for tens of thousands of referrers: every section is one query (or a count and a
page), and training statuses are computed from records loaded in bulk. The caller has
checked the user's permission at the organisation (`OrganisationMixin`).

Lapsed and expiring training is found in two steps. The database first narrows the live
entitlements to those that need some kind of training for which the referrer has no
verified record that is *clearly* valid beyond the warning lead time (completed at least a
day later than the validity strictly needs, to allow for month ends, and no earlier expiry
on its certificate). Only those candidates are loaded, with their scope and records, and
`training.requirements` decides each status exactly. An entitlement left out by the first
step has a record valid beyond the lead time for everything it needs.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.http import Http404

from entitlements import selectors as entitlement_selectors
from entitlements.models import (
    Entitlement,
    ProcedureVersion,
)
from referrers.models import Organisation, ReferrerProfile

from ..models import TrainingImport, TrainingLapse, TrainingRecord
from ..requirements import Requirement, Status
from .controls import warning_candidates
from .records import (
    LIVE_STATES,
    VersionCache,
    employed_or_entitled_at,
    records_of_referrers,
    scope_items_prefetch,
    training_status,
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


@dataclass(frozen=True)
class TrainingProblem:
    """One required training kind of one entitlement that is lapsed, missing or expiring."""

    entitlement: Entitlement
    requirement: Requirement
    group: str
    employed_elsewhere: bool


def _group(entitlement: Entitlement, organisation: Organisation) -> tuple[bool, str]:
    employment = entitlement.employment
    department = employment.department.name if employment.department_id else ""
    if employment.organisation_id == organisation.pk:
        return False, department or "No department recorded"
    employer = employment.organisation.name
    return True, f"{employer}, {department}" if department else employer


def training_problems_at(
    organisation: Organisation, on: datetime.date, version: ProcedureVersion | None = None
) -> list[TrainingProblem]:
    """Every lapsed, missing or expiring training requirement of the live entitlements from
    `organisation` on `on`, grouped by department (referrers employed here) or by employer
    (referrers employed elsewhere and entitled here under an agreement), the most urgent
    first in each group. A fixed number of queries, however many entitlements."""
    version = version or entitlement_selectors.procedure_version_in_force(organisation, on=on)
    if version is None:
        return []
    entitlements = list(
        _with_people(training_candidates_at(organisation, version, on)).prefetch_related(
            scope_items_prefetch()
        )
    )
    records = records_of_referrers({e.referrer_id for e in entitlements}, counting_only=True)
    versions = VersionCache(on, known={organisation.pk: version})
    problems = []
    for entitlement in entitlements:
        status = training_status([entitlement], records[entitlement.referrer_id], on, versions)[0]
        elsewhere, group = _group(entitlement, organisation)
        for requirement in status.requirements:
            if requirement.status != Status.VALID:
                problems.append(TrainingProblem(entitlement, requirement, group, elsewhere))
    problems.sort(
        key=lambda p: (
            p.employed_elsewhere,
            p.group.lower(),
            SEVERITY[p.requirement.status],
            p.requirement.expires_on or datetime.date.min,
            p.entitlement.referrer.user.full_name,
            p.entitlement.pk,
        )
    )
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


def registrations_lapsed_at(
    organisation: Organisation, on: datetime.date
) -> QuerySet[ReferrerProfile]:
    """Referrers employed or entitled here whose registration has expired, or was marked
    lapsed by a delegate."""
    return (
        ReferrerProfile.objects.filter(employed_or_entitled_at(organisation, on))
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
