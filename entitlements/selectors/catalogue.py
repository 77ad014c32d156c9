"""Reads of the catalogue and procedures. Permission checks go through referrers.selectors."""

import datetime

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from referrers.models import Organisation

from ..modalities import Modality
from ..models import (
    Examination,
    ExaminationGroup,
    Procedure,
    ProcedureStatus,
    ProcedureVersion,
)


def procedure_version_in_force(
    organisation: Organisation, on: datetime.date | None = None
) -> ProcedureVersion | None:
    """The published procedure version in force at `organisation` on `on` (default today):
    the one with the latest start date on or before that day."""
    on = on or timezone.localdate()
    return (
        ProcedureVersion.objects.filter(
            procedure__organisation=organisation,
            status=ProcedureStatus.PUBLISHED,
            effective_from__lte=on,
        )
        .select_related("procedure__organisation", "published_by")
        .prefetch_related("training_rules")
        .order_by("-effective_from")
        .first()
    )


def procedure_versions_of(organisation: Organisation) -> QuerySet[ProcedureVersion]:
    return (
        ProcedureVersion.objects.filter(procedure__organisation=organisation)
        .select_related("procedure", "created_by", "published_by")
        .order_by("-number")
    )


def examinations_of(
    organisation: Organisation, *, modality: str = "", search: str = "", active_only: bool = False
) -> QuerySet[Examination]:
    examinations = Examination.objects.filter(organisation=organisation)
    if modality:
        examinations = examinations.filter(modality=modality)
    if search.strip():
        term = search.strip()
        examinations = examinations.filter(
            Q(name__icontains=term) | Q(code__iexact=term) | Q(body_area__icontains=term)
        )
    if active_only:
        examinations = examinations.filter(is_active=True)
    return examinations.order_by("modality", "name", "id")


def examination_counts_by_modality(organisation: Organisation) -> list[dict]:
    """Active examinations per modality: `modality`, its `label` and `count`."""
    rows = (
        Examination.objects.filter(organisation=organisation, is_active=True)
        .values("modality")
        .annotate(count=Count("id"))
        .order_by("modality")
    )
    return [{**row, "label": Modality(row["modality"]).label} for row in rows]


def examination_groups_of(organisation: Organisation) -> QuerySet[ExaminationGroup]:
    return (
        ExaminationGroup.objects.filter(organisation=organisation)
        .annotate(examination_count=Count("examinations"))
        .order_by("name")
    )


def examination_of(organisation: Organisation, pk: int) -> Examination:
    """One examination of `organisation`'s catalogue; 404 for any other organisation's id."""
    examination = Examination.objects.filter(organisation=organisation, pk=pk).first()
    if examination is None:
        raise Http404("This catalogue has no such examination")
    return examination


def examination_code_taken(
    organisation: Organisation, code: str, *, exclude_pk: int | None = None
) -> bool:
    """Whether another examination of `organisation` already uses `code`."""
    examinations = Examination.objects.filter(organisation=organisation, code=code)
    if exclude_pk is not None:
        examinations = examinations.exclude(pk=exclude_pk)
    return examinations.exists()


def procedure_of(organisation: Organisation) -> Procedure | None:
    return Procedure.objects.filter(organisation=organisation).first()


def procedure_version_of(organisation: Organisation, number: int) -> ProcedureVersion:
    """Version `number` of `organisation`'s procedure; 404 when it has none."""
    version = (
        procedure_versions_of(organisation)
        .prefetch_related("training_rules")
        .filter(number=number)
        .first()
    )
    if version is None:
        raise Http404("This procedure has no such version")
    return version


def latest_procedure_version(organisation: Organisation) -> ProcedureVersion | None:
    """The highest-numbered version, draft or published (what a new draft starts from)."""
    return procedure_versions_of(organisation).prefetch_related("training_rules").first()


def latest_published_procedure_version(organisation: Organisation) -> ProcedureVersion | None:
    """The published version with the latest start date, whether or not it is in force yet."""
    return (
        ProcedureVersion.objects.filter(
            procedure__organisation=organisation, status=ProcedureStatus.PUBLISHED
        )
        .order_by("-effective_from")
        .first()
    )
