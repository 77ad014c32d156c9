"""Every write to the examination catalogue.

Each service takes the acting user as `by`, runs in one transaction, writes history that
names the actor, and raises ValidationError (with a message fit to show) when asked to do
something the rules forbid.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from referrers.attribution import save_attributed
from referrers.models import Organisation, User

from .. import selectors
from ..csv_import import ExaminationRow, catalogue_row_problems
from ..models import (
    Examination,
    ExaminationGroup,
)
from ..models.catalogue import examination_flag_errors

IMPORT_BATCH_SIZE = 500

EXAMINATION_FIELDS = ("code", "name", "modality", "body_area", "ionising", "contrast", "mri")


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
