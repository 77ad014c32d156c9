"""The register's side records: every lookup (who asked about whom, and the answer), the
integration clients that may ask over the API, and bundles of letters built for download.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from referrers.models import Organisation, ReferrerProfile, User

from .catalogue import Examination
from .entitlements import Entitlement


class ApiClient(models.Model):
    """An order-comms or RIS system allowed to ask one organisation's register.

    Only the SHA-256 of its token is stored; the token itself is shown once, when made.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="api_clients"
    )
    name = models.CharField(max_length=200)
    token_prefix = models.CharField(
        max_length=12, help_text="The first characters of the token, to tell tokens apart."
    )
    token_hash = models.CharField(max_length=64, unique=True)
    rate_limit_per_minute = models.PositiveIntegerField(default=600)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(excluded_fields=["last_used_at"])

    class Meta:
        ordering = ["organisation", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"],
                condition=Q(revoked_at__isnull=True),
                name="api_client_name_unique_while_live",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.organisation.ods_code})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class LookupChannel(models.TextChoices):
    PAGE = "page", "Register page"
    API = "api", "Entitlement check API"
    FHIR = "fhir", "FHIR API"


class RegisterLookup(models.Model):
    """One "may this referrer request this examination?" question and its answer.

    Append-only: written once, never changed. Kept even when the question named nobody
    known (`referrer` empty), so every lookup is on record.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="register_lookups"
    )
    channel = models.CharField(max_length=8, choices=LookupChannel.choices)
    asked_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    api_client = models.ForeignKey(
        ApiClient, on_delete=models.PROTECT, null=True, blank=True, related_name="lookups"
    )
    registration = models.CharField(max_length=24, help_text="As asked, e.g. NMC:12A3456B.")
    referrer = models.ForeignKey(
        ReferrerProfile, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    examination_code = models.CharField(max_length=32)
    examination = models.ForeignKey(
        Examination, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    patient_age = models.PositiveSmallIntegerField(null=True, blank=True)
    setting = models.CharField(max_length=16, blank=True)
    as_of = models.DateField(null=True, blank=True)
    entitled = models.BooleanField()
    entitlement = models.ForeignKey(
        Entitlement, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reasons = models.JSONField(default=list)
    asked_at = models.DateTimeField(default=timezone.now)
    # Set on lookups written later from the queue (services.register): a flush that is
    # repeated after a crash inserts each lookup once.
    queue_key = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    class Meta:
        ordering = ["-asked_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(asked_by__isnull=False) | Q(api_client__isnull=False),
                name="register_lookup_names_who_asked",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "asked_at"]),
            models.Index(fields=["referrer", "asked_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.registration} / {self.examination_code}: {self.entitled}"


class BundleStatus(models.TextChoices):
    PENDING = "pending", "Waiting to start"
    BUILDING = "building", "Being built"
    READY = "ready", "Ready"
    FAILED = "failed", "Could not be built"


def bundle_path(instance, filename: str) -> str:
    return f"letter-bundles/{uuid.uuid4().hex}.zip"


class LetterBundle(models.Model):
    """A ZIP of the current letters of one employer (or a filtered set), built by a task."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="letter_bundles"
    )
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    filters = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=BundleStatus.choices, default=BundleStatus.PENDING
    )
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to=bundle_path, max_length=200, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    history = HistoricalRecords(excluded_fields=["done"])

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["organisation", "requested_at"])]

    def __str__(self) -> str:
        return f"Letters of {self.organisation.ods_code}, {self.requested_at:%Y-%m-%d %H:%M}"

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.status == BundleStatus.READY else 0
        return min(100, round(100 * self.done / self.total))


def ris_export_path(instance, filename: str) -> str:
    return f"ris-exports/{uuid.uuid4().hex}.csv"


class RisExport(models.Model):
    """One nightly list of referrer codes and the examination codes each may request, as a
    RIS "restrict ordering by examination" list takes it. Stored with its SHA-256 and also
    written to the configured export directory."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="ris_exports"
    )
    for_date = models.DateField()
    file = models.FileField(upload_to=ris_export_path, max_length=200)
    sha256 = models.CharField(max_length=64)
    rows = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-for_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "for_date"], name="ris_export_one_per_day"
            ),
        ]

    def __str__(self) -> str:
        return f"RIS export {self.organisation.ods_code} {self.for_date}"
