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
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Concat

from entitlements import selectors as entitlement_selectors
from entitlements.models import (
    LIVE_STATES,
    Entitlement,
    Examination,
    ExaminationGroup,
    ProcedureStatus,
    ProcedureTrainingRule,
    ProcedureVersion,
    RequirementTrigger,
    ScopeItem,
)
from referrers import selectors as people
from referrers.models import Organisation, User

from ..models import OPEN_LAPSE_STATES, ControlAction, LapseState, TrainingLapse, TrainingRecord
from ..requirements import warning_days
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


def _needing(rule: ProcedureTrainingRule) -> str:
    """SQL of whether a scope needs `rule`'s training, as `requirements.item_needs` decides
    it, for the scope items `si` of one entitlement grouped together (in any state: a
    suspended item still needs its training), their examinations `x` and their groups'
    flags `g` (see `_candidates_sql`): 1 or 0."""
    if rule.required_for == RequirementTrigger.ALL:
        return "1"  # every scope (the entitlement has at least one item)
    flag = Examination._meta.get_field(rule.required_for).column  # ionising, contrast, mri
    return f"MAX(CASE WHEN x.{flag} OR g.{flag} = 1 THEN 1 ELSE 0 END)"


def _clearly_valid(
    organisation: Organisation,
    rules: list[ProcedureTrainingRule],
    on: datetime.date,
    beyond_days: int,
) -> tuple[str, list]:
    """SQL of the training that the referrers of the organisation's live entitlements
    have: one row per referrer with a verified record of a kind of `rules`, and a column
    `v<n>` per rule that is 1 when one of their records of its kind is certainly still valid
    `beyond_days` after `on`. One pass over those referrers' records (an `EXISTS` per rule
    probed them again for each)."""
    threshold = on + datetime.timedelta(days=beyond_days)
    flags, params = [], []
    for n, rule in enumerate(rules):
        earliest = (
            threshold
            - relativedelta(months=rule.validity_months)
            + datetime.timedelta(days=MONTH_END_SLACK)
        )
        flags.append(
            f", MAX(CASE WHEN r.kind = %s AND r.completed_on >= %s THEN 1 ELSE 0 END) AS v{n}"
        )
        params += [rule.training_kind, earliest]
    referrers, referrer_params = (
        _live_at(organisation).values("referrer_id").query.sql_with_params()
    )
    kinds = ", ".join(["%s"] * len(rules))
    sql = (
        f"SELECT r.referrer_id{''.join(flags)} FROM {TrainingRecord._meta.db_table} r "  # noqa: S608
        f"WHERE r.referrer_id IN ({referrers}) AND r.kind IN ({kinds}) "
        "AND r.verified_at IS NOT NULL AND r.rejected_at IS NULL AND r.completed_on <= %s "
        "AND (r.certificate_expires_on IS NULL OR r.certificate_expires_on > %s) "
        "GROUP BY r.referrer_id"
    )
    return sql, [*params, *referrer_params, *(r.training_kind for r in rules), on, threshold]


def _candidates_sql(
    organisation: Organisation,
    rules: list[ProcedureTrainingRule],
    on: datetime.date,
    beyond_days: int,
) -> tuple[str, list]:
    """SQL of the training candidates (see `training_candidates`): a row per candidate with
    its `entitlement_id`, `referrer_id`, and a column `need<n>` per rule of `rules` that is
    1 when its scope needs that rule's training (whether or not a record covers it).

    In two steps, so its cost grows with the organisation's entitlements and their
    referrers' records, and the scopes of the few that lack some training: first the live
    entitlements whose referrer lacks a clearly valid record of some kind of `rules` (one
    grouped pass over those referrers' records), then, for those only, what their scopes
    need (one grouped pass over their scope items, each group's members read once). A
    correlated `EXISTS` per rule and entitlement joined every scope to its groups' members
    again for each rule: 0.5 s at 5,000 live entitlements."""
    valid, valid_params = _clearly_valid(organisation, rules, on, beyond_days)
    have = "".join(f", COALESCE(v.v{n}, 0) AS v{n}" for n in range(len(rules)))
    lacking_any = " OR ".join(f"COALESCE(v.v{n}, 0) = 0" for n in range(len(rules)))
    states = ", ".join(["%s"] * len(LIVE_STATES))
    lacking = (
        f"SELECT e.id AS entitlement_id, e.referrer_id{have} "  # noqa: S608
        f"FROM {Entitlement._meta.db_table} e LEFT JOIN ({valid}) v "
        "ON v.referrer_id = e.referrer_id "
        f"WHERE e.organisation_id = %s AND e.state IN ({states}) AND ({lacking_any})"
    )
    examination = Examination._meta.db_table
    members = ExaminationGroup.examinations.through._meta
    member_of = members.get_field("examinationgroup").column
    member = members.get_field("examination").column
    flags = [RequirementTrigger.IONISING, RequirementTrigger.CONTRAST, RequirementTrigger.MRI]
    columns = [Examination._meta.get_field(flag.value).column for flag in flags]
    group_flags = "".join(f", MAX(CASE WHEN gx.{c} THEN 1 ELSE 0 END) AS {c}" for c in columns)
    needs = "".join(f", {_needing(rule)} AS need{n}" for n, rule in enumerate(rules))
    due = " OR ".join(f"({_needing(rule)} = 1 AND l.v{n} = 0)" for n, rule in enumerate(rules))
    # Built from model metadata and the triggers' names only; every value is a parameter.
    sql = (
        f"SELECT l.entitlement_id, l.referrer_id{needs} FROM ({lacking}) l "  # noqa: S608
        f"INNER JOIN {ScopeItem._meta.db_table} si ON si.entitlement_id = l.entitlement_id "
        f"LEFT JOIN {examination} x ON x.id = si.examination_id "
        f"LEFT JOIN (SELECT m.{member_of} AS group_id{group_flags} FROM {members.db_table} m "
        f"INNER JOIN {examination} gx ON gx.id = m.{member} GROUP BY m.{member_of}) g "
        "ON g.group_id = si.group_id "
        "GROUP BY l.entitlement_id, l.referrer_id"
        f"{''.join(f', l.v{n}' for n in range(len(rules)))} HAVING {due}"
    )
    return sql, [*valid_params, organisation.pk, *LIVE_STATES]


def training_candidates(
    organisation: Organisation,
    version: ProcedureVersion,
    on: datetime.date,
    *,
    beyond_days: int = 0,
) -> QuerySet[Entitlement]:
    """Live entitlements from `organisation` that need some training, under `version`, for
    which the referrer has no record clearly valid `beyond_days` after `on` (0: lapsed or
    about to; the largest lead time: also due a warning).

    One query (`_candidates_sql`): what the referrers' records cover, then what the scopes
    of those lacking something need, each in one grouped pass; so it costs the
    organisation's entitlements and their records, not those times the rules (a correlated
    `EXISTS` per rule and entitlement took 0.5 s at 5,000 live entitlements)."""
    rules = list(version.training_rules.all())
    if not rules:
        return Entitlement.objects.none()
    sql, params = _candidates_sql(organisation, rules, on, beyond_days)
    rows = RawSQL(f"SELECT c.entitlement_id FROM ({sql}) c", params)  # noqa: S608, S611
    return _live_at(organisation).filter(pk__in=rows)


def warning_candidates(
    organisation: Organisation, version: ProcedureVersion, on: datetime.date
) -> QuerySet[Entitlement]:
    """Training candidates lapsed or within the longest warning lead time of expiring."""
    return training_candidates(organisation, version, on, beyond_days=warning_days(version))


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


def _entitlements_with_scope(ids: list[int], *, lock: bool = False) -> list[Entitlement]:
    entitlements = Entitlement.objects.filter(pk__in=ids)
    if lock:
        entitlements = entitlements.select_for_update(of=("self",)).order_by("pk")
    return list(
        entitlements.select_related(
            "referrer__user", "organisation", "clinical_supervisor"
        ).prefetch_related(scope_items_prefetch())
    )


def _lapses_of(ids: list[int]) -> tuple[dict[int, list], dict[int, dict[str, int]]]:
    """Each entitlement's open and queued lapses, and how many of each kind it ever had, from
    one read of all its lapses."""
    lapses: dict[int, list[TrainingLapse]] = defaultdict(list)
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    still_open = {s.value for s in OPEN_LAPSE_STATES}
    for lapse in TrainingLapse.objects.filter(entitlement_id__in=ids).order_by("id"):
        kinds = counts[lapse.entitlement_id]
        kinds[lapse.training_kind] = kinds.get(lapse.training_kind, 0) + 1
        if lapse.state in still_open:
            lapses[lapse.entitlement_id].append(lapse)
    return lapses, counts


def _rule_actions_of(ids: list[int]) -> dict[int, list[RuleAction]]:
    actions: dict[int, list[RuleAction]] = defaultdict(list)
    for entitlement_id, rule, action, key, created_at in (
        ControlAction.objects.filter(entitlement_id__in=ids, rule__in=OTHER_RULES)
        .order_by("id")
        .values_list("entitlement_id", "rule", "action", "idempotency_key", "created_at")
    ):
        actions[entitlement_id].append(RuleAction(rule, action, key, created_at))
    return actions


def load_snapshots(ids: Iterable[int], *, lock: bool = False) -> dict[int, Snapshot]:
    """The entitlements `ids`, each with its scope (examinations and groups' members), its
    open and queued lapses, how many lapses of each kind it ever had, the referrer's counting
    records, the registration and review actions on it, and its successor if a variation
    superseded it. Eight queries for any number of ids. With `lock` (inside a transaction),
    the first of them locks the entitlements' rows, in order of id."""
    ids = list(ids)
    entitlements = _entitlements_with_scope(ids, lock=lock)
    lapses, counts = _lapses_of(ids)
    actions = _rule_actions_of(ids)
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


def reload_snapshot(snapshot: Snapshot) -> Snapshot | None:
    """`snapshot` read again after the control run changed its entitlement (inside its row
    lock): the entitlement, its scope, its lapses and the ledger's actions on it. What a
    control action never changes is kept: the referrer's records and registration, and the
    successor. Five queries, against eight for a first read."""
    pk = snapshot.entitlement.pk
    entitlements = _entitlements_with_scope([pk])
    if not entitlements:
        return None
    entitlement = entitlements[0]
    lapses, counts = _lapses_of([pk])
    return Snapshot(
        entitlement=entitlement,
        items=list(entitlement.scope_items.all()),
        lapses=lapses[pk],
        lapse_counts=counts[pk],
        records=snapshot.records,
        rule_actions=_rule_actions_of([pk])[pk],
        successor=snapshot.successor,
    )


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
