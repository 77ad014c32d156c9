"""Audit of requesting practice (principle 10) and inappropriate-referral feedback (principle 7).

- `AuditCycle`: one audit a referrer owes for one entitlement, due on a date the procedure's
  audit frequency sets. Open until the referrer submits it (an extract checked against their
  scope, and a reflection); then a delegate records the outcome.
- `AuditExtract` and `AuditExtractRow`: a request extract from the EPR or RIS (CSV) and each
  request's verdict against the scope in force on its request date. Append-only.
- `AuditAction`: an action the delegate set on reviewing an audit, with an owner and a due date.
- `InappropriateReferral`: a report by an IR(ME)R practitioner; no patient identifiers. A
  delegate upholds it or not; upheld reports feed `feedback.threshold`.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from entitlements.models import Entitlement, Examination, ProcedureVersion
from referrers.models import Organisation, ReferrerProfile, User


class CycleStatus(models.TextChoices):
    OPEN = "open", "Open"
    SUBMITTED = "submitted", "Submitted, waiting for a delegate"
    REVIEWED = "reviewed", "Reviewed"


class AuditOutcome(models.TextChoices):
    MEETS_STANDARD = "meets_standard", "Meets the standard"
    ACTION_PLAN = "action_plan", "Action plan needed"
    DOES_NOT_MEET_STANDARD = "does_not_meet_standard", "Does not meet the standard"


class AuditCycle(models.Model):
    entitlement = models.ForeignKey(
        Entitlement, on_delete=models.PROTECT, related_name="audit_cycles"
    )
    number = models.PositiveIntegerField()
    due_on = models.DateField()
    procedure_version = models.ForeignKey(
        ProcedureVersion,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The version whose audit frequency set the due date.",
    )
    minimum_sample = models.PositiveIntegerField()
    compliance_standard_percent = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=CycleStatus.choices, default=CycleStatus.OPEN)
    created_at = models.DateTimeField(default=timezone.now)

    reflection = models.TextField(blank=True)
    extract = models.OneToOneField(
        "audits.AuditExtract",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="submitted_for",
        help_text="The extract the referrer submitted.",
    )
    compliance_percent = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    submitted_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)

    outcome = models.CharField(max_length=32, choices=AuditOutcome.choices, blank=True)
    outcome_notes = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["entitlement", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["entitlement", "number"], name="audit_cycle_number_unique"
            ),
            models.UniqueConstraint(
                fields=["entitlement"],
                condition=Q(status="open"),
                name="audit_cycle_one_open_per_entitlement",
            ),
            models.CheckConstraint(
                condition=Q(status="open")
                | Q(submitted_at__isnull=False, submitted_by__isnull=False, extract__isnull=False),
                name="audit_cycle_submitted_has_submission",
            ),
            models.CheckConstraint(
                condition=~Q(status="reviewed")
                | (Q(reviewed_at__isnull=False, reviewed_by__isnull=False) & ~Q(outcome="")),
                name="audit_cycle_reviewed_has_outcome",
            ),
        ]
        indexes = [models.Index(fields=["status", "due_on"])]

    def __str__(self) -> str:
        return f"Audit {self.number} of {self.entitlement.reference}, due {self.due_on}"

    @property
    def reference(self) -> str:
        return f"AUD-{self.pk:06d}"

    def is_overdue(self, on) -> bool:
        return self.status == CycleStatus.OPEN and self.due_on < on

    @property
    def meets_standard_figure(self) -> bool | None:
        if self.compliance_percent is None:
            return None
        return self.compliance_percent >= self.compliance_standard_percent


class AuditExtract(models.Model):
    """One uploaded request extract, checked whole: saved only if every row is good
    (append-only: a new upload is a new extract)."""

    cycle = models.ForeignKey(AuditCycle, on_delete=models.PROTECT, related_name="extracts")
    file_name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)
    rows = models.PositiveIntegerField()
    within_scope = models.PositiveIntegerField()
    outside_scope = models.PositiveIntegerField()
    unknown_examination = models.PositiveIntegerField()

    class Meta:
        ordering = ["-uploaded_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.rows} requests)"

    @property
    def compliance_percent(self):
        from decimal import ROUND_HALF_UP, Decimal

        if not self.rows:
            return Decimal("0.0")
        return (Decimal(self.within_scope) * 100 / self.rows).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )


class Verdict(models.TextChoices):
    WITHIN_SCOPE = "within_scope", "Within scope"
    OUTSIDE_SCOPE = "outside_scope", "Outside scope"
    UNKNOWN_EXAMINATION = "unknown_examination", "Unknown examination code"


class AuditExtractRow(models.Model):
    """One request of an extract and its verdict (append-only)."""

    extract = models.ForeignKey(AuditExtract, on_delete=models.PROTECT, related_name="requests")
    line = models.PositiveIntegerField()
    request_date = models.DateField()
    examination_code = models.CharField(max_length=40)
    patient_age = models.PositiveSmallIntegerField()
    setting = models.CharField(max_length=16)
    clinical_indication = models.CharField(max_length=500, blank=True)
    verdict = models.CharField(max_length=24, choices=Verdict.choices)
    reasons = models.JSONField(default=list)

    class Meta:
        ordering = ["extract", "line"]
        indexes = [models.Index(fields=["extract", "verdict"])]

    def __str__(self) -> str:
        return f"line {self.line}: {self.get_verdict_display()}"


class AuditAction(models.Model):
    cycle = models.ForeignKey(AuditCycle, on_delete=models.PROTECT, related_name="actions")
    description = models.TextField()
    owner = models.CharField(max_length=200, help_text="Who will do it.")
    due_on = models.DateField()
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    completed_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["completed_at", "due_on"])]

    def __str__(self) -> str:
        return self.description[:60]

    def is_overdue(self, on) -> bool:
        return self.completed_at is None and self.due_on < on


class ReportCategory(models.TextChoices):
    OUTSIDE_ENTITLEMENT = "outside_entitlement", "Outside the referrer's entitlement"
    NOT_MEETING_GUIDELINES = (
        "not_meeting_guidelines",
        "Not meeting referral guidelines (such as iRefer)",
    )
    INADEQUATE_INFORMATION = (
        "inadequate_information",
        "Incomplete or inadequate clinical information",
    )
    DUPLICATE = "duplicate", "Duplicate request"


class ReportStatus(models.TextChoices):
    AWAITING_REVIEW = "awaiting_review", "Waiting for a delegate"
    UPHELD = "upheld", "Upheld"
    NOT_UPHELD = "not_upheld", "Not upheld"


class InappropriateReferral(models.Model):
    """An inappropriate referral recorded by an IR(ME)R practitioner. No patient identifiers."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="inappropriate_referrals",
        help_text="The employer the request was made to.",
    )
    referrer = models.ForeignKey(
        ReferrerProfile, on_delete=models.PROTECT, related_name="inappropriate_referrals"
    )
    entitlement = models.ForeignKey(
        Entitlement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="inappropriate_referrals",
        help_text="The referrer's live referral entitlement there when reported, if any.",
    )
    examination = models.ForeignKey(Examination, on_delete=models.PROTECT, related_name="+")
    referred_on = models.DateField("date of the request")
    category = models.CharField(max_length=32, choices=ReportCategory.choices)
    details = models.TextField()
    reported_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    reported_at = models.DateTimeField(default=timezone.now)

    status = models.CharField(
        max_length=24, choices=ReportStatus.choices, default=ReportStatus.AWAITING_REVIEW
    )
    review_notes = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    counted_in = models.CharField(
        max_length=200,
        blank=True,
        help_text="The feedback.threshold action that counted this report, once it has.",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-referred_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="awaiting_review")
                | Q(reviewed_at__isnull=False, reviewed_by__isnull=False),
                name="inappropriate_referral_reviewed_has_reviewer",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "status", "referred_on"]),
            models.Index(fields=["referrer", "status", "referred_on"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} on {self.referred_on}"

    @property
    def reference(self) -> str:
        return f"IR-{self.pk:06d}"
