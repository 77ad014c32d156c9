"""The governance lead's dashboard of one employer: a fixed number of queries however many
referrers it has (aggregates in SQL; training statuses from the control run's candidates,
loaded in bulk).

The caller has checked `view_governance` at the organisation (`OrganisationMixin`); every
query here is filtered by that organisation.
"""

import datetime
import statistics
from dataclasses import dataclass, field

from dateutil.relativedelta import relativedelta
from django.db import connection
from django.db.models import Avg, Count, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from entitlements import selectors as entitlement_selectors
from entitlements.modalities import Modality
from entitlements.models import (
    LIVE_STATES,
    Decision,
    DecisionOutcome,
    Entitlement,
    EntitlementKind,
    Examination,
    ExaminationGroup,
    ScopeItem,
)
from referrers import selectors as people
from referrers.models import LevelOfPractice, Organisation
from referrers.regulators import Profession
from training import selectors as training_selectors
from training.requirements import Status

from ..models import AuditCycle, AuditOutcome, CycleStatus, InappropriateReferral, ReportStatus

EXPIRY_BUCKETS = (30, 60, 90)
MONTHS_SHOWN = 12


@dataclass
class Bar:
    label: str
    value: float
    text: str = ""  # how the value is written, if not as a whole number

    @property
    def shown(self) -> str:
        return self.text or f"{self.value:g}"


@dataclass
class Dashboard:
    on: datetime.date
    live_entitlements: int
    by_profession: list[Bar]
    by_level: list[Bar]
    by_modality: list[Bar]
    training: list[Bar]
    applications_waiting: int
    median_decision_days: float | None
    decisions_counted: int
    audit_outcomes: list[Bar]
    audits_overdue: int
    audits_waiting: int
    mean_compliance: float | None
    referral_months: list[dict] = field(default_factory=list)
    referral_rate: list[Bar] = field(default_factory=list)
    agreements: list = field(default_factory=list)
    entitled_elsewhere: list[Bar] = field(default_factory=list)


def _live(organisation: Organisation):
    return Entitlement.objects.filter(organisation=organisation, state__in=LIVE_STATES)


def _by_modality(organisation: Organisation) -> list[Bar]:
    """Live entitlements with at least one scope item of each modality (directly or through
    a group): one query, one grouped pass over the live entitlements' scope items, each
    group's modalities read once (an `EXISTS` per modality read every entitlement's scope
    once per modality: 2.8 s at 5,000 live entitlements)."""
    examination = Examination._meta.db_table
    members = ExaminationGroup.examinations.through._meta
    member_of = members.get_field("examinationgroup").column
    member = members.get_field("examination").column
    states = ", ".join(["%s"] * len(LIVE_STATES))
    # A scope item names an examination or a group, never both: its modalities are the
    # examination's, or the group's members'. Built from model metadata; values are parameters.
    sql = (
        "SELECT p.modality, COUNT(*) FROM (SELECT DISTINCT si.entitlement_id, "  # noqa: S608
        "COALESCE(x.modality, gm.modality) AS modality "
        f"FROM {ScopeItem._meta.db_table} si "
        f"INNER JOIN {Entitlement._meta.db_table} e ON e.id = si.entitlement_id "
        f"LEFT JOIN {examination} x ON x.id = si.examination_id "
        f"LEFT JOIN (SELECT DISTINCT m.{member_of} AS group_id, gx.modality "
        f"FROM {members.db_table} m INNER JOIN {examination} gx ON gx.id = m.{member}) gm "
        "ON gm.group_id = si.group_id "
        f"WHERE e.organisation_id = %s AND e.state IN ({states})) p "
        "WHERE p.modality IS NOT NULL GROUP BY p.modality"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [organisation.pk, *LIVE_STATES])
        counts = dict(cursor.fetchall())
    return [Bar(m.label, counts[m.value]) for m in Modality if counts.get(m.value)]


def _training(organisation: Organisation, on: datetime.date) -> list[Bar]:
    """Required training of live entitlements: lapsed or missing now, and expiring within
    30, 60 and 90 days (each bucket on its own: 30 is within 60 too). One entitlement counts
    once per training kind. Two queries: the control run's candidates with what their
    scopes need, and their referrers' records."""
    version = entitlement_selectors.procedure_version_in_force(organisation, on=on)
    buckets = {"lapsed": 0, **dict.fromkeys(EXPIRY_BUCKETS, 0)}
    if version is not None:
        needs = training_selectors.candidate_needs_at(
            organisation, version, on, beyond_days=max(EXPIRY_BUCKETS)
        )
        records = training_selectors.counting_records_of(
            {referrer_id for referrer_id, _ in needs.values()}
        )
        for referrer_id, rules in needs.values():
            for requirement in training_selectors.requirements_needed(
                rules, version, records[referrer_id], on
            ):
                if requirement.status in (Status.LAPSED, Status.MISSING):
                    buckets["lapsed"] += 1
                elif requirement.expires_on is not None:
                    left = (requirement.expires_on - on).days
                    for days in EXPIRY_BUCKETS:
                        if left <= days:
                            buckets[days] += 1
    return [
        Bar("Lapsed or missing now", buckets["lapsed"]),
        *(Bar(f"Expiring within {days} days", buckets[days]) for days in EXPIRY_BUCKETS),
    ]


def _decisions(organisation: Organisation, on: datetime.date) -> tuple[float | None, int]:
    """The median days from submission to decision over the last 12 months."""
    since = on - relativedelta(months=12)
    # From the first moment of the day after `since`, local time: the same rows as
    # `created_at__date__gt=since`, but a range the index and planner can use rather than a
    # time-zone conversion of every decision's timestamp.
    start = timezone.make_aware(
        datetime.datetime.combine(since + datetime.timedelta(days=1), datetime.time.min)
    )
    rows = (
        Decision.objects.filter(
            application__organisation=organisation,
            outcome__in=[DecisionOutcome.GRANTED, DecisionOutcome.DECLINED],
            created_at__gte=start,
            application__submitted_at__isnull=False,
        )
        .order_by()
        .values_list("created_at", "application__submitted_at")
    )
    days = [(decided - submitted).total_seconds() / 86400 for decided, submitted in rows]
    if not days:
        return None, 0
    return round(statistics.median(days), 1), len(days)


def _audits(organisation: Organisation, on: datetime.date):
    cycles = AuditCycle.objects.filter(entitlement__organisation=organisation)
    totals = cycles.aggregate(
        overdue=Count(
            "pk",
            filter=Q(status=CycleStatus.OPEN, due_on__lt=on, entitlement__state__in=LIVE_STATES),
        ),
        waiting=Count("pk", filter=Q(status=CycleStatus.SUBMITTED)),
        mean=Avg("compliance_percent", filter=Q(compliance_percent__isnull=False)),
        **{o.value: Count("pk", filter=Q(outcome=o.value)) for o in AuditOutcome},
    )
    outcomes = [Bar(o.label, totals[o.value]) for o in AuditOutcome]
    mean = round(float(totals["mean"]), 1) if totals["mean"] is not None else None
    return outcomes, totals["overdue"], totals["waiting"], mean


def _referrals(organisation: Organisation, on: datetime.date, live_referral: int):
    """Reports by month of the request over the last 12 months, and the upheld rate per 100
    live referral entitlements."""
    first = on.replace(day=1) - relativedelta(months=MONTHS_SHOWN - 1)
    rows = {
        row["month"].date() if isinstance(row["month"], datetime.datetime) else row["month"]: row
        for row in InappropriateReferral.objects.filter(
            organisation=organisation, referred_on__gte=first, referred_on__lte=on
        )
        .annotate(month=TruncMonth("referred_on"))
        .values("month")
        .annotate(
            reported=Count("pk"),
            upheld=Count("pk", filter=Q(status=ReportStatus.UPHELD)),
        )
        .order_by("month")
    }
    months = []
    for i in range(MONTHS_SHOWN):
        month = first + relativedelta(months=i)
        row = rows.get(month, {"reported": 0, "upheld": 0})
        rate = round(row["upheld"] * 100 / live_referral, 1) if live_referral else 0.0
        months.append(
            {
                "label": f"{month:%b %Y}",
                "reported": row["reported"],
                "upheld": row["upheld"],
                "rate": rate,
            }
        )
    return months, [Bar(m["label"], m["rate"], f"{m['rate']:g}") for m in months]


def dashboard_of(organisation: Organisation, on: datetime.date) -> Dashboard:
    live = _live(organisation)
    counts = live.aggregate(
        total=Count("pk"),
        referral=Count("pk", filter=Q(kind=EntitlementKind.REFERRAL)),
        **{f"p_{p.value}": Count("pk", filter=Q(referrer__profession=p.value)) for p in Profession},
        **{
            f"l_{level.value}": Count("pk", filter=Q(employment__level=level.value))
            for level in LevelOfPractice
        },
    )
    median, decided = _decisions(organisation, on)
    outcomes, overdue, waiting, mean = _audits(organisation, on)
    months, rates = _referrals(organisation, on, counts["referral"])
    elsewhere = (
        live.exclude(employment__organisation=organisation)
        .values("employment__organisation__name")
        .annotate(n=Count("pk"))
        .order_by("employment__organisation__name")
    )
    return Dashboard(
        on=on,
        live_entitlements=counts["total"],
        by_profession=[
            Bar(p.label, counts[f"p_{p.value}"]) for p in Profession if counts[f"p_{p.value}"]
        ],
        by_level=[Bar(level.label, counts[f"l_{level.value}"]) for level in LevelOfPractice],
        by_modality=_by_modality(organisation),
        training=_training(organisation, on),
        applications_waiting=entitlement_selectors.application_queue(organisation).count(),
        median_decision_days=median,
        decisions_counted=decided,
        audit_outcomes=outcomes,
        audits_overdue=overdue,
        audits_waiting=waiting,
        mean_compliance=mean,
        referral_months=months,
        referral_rate=rates,
        agreements=list(people.agreements_of(organisation)),
        entitled_elsewhere=[Bar(r["employment__organisation__name"], r["n"]) for r in elsewhere],
    )
