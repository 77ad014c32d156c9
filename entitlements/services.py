"""Every write to the examination catalogue and the written procedures.

Each service takes the acting user as `by`, runs in one transaction, writes history that
names the actor, and raises django's ValidationError (with a message fit to show) when asked
to do something the rules forbid.
"""

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import dateformat, timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from referrers.attribution import save_attributed
from referrers.models import Organisation, User

from . import selectors
from .csv_import import ExaminationRow, catalogue_row_problems
from .models import (
    Examination,
    ExaminationGroup,
    Procedure,
    ProcedureStatus,
    ProcedureTrainingRule,
    ProcedureVersion,
    TrainingKind,
)
from .models.catalogue import examination_flag_errors
from .models.procedures import RequirementTrigger, procedure_rule_errors

IMPORT_BATCH_SIZE = 500

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
EXAMINATION_FIELDS = ("code", "name", "modality", "body_area", "ionising", "contrast", "mri")


@dataclass(frozen=True)
class TrainingRuleData:
    """What a procedure version requires of one training kind."""

    training_kind: str
    required_for: str
    validity_months: int


@dataclass(frozen=True)
class CatalogueImportResult:
    created: int
    updated: int
    unchanged: int


# --- Examination catalogue ----------------------------------------------------------------


def _examination_validate(examination: Examination) -> None:
    """Field rules and flag rules, with each message on its own field."""
    examination.code = (examination.code or "").strip().upper()
    errors: dict[str, list[str]] = {}
    try:
        examination.clean_fields(exclude=["organisation"])
    except ValidationError as error:
        errors.update(error.message_dict)
    for name, message in examination_flag_errors(
        examination.modality, examination.ionising, examination.mri
    ).items():
        errors.setdefault(name, []).append(message)
    code_checkable = examination.code and "code" not in errors
    if code_checkable and selectors.examination_code_taken(
        examination.organisation, examination.code, exclude_pk=examination.pk
    ):
        errors["code"] = [f"Code {examination.code} is already used in this catalogue"]
    if errors:
        raise ValidationError(errors)


def _save_examination(examination: Examination, *, by: User, reason: str) -> None:
    try:
        # A savepoint, so a code taken by a concurrent request is reported, not a 500.
        with transaction.atomic():
            save_attributed(examination, by=by, reason=reason)
    except IntegrityError:
        raise ValidationError(
            {"code": [f"Code {examination.code} is already used in this catalogue"]}
        ) from None


@transaction.atomic
def examination_create(
    *,
    organisation: Organisation,
    code: str,
    name: str,
    modality: str,
    body_area: str,
    ionising: bool,
    contrast: bool,
    mri: bool,
    by: User,
) -> Examination:
    """Add an examination to `organisation`'s catalogue.

    Guarantees the code is unique in the catalogue and the flags agree with the modality
    (ValidationError keyed by field otherwise), and a history row naming `by`.
    """
    examination = Examination(
        organisation=organisation,
        code=code,
        name=name,
        modality=modality,
        body_area=body_area,
        ionising=ionising,
        contrast=contrast,
        mri=mri,
    )
    _examination_validate(examination)
    _save_examination(examination, by=by, reason="Examination added")
    return examination


@transaction.atomic
def examination_update(
    *,
    examination: Examination,
    code: str,
    name: str,
    modality: str,
    body_area: str,
    ionising: bool,
    contrast: bool,
    mri: bool,
    is_active: bool,
    by: User,
) -> Examination:
    """Change an examination of the catalogue (never moves it to another organisation).

    The same checks as `examination_create`; the row is locked while it changes.
    """
    examination = Examination.objects.select_for_update().get(pk=examination.pk)
    examination.code = code
    examination.name = name
    examination.modality = modality
    examination.body_area = body_area
    examination.ionising = ionising
    examination.contrast = contrast
    examination.mri = mri
    examination.is_active = is_active
    _examination_validate(examination)
    _save_examination(examination, by=by, reason="Examination changed")
    return examination


@transaction.atomic
def examination_group_create(
    *, organisation: Organisation, name: str, examinations: list[Examination], by: User
) -> ExaminationGroup:
    """A named group of `organisation`'s examinations, e.g. "Plain film, chest and abdomen".

    Guarantees the name is unique in the catalogue and every examination is the
    organisation's own (ValidationError keyed by field otherwise); history names `by`.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["Enter the group's name"]})
    if ExaminationGroup.objects.filter(organisation=organisation, name__iexact=name).exists():
        raise ValidationError({"name": [f"There is already a group called {name}"]})
    if any(e.organisation_id != organisation.pk for e in examinations):
        raise ValidationError(
            {"examinations": ["Select examinations from this organisation's catalogue"]}
        )
    group = ExaminationGroup(organisation=organisation, name=name)
    save_attributed(group, by=by, reason="Examination group created")
    group.examinations.set(examinations)
    return group


def catalogue_import(
    *, organisation: Organisation, rows: list[ExaminationRow], by: User
) -> CatalogueImportResult:
    """Create the examinations whose codes are new to `organisation` and update the others.

    All or nothing: every row is checked first (ValidationError listing each problem by line
    otherwise), then everything is written in one transaction with history naming `by`.
    Examinations not in the file are left as they are.
    """
    problems = catalogue_row_problems(rows)
    if problems:
        raise ValidationError([f"Line {p.line}: {p.message}" for p in problems])
    try:
        with transaction.atomic():
            return _catalogue_write(organisation=organisation, rows=rows, by=by)
    except IntegrityError:
        raise ValidationError(
            "The catalogue changed while the file was being imported. Nothing was imported: "
            "upload the file again."
        ) from None


def _catalogue_write(
    *, organisation: Organisation, rows: list[ExaminationRow], by: User
) -> CatalogueImportResult:
    # Lock the whole catalogue: an import and an edit of the same examination never interleave.
    existing = {
        e.code: e for e in Examination.objects.select_for_update().filter(organisation=organisation)
    }
    fields = EXAMINATION_FIELDS[1:]
    new, changed = [], []
    for row in rows:
        examination = existing.get(row.code)
        if examination is None:
            new.append(
                Examination(
                    organisation=organisation, code=row.code, **{f: getattr(row, f) for f in fields}
                )
            )
        elif any(getattr(examination, f) != getattr(row, f) for f in fields):
            for f in fields:
                setattr(examination, f, getattr(row, f))
            changed.append(examination)
    reason = "Catalogue import"
    if new:
        bulk_create_with_history(
            new,
            Examination,
            batch_size=IMPORT_BATCH_SIZE,
            default_user=by,
            default_change_reason=reason,
        )
    if changed:
        bulk_update_with_history(
            changed,
            Examination,
            fields=list(fields),
            batch_size=IMPORT_BATCH_SIZE,
            default_user=by,
            default_change_reason=reason,
        )
    return CatalogueImportResult(
        created=len(new), updated=len(changed), unchanged=len(rows) - len(new) - len(changed)
    )


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
