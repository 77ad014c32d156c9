"""Letters (principle 3): the immutable PDF of an entitlement at one moment.

Rendered once by a Celery task, stored with its SHA-256 and never regenerated; a change
issues a new letter. The verification code lets a reader check a printed copy.
"""

import secrets
import uuid

from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from .entitlements import Entitlement, EntitlementEvent

# Crockford's base32 without the look-alikes: easy to read out over the phone.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


def verification_code_new() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return "-".join(raw[i : i + 4] for i in range(0, 12, 4))


def letter_path(instance, filename: str) -> str:
    return f"letters/{uuid.uuid4().hex}.pdf"


class LetterStatus(models.TextChoices):
    PENDING = "pending", "Being prepared"
    READY = "ready", "Ready"
    FAILED = "failed", "Could not be prepared"


class Letter(models.Model):
    entitlement = models.ForeignKey(Entitlement, on_delete=models.PROTECT, related_name="letters")
    event = models.OneToOneField(
        EntitlementEvent,
        on_delete=models.PROTECT,
        related_name="letter",
        help_text="The grant or change this letter records.",
    )
    status = models.CharField(
        max_length=16, choices=LetterStatus.choices, default=LetterStatus.PENDING
    )
    verification_code = models.CharField(max_length=14, unique=True, default=verification_code_new)
    content = models.JSONField(
        help_text="What the letter states, captured when the change was made, so a letter "
        "rendered later still says what was true then."
    )
    file = models.FileField(upload_to=letter_path, max_length=200, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    rendered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"Letter {self.verification_code}"

    @property
    def title(self) -> str:
        return f"{self.event.get_action_display()} letter"

    @property
    def is_ready(self) -> bool:
        return self.status == LetterStatus.READY
