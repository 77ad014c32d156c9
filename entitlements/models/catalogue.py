"""Each employer's examination catalogue: what a referrer may be entitled to request."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from referrers.models import Organisation

from ..modalities import IONISING_MODALITIES, Modality


class Examination(models.Model):
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="examinations"
    )
    code = models.CharField(max_length=16, help_text="NICIP-style code where one exists.")
    name = models.CharField(max_length=200)
    modality = models.CharField(max_length=8, choices=Modality.choices)
    body_area = models.CharField(max_length=100)
    ionising = models.BooleanField(help_text="Uses ionising radiation.")
    contrast = models.BooleanField(default=False, help_text="Contrast may be given.")
    mri = models.BooleanField(default=False, help_text="Magnetic resonance (MRI safety applies).")
    is_active = models.BooleanField(default=True, help_text="Offered for new applications.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["modality", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "code"], name="examination_code_unique"
            ),
            # The flags follow the modality, so training requirements can never be dodged by
            # a mis-flagged catalogue entry.
            models.CheckConstraint(
                condition=Q(ionising=True, modality__in=sorted(IONISING_MODALITIES))
                | Q(ionising=False, modality__in=[Modality.MR, Modality.US]),
                name="examination_ionising_follows_modality",
            ),
            models.CheckConstraint(
                condition=Q(mri=True, modality=Modality.MR)
                | (Q(mri=False) & ~Q(modality=Modality.MR)),
                name="examination_mri_follows_modality",
            ),
        ]
        indexes = [models.Index(fields=["organisation", "modality"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def clean(self) -> None:
        self.code = (self.code or "").strip().upper()
        errors = examination_flag_errors(self.modality, self.ionising, self.mri)
        if errors:
            raise ValidationError(errors)


def examination_flag_errors(modality: str, ionising: bool, mri: bool) -> dict[str, str]:
    """What is wrong with these flags for this modality (empty when they agree)."""
    errors = {}
    if modality in IONISING_MODALITIES and not ionising:
        errors["ionising"] = f"{Modality(modality).label} examinations use ionising radiation"
    if modality in (Modality.MR, Modality.US) and ionising:
        errors["ionising"] = (
            f"{Modality(modality).label} examinations do not use ionising radiation"
        )
    if modality == Modality.MR and not mri:
        errors["mri"] = "Magnetic resonance examinations must be flagged MRI"
    if modality and modality != Modality.MR and mri:
        errors["mri"] = "Only magnetic resonance examinations can be flagged MRI"
    return errors


class ExaminationGroup(models.Model):
    """A named set of examinations, e.g. "Plain film, appendicular skeleton"."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="examination_groups"
    )
    name = models.CharField(max_length=200)
    examinations = models.ManyToManyField(Examination, related_name="groups")

    history = HistoricalRecords(m2m_fields=[examinations])

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="examination_group_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name
