"""Imaging modalities, as the catalogue and delegate appointments name them."""

from django.db import models


class Modality(models.TextChoices):
    XR = "XR", "Plain X-ray (XR)"
    CT = "CT", "Computed tomography (CT)"
    MR = "MR", "Magnetic resonance imaging (MR)"
    US = "US", "Ultrasound (US)"
    NM = "NM", "Nuclear medicine (NM)"
    FL = "FL", "Fluoroscopy (FL)"
    DEXA = "DEXA", "Bone densitometry (DEXA)"
    MG = "MG", "Mammography (MG)"


# Modalities that use ionising radiation: their examinations are always flagged `ionising`.
IONISING_MODALITIES = frozenset(
    {Modality.XR, Modality.CT, Modality.NM, Modality.FL, Modality.DEXA, Modality.MG}
)
