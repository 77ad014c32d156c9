"""Every write to the written procedures (principle 8).

Each service takes the acting user as `by`, runs in one transaction and writes history that
names the actor.
"""

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import dateformat, timezone

from referrers.attribution import save_attributed
from referrers.models import Organisation, User

from .. import selectors
from ..models import (
    Procedure,
    ProcedureStatus,
    ProcedureTrainingRule,
    ProcedureVersion,
    TrainingKind,
)
from ..models.procedures import RequirementTrigger, procedure_rule_errors

# The rules a procedure version holds, as (field name, ...) in the order forms show them.
PROCEDURE_RULE_FIELDS = (
    "document_reference",
    "effective_from",
    "warning_lead_days",
    "lapse_action",
    "grace_days",
    "renewal_action",
    "review_interval_months",
    "review_overdue_action",
    "audit_frequency_months",
    "audit_minimum_sample",
    "audit_compliance_standard_percent",
    "audit_overdue_action",
    "audit_overdue_suspend_after_days",
    "feedback_threshold_count",
    "feedback_window_months",
    "feedback_action",
    "cpd_hours_per_year",
)


@dataclass(frozen=True)
class TrainingRuleData:
    """What a procedure version requires of one training kind."""

    training_kind: str
    required_for: str
    validity_months: int


# --- Written procedures -------------------------------------------------------------------


def _training_rule_errors(training_rules: list[TrainingRuleData]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    seen: set[str] = set()
    for rule in training_rules:
        prefix = rule.training_kind
        if rule.training_kind not in TrainingKind.values:
            errors.setdefault("__all__", []).append(f"Unknown training: {rule.training_kind}")
            continue
        label = TrainingKind(rule.training_kind).label
        if rule.training_kind in seen:
            errors.setdefault("__all__", []).append(f"{label} is given more than once")
        seen.add(rule.training_kind)
        if rule.required_for not in RequirementTrigger.values:
            errors[f"{prefix}_required_for"] = [f"Select which scopes need {label}"]
        if not isinstance(rule.validity_months, int) or not 1 <= rule.validity_months <= 120:
            errors[f"{prefix}_validity_months"] = [
                f"{label} must stay valid for between 1 and 120 months"
            ]
    return errors


def _version_validate(version: ProcedureVersion, training_rules: list[TrainingRuleData]) -> None:
    errors: dict[str, list[str]] = {}
    try:
        version.clean_fields(exclude=["procedure", "created_by", "published_by"])
    except ValidationError as error:
        errors.update(error.message_dict)
    for name, message in procedure_rule_errors(version).items():
        errors.setdefault(name, []).append(message)
    for name, messages in _training_rule_errors(training_rules).items():
        errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def _apply_rules(version: ProcedureVersion, rules: dict) -> None:
    unknown = set(rules) - set(PROCEDURE_RULE_FIELDS)
    if unknown:
        raise ValueError(f"Not procedure rules: {', '.join(sorted(unknown))}")
    for name, value in rules.items():
        setattr(version, name, value)


def _save_training_rules(
    version: ProcedureVersion, training_rules: list[TrainingRuleData], *, by: User, reason: str
) -> None:
    """Make the version's training rules exactly `training_rules`."""
    current = {r.training_kind: r for r in version.training_rules.all()}
    wanted = {r.training_kind: r for r in training_rules}
    for kind, rule in current.items():
        if kind not in wanted:
            rule._history_user = by
            rule._change_reason = reason
            rule.delete()
    for kind, data in wanted.items():
        rule = current.get(kind) or ProcedureTrainingRule(version=version, training_kind=kind)
        if rule.pk and (rule.required_for, rule.validity_months) == (
            data.required_for,
            data.validity_months,
        ):
            continue
        rule.required_for = data.required_for
        rule.validity_months = data.validity_months
        save_attributed(rule, by=by, reason=reason)


@transaction.atomic
def procedure_version_create_draft(
    *,
    organisation: Organisation,
    rules: dict,
    training_rules: list[TrainingRuleData],
    by: User,
    procedure_title: str = "",
) -> ProcedureVersion:
    """A new draft version of `organisation`'s procedure, numbered one after the highest.

    Creates the procedure itself (titled `procedure_title`, then required) when the
    organisation has none. The rules are checked as a whole (ValidationError keyed by
    field). Nothing is in force until the draft is published.
    """
    procedure = Procedure.objects.select_for_update().filter(organisation=organisation).first()
    if procedure is None:
        procedure_title = (procedure_title or "").strip()
        if not procedure_title:
            raise ValidationError({"procedure_title": ["Enter the title of the procedure"]})
        procedure = Procedure(organisation=organisation, title=procedure_title)
        procedure.full_clean(exclude=["organisation"])
        save_attributed(procedure, by=by, reason="Procedure created")
    highest = procedure.versions.aggregate(highest=Max("number"))["highest"] or 0
    version = ProcedureVersion(
        procedure=procedure,
        number=highest + 1,
        status=ProcedureStatus.DRAFT,
        created_by=by,
        created_at=timezone.now(),
    )
    _apply_rules(version, rules)
    _version_validate(version, training_rules)
    save_attributed(version, by=by, reason="Draft created")
    _save_training_rules(version, training_rules, by=by, reason="Draft created")
    return version


def _refuse_published(version: ProcedureVersion, doing: str) -> None:
    if version.status != ProcedureStatus.DRAFT:
        raise ValidationError(
            f"Version {version.number} is published, so it cannot be {doing}. What was in "
            f"force is never rewritten: create a new draft instead."
        )


@transaction.atomic
def procedure_version_update_draft(
    *,
    version: ProcedureVersion,
    rules: dict,
    training_rules: list[TrainingRuleData],
    by: User,
) -> ProcedureVersion:
    """Change a draft's rules and training rules.

    Refuses (ValidationError) a version that is published, checking under a row lock so a
    publish at the same moment cannot slip between the check and the write.
    """
    version = ProcedureVersion.objects.select_for_update().get(pk=version.pk)
    _refuse_published(version, "changed")
    _apply_rules(version, rules)
    _version_validate(version, training_rules)
    save_attributed(version, by=by, reason="Draft changed")
    _save_training_rules(version, training_rules, by=by, reason="Draft changed")
    return version


def _day(day: datetime.date) -> str:
    return dateformat.format(day, "j F Y")


def procedure_version_publish_problems(
    version: ProcedureVersion, *, today: datetime.date | None = None
) -> list[str]:
    """Why `version` cannot be published today (empty when it can)."""
    today = today or timezone.localdate()
    if version.status != ProcedureStatus.DRAFT:
        return [f"Version {version.number} is already published"]
    problems = []
    if version.effective_from < today:
        problems.append(
            f"The start date, {_day(version.effective_from)}, is in the past. Publishing "
            f"it would change what was in force on days already gone: change the start date "
            f"to today or later"
        )
    latest = selectors.latest_published_procedure_version(version.procedure.organisation)
    if latest is not None and version.effective_from <= latest.effective_from:
        problems.append(
            f"The start date must be after {_day(latest.effective_from)}, when the latest "
            f"published version (version {latest.number}) starts"
        )
    if procedure_rule_errors(version):
        problems.append("Some rules are not valid: change the draft first")
    return problems


@transaction.atomic
def procedure_version_publish(
    *, version: ProcedureVersion, by: User, today: datetime.date | None = None
) -> ProcedureVersion:
    """Publish a draft: from its start date it is the version in force.

    Guarantees the history of what was in force is never rewritten: the start date is today
    or later, and after the start of every version already published. The procedure row is
    locked, so two drafts published at once are checked one after the other. Records
    who published it and when.
    """
    Procedure.objects.select_for_update().get(pk=version.procedure_id)
    version = ProcedureVersion.objects.select_for_update().get(pk=version.pk)
    _refuse_published(version, "published again")
    problems = procedure_version_publish_problems(version, today=today)
    if problems:
        raise ValidationError(problems)
    version.status = ProcedureStatus.PUBLISHED
    version.published_by = by
    version.published_at = timezone.now()
    save_attributed(version, by=by, reason="Published")
    return version
