"""Reads of the automatic control run (principles 6, 8 and 9): who is due for what.

Every rule first selects its candidates *by condition* in one SQL query (never by date
equality, so a night the worker was down is caught up the next day), walked in batches by
primary key; each batch is then loaded with everything the rule reads in a fixed number of
queries (`load_snapshots`), and `training.controls` decides each candidate exactly.

A training candidate is a superset: a live entitlement that needs some kind of training for
which the referrer has no verified record that is *clearly* valid beyond the lead time
(completed more than a week later than the validity strictly needs, to allow for month
ends, and no earlier expiry on its certificate). Anything left out has a record valid
beyond the lead time for everything it needs.
"""

import datetime
import functools
import operator
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from dateutil.relativedelta import relativedelta
from django.db.models import (
    CharField,
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Concat

from entitlements import selectors as entitlement_selectors
from entitlements.models import (
    LIVE_STATES,
    Entitlement,
    ProcedureStatus,
    ProcedureTrainingRule,
    ProcedureVersion,
    RequirementTrigger,
    ScopeItem,
)
from referrers import selectors as people
from referrers.models import Organisation, User

from ..models import OPEN_LAPSE_STATES, ControlAction, LapseState, TrainingLapse, TrainingRecord
from .records import records_of_referrers, scope_items_prefetch

# Ledger rules whose actions on an entitlement the training renewal takes into account.
OTHER_RULES = ("registration.lapse", "review.overdue")
# Registration actions that start an episode (the person's registration has lapsed).
REGISTRATION_EPISODE_STARTS = ("suspended", "held")
REGISTRATION_EPISODE_ENDS = ("queued", "cleared")
# Days of slack in "clearly valid": adding months clips at month ends by up to three days.
MONTH_END_SLACK = 7


# --- Organisations ---------------------------------------------------------------------------


def organisations_to_control(
    on: datetime.date, organisation: Organisation | None = None
) -> list[tuple[Organisation, ProcedureVersion]]:
    """Each organisation with a published procedure version in force on `on` (or only
    `organisation`), with that version (its training rules prefetched), by ODS code."""
    if organisation is not None:
        organisations = [organisation]
    else:
        organisations = (
            Organisation.objects.filter(
                procedure__versions__status=ProcedureStatus.PUBLISHED,
                procedure__versions__effective_from__lte=on,
            )
            .distinct()
            .order_by("ods_code")
        )
    result = []
    for each in organisations:
        version = entitlement_selectors.procedure_version_in_force(each, on=on)
        if version is not None:
            result.append((each, version))
    return result


def ods_codes_to_control(on: datetime.date) -> list[str]:
    """The ODS codes of the organisations with a procedure version in force on `on`."""
    return list(
        Organisation.objects.filter(
            procedure__versions__status=ProcedureStatus.PUBLISHED,
            procedure__versions__effective_from__lte=on,
        )
        .distinct()
        .order_by("ods_code")
        .values_list("ods_code", flat=True)
    )


def delegates_of(organisation: Organisation, on: datetime.date) -> list[User]:
    """The organisation's entitlement delegates on `on`: a current appointment there and
    the permission to decide. Told about every automatic change and every queued case."""
    users = {}
    for appointment in people.delegate_appointments_at(organisation):
        delegate = appointment.delegate
        if appointment.is_current(on) and delegate.is_active:
            users[delegate.pk] = delegate
    return [
        user
        for user in users.values()
        if people.has_permission(user, "decide_entitlements", organisation)
    ]


# --- Candidates, by condition ----------------------------------------------------------------


def batched_ids(queryset: QuerySet, size: int, field_name: str = "pk") -> Iterator[list[int]]:
    """The values of `field_name` in `queryset`, ascending, `size` at a time: keyset
    pagination, so each batch is one bounded query and nothing unbounded is held."""
    last = None
    while True:
        page = queryset
        if last is not None:
            page = page.filter(**{f"{field_name}__gt": last})
        ids = list(page.order_by(field_name).values_list(field_name, flat=True).distinct()[:size])
        if ids:
            yield ids
        if len(ids) < size:
            return
        last = ids[-1]


def _live_at(organisation: Organisation) -> QuerySet[Entitlement]:
    return Entitlement.objects.filter(organisation=organisation, state__in=LIVE_STATES)


def _needing(rule: ProcedureTrainingRule) -> Exists:
    """Whether an entitlement has a scope item (in any state: a suspended item still needs
    its training) that needs `rule`'s training, as `requirements.item_needs` decides it."""
    items = ScopeItem.objects.filter(entitlement=OuterRef("pk"))
    if rule.required_for != RequirementTrigger.ALL:
        flag = rule.required_for  # ionising, contrast, mri: the examination's own flags
        items = items.filter(
            Q(**{f"examination__{flag}": True}) | Q(**{f"group__examinations__{flag}": True})
        )
    return Exists(items)


def _clearly_valid(rule: ProcedureTrainingRule, on: datetime.date, beyond_days: int) -> Exists:
    """Whether the entitlement's referrer has a verified record of `rule`'s kind that is
    certainly still valid `beyond_days` after `on`."""
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
        ).filter(Q(certificate_expires_on__isnull=True) | Q(certificate_expires_on__gt=threshold))
    )


def training_candidates(
    organisation: Organisation,
    version: ProcedureVersion,
    on: datetime.date,
    *,
    beyond_days: int = 0,
) -> QuerySet[Entitlement]:
    """Live entitlements from `organisation` that need some training, under `version`, for
    which the referrer has no record clearly valid `beyond_days` after `on` (0: lapsed or
    about to; the largest lead time: also due a warning)."""
    conditions = [
        Q(_needing(rule)) & ~Q(_clearly_valid(rule, on, beyond_days))
        for rule in version.training_rules.all()
    ]
    if not conditions:
        return Entitlement.objects.none()
    return _live_at(organisation).filter(functools.reduce(operator.or_, conditions))


def warning_candidates(
    organisation: Organisation, version: ProcedureVersion, on: datetime.date
) -> QuerySet[Entitlement]:
    """Training candidates lapsed or within the longest warning lead time of expiring."""
    return training_candidates(
        organisation, version, on, beyond_days=max(version.warning_lead_days or [0])
    )


def awaiting_renewal() -> Q:
    """`training.renewal` and `training.grace`: a lapse awaiting renewal (the grace period is
    decided from the lapse date when the entitlement is loaded)."""
    return Q(
        Exists(TrainingLapse.objects.filter(entitlement=OuterRef("pk"), state=LapseState.OPEN))
    )


def ended_with_open_lapses() -> Q:
    """Closing lapses: an entitlement that ended (revoked, expired or superseded, by a person
    or a rule) while a lapse was still open or queued."""
    return ~Q(state__in=LIVE_STATES) & Q(
        Exists(
            TrainingLapse.objects.filter(
                entitlement=OuterRef("pk"), state__in=[s.value for s in OPEN_LAPSE_STATES]
            )
        )
    )


def registration_due(on: datetime.date) -> Q:
    """`registration.lapse`: the referrer's registration has lapsed (expired before `on`, or
    marked lapsed) with no registration action yet in this episode, or is in order again
    after an episode the run acted on. Needs the `last_registration` annotation."""
    lapsed = Q(referrer__registration_lapsed=True) | Q(referrer__registration_expires_on__lt=on)
    in_order = Q(referrer__registration_lapsed=False, referrer__registration_expires_on__gte=on)
    outside = Q(last_registration__isnull=True) | Q(last_registration__in=REGISTRATION_EPISODE_ENDS)
    inside = Q(last_registration__in=REGISTRATION_EPISODE_STARTS)
    return Q(state__in=LIVE_STATES) & ((lapsed & outside) | (in_order & inside))


def review_key_expression(policy: str) -> Concat:
    """The idempotency key of a review-overdue action, in SQL (as `rules.review_key`)."""
    return Concat(
        Value("review.overdue:e"),
        Cast("pk", CharField()),
        Value(":"),
        Cast("review_due_on", CharField()),
        Value(f":{policy}"),
        output_field=CharField(),
    )


def review_due(on: datetime.date) -> Q:
    """`review.overdue`: the review date passed before `on` and the version's action has not
    been taken for that date. Needs the `review_key` annotation."""
    taken = ControlAction.objects.filter(idempotency_key=OuterRef("review_key"))
    return Q(state__in=LIVE_STATES, review_due_on__lt=on) & ~Q(Exists(taken))


def entitlement_candidates(
    organisation: Organisation, version: ProcedureVersion, on: datetime.date
) -> QuerySet[Entitlement]:
    """The organisation's entitlements due something from a rule that acts on one
    entitlement at a time: closing lapses, registration, review, renewal or grace. One query
    for all of them (each rule decides exactly, on the loaded entitlement)."""
    last_registration = Subquery(
        ControlAction.objects.filter(entitlement=OuterRef("pk"), rule="registration.lapse")
        .order_by("-id")
        .values("action")[:1]
    )
    return (
        Entitlement.objects.filter(organisation=organisation)
        .annotate(
            last_registration=last_registration,
            review_key=review_key_expression(version.review_overdue_action),
        )
        .filter(
            ended_with_open_lapses()
            | registration_due(on)
            | review_due(on)
            | (Q(state__in=LIVE_STATES) & awaiting_renewal())
        )
    )


# --- One batch, loaded whole ------------------------------------------------------------------


@dataclass
class RuleAction:
    """A ledger row of another rule on the entitlement (registration, review)."""

    rule: str
    action: str
    key: str
    created_at: datetime.datetime


@dataclass
class Snapshot:
    """One entitlement and everything the control rules read about it."""

    entitlement: Entitlement
    items: list[ScopeItem]
    lapses: list[TrainingLapse]  # open or queued
    lapse_counts: dict[str, int]  # every lapse ever, by training kind
    records: list[TrainingRecord]  # verified and unrejected
    rule_actions: list[RuleAction] = field(default_factory=list)
    successor: Entitlement | None = None

    def open_lapse(self, kind: str) -> TrainingLapse | None:
        return next((lapse for lapse in self.lapses if lapse.training_kind == kind), None)


def load_snapshots(ids: Iterable[int]) -> dict[int, Snapshot]:
    """The entitlements `ids`, each with its scope (examinations and groups' members), its
    open and queued lapses, how many lapses of each kind it ever had, the referrer's counting
    records, the registration and review actions on it, and its successor if a variation
    superseded it. Nine queries for any number of ids."""
    ids = list(ids)
    entitlements = list(
        Entitlement.objects.filter(pk__in=ids)
        .select_related("referrer__user", "organisation", "clinical_supervisor")
        .prefetch_related(scope_items_prefetch())
    )
    lapses: dict[int, list[TrainingLapse]] = defaultdict(list)
    for lapse in TrainingLapse.objects.filter(
        entitlement_id__in=ids, state__in=[s.value for s in OPEN_LAPSE_STATES]
    ).order_by("id"):
        lapses[lapse.entitlement_id].append(lapse)
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for row in (
        TrainingLapse.objects.filter(entitlement_id__in=ids)
        .values("entitlement_id", "training_kind")
        .annotate(n=Count("id"))
        .order_by()
    ):
        counts[row["entitlement_id"]][row["training_kind"]] = row["n"]
    actions: dict[int, list[RuleAction]] = defaultdict(list)
    for entitlement_id, rule, action, key, created_at in (
        ControlAction.objects.filter(entitlement_id__in=ids, rule__in=OTHER_RULES)
        .order_by("id")
        .values_list("entitlement_id", "rule", "action", "idempotency_key", "created_at")
    ):
        actions[entitlement_id].append(RuleAction(rule, action, key, created_at))
    successors = {
        successor.supersedes_id: successor
        for successor in Entitlement.objects.filter(supersedes_id__in=ids)
    }
    records = records_of_referrers({e.referrer_id for e in entitlements}, counting_only=True)
    return {
        entitlement.pk: Snapshot(
            entitlement=entitlement,
            items=list(entitlement.scope_items.all()),
            lapses=lapses[entitlement.pk],
            lapse_counts=counts[entitlement.pk],
            records=records[entitlement.referrer_id],
            rule_actions=actions[entitlement.pk],
            successor=successors.get(entitlement.pk),
        )
        for entitlement in entitlements
    }


def control_actions_at(organisation: Organisation, run_date: datetime.date | None = None):
    """The control run's ledger at `organisation` (for one run date, if given), in order."""
    actions = ControlAction.objects.filter(organisation=organisation).select_related(
        "entitlement", "referrer__user", "procedure_version__procedure__organisation"
    )
    if run_date is not None:
        actions = actions.filter(run_date=run_date)
    return actions.order_by("created_at", "id")


# --- audit.overdue and feedback.threshold (principles 7 and 10) ------------------------------


def audit_overdue_keys(prefix: str = "") -> tuple[Concat, Concat]:
    """The idempotency keys of an overdue audit's actions, in SQL (as
    `controls.audits.audit_key`): warned, and suspended (or held)."""

    def key(action: str) -> Concat:
        return Concat(
            Value("audit.overdue:a"),
            Cast(f"{prefix}pk", CharField()),
            Value(f":{action}"),
            output_field=CharField(),
        )

    return key("warned"), key("suspended")


def audit_overdue_candidates(organisation: Organisation, version: ProcedureVersion, on):
    """`audit.overdue`: open audit cycles of the organisation's live entitlements due before
    `on` whose warning has not been sent, or whose suspension is due (the procedure
    suspends, and the due date is more than its days ago) and not yet taken."""
    from audits.models import AuditCycle, CycleStatus

    warned, suspended = audit_overdue_keys()
    taken = ControlAction.objects.filter
    due = Q(~Exists(taken(idempotency_key=OuterRef("warned_key"))))
    days = version.audit_overdue_suspend_after_days
    if version.audit_overdue_action == "suspend" and days:
        due |= Q(due_on__lt=on - datetime.timedelta(days=days)) & ~Q(
            Exists(taken(idempotency_key=OuterRef("suspended_key")))
        )
    return (
        AuditCycle.objects.filter(
            entitlement__organisation=organisation,
            entitlement__state__in=LIVE_STATES,
            status=CycleStatus.OPEN,
            due_on__lt=on,
        )
        .annotate(warned_key=warned, suspended_key=suspended)
        .filter(due)
    )


def load_audit_cycles(ids: Iterable[int]) -> tuple[list, set[str]]:
    """The cycles `ids` with their entitlement and people, and the `audit.overdue` keys
    already taken for them. Two queries for any number of ids."""
    from audits.models import AuditCycle

    cycles = list(
        AuditCycle.objects.filter(pk__in=list(ids))
        .select_related(
            "entitlement__referrer__user",
            "entitlement__organisation",
            "entitlement__clinical_supervisor",
        )
        .order_by("pk")
    )
    keys = [f"audit.overdue:a{c.pk}:{action}" for c in cycles for action in ("warned", "suspended")]
    taken = set(
        ControlAction.objects.filter(idempotency_key__in=keys).values_list(
            "idempotency_key", flat=True
        )
    )
    return cycles, taken


def feedback_window(
    version: ProcedureVersion, on: datetime.date
) -> tuple[datetime.date, datetime.date]:
    """The request dates that count towards `feedback.threshold` on `on`: after the start
    (exclusive) and up to `on` (inclusive), `feedback_window_months` long."""
    return on - relativedelta(months=version.feedback_window_months), on


def feedback_reports(organisation: Organisation, version: ProcedureVersion, on: datetime.date):
    """Upheld reports at the organisation, not yet counted by a threshold action, whose request
    date is in the window."""
    from audits.models import InappropriateReferral, ReportStatus

    start, end = feedback_window(version, on)
    return InappropriateReferral.objects.filter(
        organisation=organisation,
        status=ReportStatus.UPHELD,
        counted_in="",
        referred_on__gt=start,
        referred_on__lte=end,
    )


def feedback_candidates(organisation: Organisation, version: ProcedureVersion, on: datetime.date):
    """`feedback.threshold`: the referrers with at least the procedure's number of such
    reports, as a queryset of referrer ids (one query, grouped in SQL)."""
    return (
        feedback_reports(organisation, version, on)
        .values("referrer_id")
        .annotate(n=Count("id"))
        .filter(n__gte=version.feedback_threshold_count)
        .values_list("referrer_id", flat=True)
        .order_by()
    )


def load_feedback(organisation: Organisation, version: ProcedureVersion, on, referrer_ids):
    """For each referrer: their counting reports (by request date) and their live referral
    entitlements at the organisation. Two queries for any number of referrers."""
    from entitlements.models import EntitlementKind

    reports = defaultdict(list)
    for report in (
        feedback_reports(organisation, version, on)
        .filter(referrer_id__in=list(referrer_ids))
        .order_by("referred_on", "pk")
    ):
        reports[report.referrer_id].append(report)
    entitlements = defaultdict(list)
    for entitlement in (
        _live_at(organisation)
        .filter(referrer_id__in=list(referrer_ids), kind=EntitlementKind.REFERRAL)
        .select_related("referrer__user", "organisation", "clinical_supervisor")
        .order_by("pk")
    ):
        entitlements[entitlement.referrer_id].append(entitlement)
    return reports, entitlements
