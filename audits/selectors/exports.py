"""The governance lead's CSV exports of one employer: rows as plain values, read in batches by
primary key (a fixed number of queries per batch, never one per row). The view neutralises
formula cells when it writes them (`audits.csv_export`)."""

import datetime
from collections.abc import Iterator

from entitlements.models import LIVE_STATES, Entitlement
from referrers.models import Organisation
from training import selectors as training_selectors
from training.requirements import requirements_for

from ..models import AuditCycle

BATCH_SIZE = 500

REGISTER_HEADER = (
    "entitlement",
    "state",
    "referrer",
    "regulator",
    "registration_number",
    "profession",
    "level_of_practice",
    "employer",
    "department",
    "granted_on",
    "review_due_on",
    "scope",
    "suspended_scope",
)
TRAINING_HEADER = (
    "entitlement",
    "referrer",
    "registration_number",
    "training_kind",
    "status",
    "expires_on",
    "record_completed_on",
)
AUDIT_HEADER = (
    "audit",
    "entitlement",
    "referrer",
    "registration_number",
    "number",
    "due_on",
    "status",
    "submitted_on",
    "requests",
    "within_scope",
    "outside_scope",
    "unknown_examination",
    "compliance_percent",
    "standard_percent",
    "outcome",
    "reviewed_by",
    "reviewed_on",
)


def _batches(queryset, size: int = BATCH_SIZE) -> Iterator[list]:
    last = 0
    while True:
        batch = list(queryset.filter(pk__gt=last).order_by("pk")[:size])
        if not batch:
            return
        yield batch
        last = batch[-1].pk


def _live(organisation: Organisation):
    return (
        Entitlement.objects.filter(organisation=organisation, state__in=LIVE_STATES)
        .select_related(
            "referrer__user", "organisation", "employment__organisation", "employment__department"
        )
        .prefetch_related(training_selectors.scope_items_prefetch())
    )


def _date(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        from django.utils import timezone

        value = timezone.localdate(value)
    return value.isoformat()


def register_rows(organisation: Organisation) -> Iterator[list]:
    yield list(REGISTER_HEADER)
    for batch in _batches(_live(organisation)):
        for e in batch:
            items = list(e.scope_items.all())
            yield [
                e.reference,
                e.get_state_display(),
                e.referrer.user.full_name,
                e.referrer.regulator,
                e.referrer.registration_number,
                e.referrer.get_profession_display(),
                e.employment.get_level_display(),
                e.employment.organisation.name,
                e.employment.department.name if e.employment.department else "",
                _date(e.granted_at),
                _date(e.review_due_on),
                "; ".join(i.subject_label for i in items),
                "; ".join(i.subject_label for i in items if i.state == "suspended"),
            ]


def training_status_rows(organisation: Organisation, on: datetime.date) -> Iterator[list]:
    """Every required training kind of every live entitlement, with its status on `on`."""
    yield list(TRAINING_HEADER)
    versions = training_selectors.VersionCache(on)
    for batch in _batches(_live(organisation)):
        records = training_selectors.records_of_referrers(
            {e.referrer_id for e in batch}, counting_only=True
        )
        for e in batch:
            version = versions.get(e.organisation) or e.procedure_version
            for r in requirements_for(
                list(e.scope_items.all()), version, records[e.referrer_id], on
            ):
                yield [
                    e.reference,
                    e.referrer.user.full_name,
                    e.referrer.registration_number,
                    r.label,
                    r.status,
                    _date(r.expires_on),
                    _date(r.record.completed_on) if r.record else "",
                ]


def audit_outcome_rows(organisation: Organisation) -> Iterator[list]:
    yield list(AUDIT_HEADER)
    cycles = AuditCycle.objects.filter(entitlement__organisation=organisation).select_related(
        "entitlement__referrer__user", "extract", "reviewed_by"
    )
    for batch in _batches(cycles):
        for c in batch:
            x = c.extract
            yield [
                c.reference,
                c.entitlement.reference,
                c.entitlement.referrer.user.full_name,
                c.entitlement.referrer.registration_number,
                c.number,
                _date(c.due_on),
                c.get_status_display(),
                _date(c.submitted_at),
                x.rows if x else "",
                x.within_scope if x else "",
                x.outside_scope if x else "",
                x.unknown_examination if x else "",
                c.compliance_percent if c.compliance_percent is not None else "",
                c.compliance_standard_percent,
                c.get_outcome_display() if c.outcome else "",
                c.reviewed_by.full_name if c.reviewed_by else "",
                _date(c.reviewed_at),
            ]
