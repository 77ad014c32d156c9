"""Principle 8: each employer's written procedure, as versioned data.

A version is a draft until published; published versions never change. The version in force
on a date is the published one with the latest `effective_from` on or before that date, and a
unique constraint stops two published versions sharing a start date, so at most one is in
force on any date. Every automatic action cites the version and rule it applied.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from referrers.models import Organisation, User


class TrainingKind(models.TextChoices):
    RADIATION_PROTECTION = "radiation_protection", "Radiation protection (IR(ME)R)"
    CONTRAST_SAFETY = "contrast_safety", "Contrast safety"
    MRI_SAFETY = "mri_safety", "MRI safety"
    REFERRAL_GUIDELINES = "referral_guidelines", "Referral guidelines (such as iRefer)"


class RequirementTrigger(models.TextChoices):
    """Which examinations in a scope make a training kind required."""

    IONISING = "ionising", "Any ionising examination"
    CONTRAST = "contrast", "Any examination where contrast may be given"
    MRI = "mri", "Any MRI examination"
    ALL = "all", "Every scope"


class LapseAction(models.TextChoices):
    SUSPEND_ITEMS = "suspend_items", "Suspend only the scope items that need the training"
    SUSPEND_ENTITLEMENT = "suspend_entitlement", "Suspend the whole entitlement"


class RenewalAction(models.TextChoices):
    REINSTATE = "reinstate", "Reinstate automatically"
    QUEUE = "queue", "Queue for a delegate to reinstate"


class ReviewOverdueAction(models.TextChoices):
    SUSPEND = "suspend", "Suspend the entitlement"
    EXPIRE = "expire", "Expire the entitlement"


class AuditOverdueAction(models.TextChoices):
    WARN = "warn", "Warn only"
    SUSPEND = "suspend", "Warn, then suspend"


class FeedbackAction(models.TextChoices):
    FLAG = "flag", "Flag for review by a delegate"
    SUSPEND = "suspend", "Suspend the entitlement"


class ProcedureStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"


class Procedure(models.Model):
    """An employer's written procedure for entitling referrers (one per organisation)."""

    organisation = models.OneToOneField(
        Organisation, on_delete=models.PROTECT, related_name="procedure"
    )
    title = models.CharField(max_length=200)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return self.title


class ProcedureVersion(models.Model):
    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(
        max_length=16, choices=ProcedureStatus.choices, default=ProcedureStatus.DRAFT
    )
    document_reference = models.CharField(max_length=200)
    effective_from = models.DateField(help_text="The first day this version is in force.")

    warning_lead_days = models.JSONField(
        default=list, help_text="Days before a training record expires to warn, e.g. [60, 30, 7]."
    )
    lapse_action = models.CharField(max_length=32, choices=LapseAction.choices)
    grace_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Days suspended for lapsed training before revocation (empty: never revoke).",
    )
    renewal_action = models.CharField(
        max_length=16, choices=RenewalAction.choices, default=RenewalAction.REINSTATE
    )
    review_interval_months = models.PositiveIntegerField()
    review_overdue_action = models.CharField(
        max_length=16, choices=ReviewOverdueAction.choices, default=ReviewOverdueAction.SUSPEND
    )
    audit_frequency_months = models.PositiveIntegerField()
    audit_minimum_sample = models.PositiveIntegerField()
    audit_compliance_standard_percent = models.PositiveIntegerField(default=90)
    audit_overdue_action = models.CharField(
        max_length=16, choices=AuditOverdueAction.choices, default=AuditOverdueAction.WARN
    )
    audit_overdue_suspend_after_days = models.PositiveIntegerField(null=True, blank=True)
    feedback_threshold_count = models.PositiveIntegerField(
        help_text="Upheld inappropriate-referral reports that trigger the feedback action."
    )
    feedback_window_months = models.PositiveIntegerField()
    feedback_action = models.CharField(
        max_length=16, choices=FeedbackAction.choices, default=FeedbackAction.FLAG
    )
    cpd_hours_per_year = models.PositiveIntegerField(null=True, blank=True)

    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    published_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["procedure", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["procedure", "number"], name="procedure_version_number_unique"
            ),
            models.UniqueConstraint(
                fields=["procedure", "effective_from"],
                condition=Q(status=ProcedureStatus.PUBLISHED),
                name="procedure_one_published_version_per_start_date",
            ),
            models.CheckConstraint(
                condition=Q(status=ProcedureStatus.DRAFT)
                | Q(published_at__isnull=False, published_by__isnull=False),
                name="procedure_version_published_has_publisher",
            ),
        ]
        indexes = [models.Index(fields=["procedure", "status", "effective_from"])]

    def __str__(self) -> str:
        return f"{self.procedure.title}, version {self.number}"

    @property
    def label(self) -> str:
        """How automatic actions cite this version: `<ODS> procedure v<N>`."""
        return f"{self.procedure.organisation.ods_code} procedure v{self.number}"

    @property
    def is_published(self) -> bool:
        return self.status == ProcedureStatus.PUBLISHED

    def clean(self) -> None:
        errors = procedure_rule_errors(self)
        if errors:
            raise ValidationError(errors)


def procedure_rule_errors(version: ProcedureVersion) -> dict[str, str]:
    """Rules that cannot work together, each explained (empty when the rules are sound)."""
    errors: dict[str, str] = {}
    leads = version.warning_lead_days
    if not isinstance(leads, list) or not all(isinstance(d, int) and d > 0 for d in leads):
        errors["warning_lead_days"] = "Enter warning lead times as whole numbers of days above 0"
    elif len(set(leads)) != len(leads):
        errors["warning_lead_days"] = "Each warning lead time can only be given once"
    elif leads and max(leads) > 365:
        errors["warning_lead_days"] = "Warning lead times must be 365 days or fewer"
    if version.review_interval_months is not None and not 1 <= version.review_interval_months <= 60:
        errors["review_interval_months"] = "The review interval must be between 1 and 60 months"
    if version.audit_frequency_months is not None and not 1 <= version.audit_frequency_months <= 60:
        errors["audit_frequency_months"] = "Audit frequency must be between 1 and 60 months"
    if version.audit_minimum_sample is not None and version.audit_minimum_sample < 1:
        errors["audit_minimum_sample"] = "The minimum audit sample must be at least 1 request"
    pct = version.audit_compliance_standard_percent
    if pct is not None and not 1 <= pct <= 100:
        errors["audit_compliance_standard_percent"] = "The standard must be between 1% and 100%"
    if version.audit_overdue_action == AuditOverdueAction.SUSPEND and not (
        version.audit_overdue_suspend_after_days
    ):
        errors["audit_overdue_suspend_after_days"] = (
            "Enter how many days after the audit due date to suspend, or choose to warn only"
        )
    if version.feedback_threshold_count is not None and version.feedback_threshold_count < 1:
        errors["feedback_threshold_count"] = "The threshold must be at least 1 upheld report"
    if version.feedback_window_months is not None and not 1 <= version.feedback_window_months <= 36:
        errors["feedback_window_months"] = "The feedback window must be between 1 and 36 months"
    if version.grace_days is not None and version.grace_days > 365:
        errors["grace_days"] = "The grace period must be 365 days or fewer"
    return errors


class ProcedureTrainingRule(models.Model):
    """For one training kind: which scopes require it and how long a record stays valid."""

    version = models.ForeignKey(
        ProcedureVersion, on_delete=models.PROTECT, related_name="training_rules"
    )
    training_kind = models.CharField(max_length=32, choices=TrainingKind.choices)
    required_for = models.CharField(max_length=16, choices=RequirementTrigger.choices)
    validity_months = models.PositiveIntegerField()

    history = HistoricalRecords()

    class Meta:
        ordering = ["training_kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "training_kind"], name="procedure_training_rule_unique"
            ),
            models.CheckConstraint(
                condition=Q(validity_months__gte=1, validity_months__lte=120),
                name="procedure_training_validity_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_training_kind_display()}: {self.validity_months} months"
