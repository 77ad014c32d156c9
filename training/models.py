"""Training records (principle 4) and the automatic control run's own records (principles 6
and 8).

- `TrainingRecord`: one course or certificate of a referrer. Only verified records count. Its
  expiry is not stored: it depends on the validity the procedure in force gives its kind
  (`training.requirements.record_expiry`), capped by an earlier date stated on the certificate,
  so a new procedure version changes later decisions without rewriting records.
- `TrainingImport`: one accepted CSV file from a learning-management system (a file with any
  bad row is refused whole and leaves no trace but the message).
- `TrainingLapse`: one lapse of one required training kind for one entitlement, from the
  control run that acted on it to its end (renewal, revocation, or the entitlement ending),
  with exactly what that lapse suspended, so a renewal reinstates that and nothing else.
- `ControlAction`: the control run's ledger. One row per action, its idempotency key unique,
  written in the same transaction as the action: a rerun or a second worker does nothing twice.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from entitlements.models import Entitlement, ProcedureVersion, TrainingKind
from referrers.models import Organisation, ReferrerProfile, User


class RecordKind(models.TextChoices):
    """What a training record is of: a procedure training kind, or CPD hours."""

    RADIATION_PROTECTION = (
        TrainingKind.RADIATION_PROTECTION.value,
        TrainingKind.RADIATION_PROTECTION.label,
    )
    CONTRAST_SAFETY = TrainingKind.CONTRAST_SAFETY.value, TrainingKind.CONTRAST_SAFETY.label
    MRI_SAFETY = TrainingKind.MRI_SAFETY.value, TrainingKind.MRI_SAFETY.label
    REFERRAL_GUIDELINES = (
        TrainingKind.REFERRAL_GUIDELINES.value,
        TrainingKind.REFERRAL_GUIDELINES.label,
    )
    CPD = "cpd", "Continuing professional development (CPD)"


class RecordSource(models.TextChoices):
    ENTERED = "entered", "Entered by hand"
    IMPORTED = "imported", "Imported from a learning-management system"


def certificate_path(instance, filename: str) -> str:
    # Never the uploaded name: a random one, so paths cannot be guessed or collide.
    return f"certificates/{uuid.uuid4().hex}"


class TrainingImport(models.Model):
    """A learning-management-system export, accepted whole (every row valid)."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="training_imports"
    )
    file_name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    rows = models.PositiveIntegerField()
    created = models.PositiveIntegerField(help_text="Records created (others already existed).")
    imported_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    imported_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-imported_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.rows} rows)"


class TrainingRecord(models.Model):
    referrer = models.ForeignKey(
        ReferrerProfile, on_delete=models.PROTECT, related_name="training_records"
    )
    kind = models.CharField(max_length=32, choices=RecordKind.choices)
    title = models.CharField(max_length=200, blank=True, help_text="The course or module name.")
    provider = models.CharField(max_length=200)
    completed_on = models.DateField()
    certificate_expires_on = models.DateField(
        null=True,
        blank=True,
        help_text="An expiry date stated on the certificate, if earlier than the procedure's "
        "validity would give.",
    )
    hours = models.DecimalField(
        max_digits=5, decimal_places=1, null=True, blank=True, help_text="CPD hours."
    )

    certificate = models.FileField(upload_to=certificate_path, max_length=200, blank=True)
    certificate_name = models.CharField(max_length=200, blank=True)
    certificate_content_type = models.CharField(max_length=100, blank=True)
    certificate_size = models.PositiveIntegerField(null=True, blank=True)
    certificate_sha256 = models.CharField(max_length=64, blank=True)

    source = models.CharField(
        max_length=16, choices=RecordSource.choices, default=RecordSource.ENTERED
    )
    training_import = models.ForeignKey(
        TrainingImport, on_delete=models.PROTECT, null=True, blank=True, related_name="records"
    )
    external_id = models.CharField(
        max_length=100, blank=True, help_text="The learning-management system's record id."
    )
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    verified_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    rejected_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-completed_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(verified_by__isnull=True, verified_at__isnull=True)
                | Q(verified_by__isnull=False, verified_at__isnull=False),
                name="training_record_verified_by_and_at",
            ),
            models.CheckConstraint(
                condition=Q(verified_at__isnull=True) | Q(rejected_at__isnull=True),
                name="training_record_not_verified_and_rejected",
            ),
            models.CheckConstraint(
                condition=~Q(kind="cpd") | Q(hours__gt=0),
                name="training_record_cpd_has_hours",
            ),
            models.CheckConstraint(
                condition=Q(certificate_expires_on__isnull=True)
                | Q(certificate_expires_on__gt=models.F("completed_on")),
                name="training_record_expiry_after_completion",
            ),
            # Re-importing the same export creates nothing new.
            models.UniqueConstraint(
                fields=["referrer", "kind", "external_id"],
                condition=~Q(external_id=""),
                name="training_record_external_id_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["referrer", "kind", "completed_on"]),
            # The records that count (verified, not rejected) with the dates the training
            # candidates compare: read from the index alone, per referrer.
            models.Index(
                fields=["referrer", "kind", "completed_on", "certificate_expires_on"],
                condition=Q(verified_at__isnull=False, rejected_at__isnull=True),
                name="training_record_counting",
            ),
            models.Index(
                fields=["recorded_at"],
                condition=Q(verified_at__isnull=True, rejected_at__isnull=True),
                name="training_record_unverified",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}, {self.completed_on:%d %B %Y}"

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    @property
    def is_rejected(self) -> bool:
        return self.rejected_at is not None


class LapseState(models.TextChoices):
    OPEN = "open", "Suspended, awaiting renewal"
    QUEUED = "queued", "Renewed, awaiting a delegate"
    REINSTATED = "reinstated", "Reinstated"
    REVOKED = "revoked", "Revoked after the grace period"
    CLOSED = "closed", "Closed (the entitlement ended)"


OPEN_LAPSE_STATES = (LapseState.OPEN, LapseState.QUEUED)


class TrainingLapse(models.Model):
    """Required training of one kind lapsed for one entitlement, and what was done about it."""

    entitlement = models.ForeignKey(
        Entitlement, on_delete=models.PROTECT, related_name="training_lapses"
    )
    training_kind = models.CharField(max_length=32, choices=TrainingKind.choices)
    lapsed_on = models.DateField(help_text="The first day without valid training.")
    procedure_version = models.ForeignKey(
        ProcedureVersion,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The version whose rule suspended.",
    )
    suspended_whole = models.BooleanField(
        help_text="The whole entitlement was suspended (otherwise only the items listed)."
    )
    scope_item_ids = models.JSONField(
        default=list, help_text="The scope items this lapse suspended."
    )
    state = models.CharField(max_length=16, choices=LapseState.choices, default=LapseState.OPEN)
    suspended_at = models.DateTimeField(default=timezone.now)
    renewed_by_record = models.ForeignKey(
        TrainingRecord, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The delegate who resolved a queued case (empty when a rule did).",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-suspended_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["entitlement", "training_kind"],
                condition=Q(state__in=[s.value for s in OPEN_LAPSE_STATES]),
                name="training_lapse_one_open_per_kind",
            ),
        ]
        indexes = [models.Index(fields=["state", "suspended_at"])]

    def __str__(self) -> str:
        return f"{self.get_training_kind_display()} lapsed on {self.lapsed_on}"


class ControlAction(models.Model):
    """One action of the control run (append-only). `idempotency_key` is unique: the same
    action for the same cause is taken once, however often or concurrently the run repeats.
    An action that changed an entitlement carries the same key on its EntitlementEvent."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="control_actions"
    )
    run_date = models.DateField(help_text="The date the run was for.")
    rule = models.CharField(max_length=40)
    procedure_version = models.ForeignKey(
        ProcedureVersion, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=24)
    entitlement = models.ForeignKey(
        Entitlement, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    referrer = models.ForeignKey(
        ReferrerProfile, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    training_kind = models.CharField(max_length=32, blank=True)
    detail = models.TextField()
    idempotency_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["organisation", "run_date"]),
            models.Index(fields=["referrer", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.rule}: {self.action} ({self.idempotency_key})"
