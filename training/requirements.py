"""What training an entitlement needs, and whether a referrer's records meet it (principle 4).

The rules come from the procedure version in force *on the day asked about* at the
entitlement's employer (not the version it was granted under), so a new version changes
later decisions. A kind is required when a procedure training rule's trigger matches the
scope: any ionising examination, any where contrast may be given, any MRI, or every scope.
A record's expiry (its last valid day) is its completion date plus the rule's validity, or
the earlier date stated on its certificate; on the day after, it has lapsed. Only verified,
unrejected records count.

Pure functions over objects already loaded: the callers (pages and the control run) fetch
in bulk and pass them in, so nothing here queries per row.
"""

import datetime
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from entitlements.models import ProcedureTrainingRule, ProcedureVersion, RequirementTrigger

from .models import RecordKind, TrainingRecord


class Status:
    VALID = "valid"
    EXPIRING = "expiring"
    LAPSED = "lapsed"
    MISSING = "missing"

    LABELS = {
        VALID: "Valid",
        EXPIRING: "Expiring",
        LAPSED: "Lapsed",
        MISSING: "Missing",
    }


def triggers_of(examination) -> set[str]:
    """The requirement triggers one examination sets off."""
    triggered = {RequirementTrigger.ALL.value}
    if examination.ionising:
        triggered.add(RequirementTrigger.IONISING.value)
    if examination.contrast:
        triggered.add(RequirementTrigger.CONTRAST.value)
    if examination.mri:
        triggered.add(RequirementTrigger.MRI.value)
    return triggered


def examinations_of_item(item) -> list:
    """The examinations a scope item covers (a group's members: prefetch `group__examinations`)."""
    if item.examination_id:
        return [item.examination]
    return list(item.group.examinations.all())


def item_needs(item, rule: ProcedureTrainingRule) -> bool:
    """Whether scope item `item` needs the training of `rule`."""
    if rule.required_for == RequirementTrigger.ALL:
        return True
    return any(rule.required_for in triggers_of(e) for e in examinations_of_item(item))


@functools.cache
def _months(count: int) -> relativedelta:
    """`relativedelta(months=count)`, made once: a page or a control run asks for the same
    few validity periods thousands of times (adding a made one takes half the time)."""
    return relativedelta(months=count)


def record_expiry(record: TrainingRecord, validity_months: int) -> datetime.date:
    """The day `record` expires under a rule giving `validity_months` (its last valid day):
    completion plus the validity, or the certificate's own earlier expiry."""
    by_rule = record.completed_on + _months(validity_months)
    if record.certificate_expires_on and record.certificate_expires_on < by_rule:
        return record.certificate_expires_on
    return by_rule


def counts(record: TrainingRecord) -> bool:
    return record.verified_at is not None and record.rejected_at is None


def best_record(
    records: Iterable[TrainingRecord], kind: str, validity_months: int, on: datetime.date
) -> tuple[TrainingRecord | None, datetime.date | None]:
    """The verified record of `kind` completed by `on` that stays valid longest, and its expiry."""
    best, best_expiry = None, None
    for record in records:
        if record.kind != kind or not counts(record) or record.completed_on > on:
            continue
        expiry = record_expiry(record, validity_months)
        if best_expiry is None or expiry > best_expiry:
            best, best_expiry = record, expiry
    return best, best_expiry


def status_of(expiry: datetime.date | None, on: datetime.date, warn_days: int) -> str:
    if expiry is None:
        return Status.MISSING
    if expiry < on:
        return Status.LAPSED
    if (expiry - on).days < warn_days:
        return Status.EXPIRING
    return Status.VALID


@dataclass
class Requirement:
    """One training kind an entitlement needs, and the record that meets it (if any)."""

    rule: ProcedureTrainingRule
    scope_items: list = field(default_factory=list)
    record: TrainingRecord | None = None
    expires_on: datetime.date | None = None
    status: str = Status.MISSING

    @property
    def kind(self) -> str:
        return self.rule.training_kind

    @property
    def label(self) -> str:
        return self.rule.get_training_kind_display()

    @property
    def status_label(self) -> str:
        return Status.LABELS[self.status]


@dataclass
class CpdRequirement:
    hours_required: int
    hours_done: Decimal
    since: datetime.date

    @property
    def status(self) -> str:
        return Status.VALID if self.hours_done >= self.hours_required else Status.MISSING

    @property
    def status_label(self) -> str:
        return "Met" if self.status == Status.VALID else "Short"


def requirements_for(
    items: list,
    version: ProcedureVersion,
    records: Iterable[TrainingRecord],
    on: datetime.date,
) -> list[Requirement]:
    """The training kinds the scope `items` need under `version` (its `training_rules`
    prefetched), each with its best verified record on `on` and a status. Suspended items
    still need their training: renewing it is what reinstates them."""
    records = list(records)
    warn_days = warning_days(version)
    result = []
    for rule in version.training_rules.all():
        needing = [item for item in items if item_needs(item, rule)]
        if needing:
            result.append(requirement_of(rule, records, on, warn_days, scope_items=needing))
    return result


def warning_days(version: ProcedureVersion) -> int:
    """The longest lead time `version` warns at: what counts as "expiring"."""
    return max(version.warning_lead_days or [0])


def requirement_of(
    rule: ProcedureTrainingRule,
    records: list[TrainingRecord],
    on: datetime.date,
    warn_days: int,
    *,
    scope_items: list | None = None,
) -> Requirement:
    """The requirement of `rule` on `on`: its best verified record among `records`, and a
    status."""
    record, expiry = best_record(records, rule.training_kind, rule.validity_months, on)
    return Requirement(
        rule=rule,
        scope_items=scope_items or [],
        record=record,
        expires_on=expiry,
        status=status_of(expiry, on, warn_days),
    )


def cpd_for(
    version: ProcedureVersion, records: Iterable[TrainingRecord], on: datetime.date
) -> CpdRequirement | None:
    """CPD hours in the year up to `on`, if the procedure sets a yearly minimum."""
    if not version.cpd_hours_per_year:
        return None
    since = on - relativedelta(years=1) + datetime.timedelta(1)
    done = sum(
        (
            r.hours
            for r in records
            if r.kind == RecordKind.CPD and counts(r) and since <= r.completed_on <= on
        ),
        Decimal(0),
    )
    return CpdRequirement(hours_required=version.cpd_hours_per_year, hours_done=done, since=since)
