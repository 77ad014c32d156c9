"""Applications for entitlement (principle 2): what a referrer asks for, and on what grounds.

Life cycle (domain.md): draft → submitted → awaiting endorsement → under review → granted |
declined, with returned (back to the referrer) and withdrawn. Only the services in
`entitlements.services.applications` and `.decisions` change `status`.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from referrers.models import DelegateAppointment, Employment, Organisation, ReferrerProfile, User

from .scope import ScopeConditions


class EntitlementKind(models.TextChoices):
    # Principle 11: evaluating images is a separate entitlement with its own decision.
    REFERRAL = "referral", "Referral for imaging"
    CLINICAL_EVALUATION = "clinical_evaluation", "Clinical evaluation of images"


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    AWAITING_ENDORSEMENT = "awaiting_endorsement", "Awaiting endorsement"
    UNDER_REVIEW = "under_review", "Under review"
    RETURNED = "returned", "Returned for more information"
    GRANTED = "granted", "Granted"
    DECLINED = "declined", "Declined"
    WITHDRAWN = "withdrawn", "Withdrawn"


OPEN_STATUSES = (
    ApplicationStatus.DRAFT,
    ApplicationStatus.SUBMITTED,
    ApplicationStatus.AWAITING_ENDORSEMENT,
    ApplicationStatus.UNDER_REVIEW,
    ApplicationStatus.RETURNED,
)
# The referrer may change the answers only while the application is with them.
EDITABLE_STATUSES = (ApplicationStatus.DRAFT, ApplicationStatus.RETURNED)


class Application(models.Model):
    referrer = models.ForeignKey(
        ReferrerProfile, on_delete=models.PROTECT, related_name="applications"
    )
    employment = models.ForeignKey(
        Employment, on_delete=models.PROTECT, related_name="applications"
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="applications",
        help_text="The employer asked to entitle: the employment's own, or an imaging "
        "provider under a shared-responsibility agreement.",
    )
    kind = models.CharField(max_length=24, choices=EntitlementKind.choices)
    status = models.CharField(
        max_length=24, choices=ApplicationStatus.choices, default=ApplicationStatus.DRAFT
    )
    variation_of = models.ForeignKey(
        "entitlements.Entitlement",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="variations",
        help_text="The entitlement this application asks to change.",
    )
    service_need = models.TextField(blank=True)
    expected_volume = models.PositiveIntegerField(
        "expected requests per year", null=True, blank=True
    )
    clinical_supervisor = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="applications_to_endorse",
    )
    decision_line = models.TextField("decision-making line", blank=True)
    accountability_line = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    under_review_since = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["employment", "organisation", "kind"],
                condition=Q(status__in=[status.value for status in OPEN_STATUSES]),
                name="application_one_open_per_employment_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "status", "submitted_at"]),
            models.Index(fields=["referrer", "status"]),
            models.Index(fields=["clinical_supervisor", "status"]),
        ]

    def __str__(self) -> str:
        return f"Application {self.pk}: {self.get_kind_display()} at {self.organisation_id}"

    @property
    def reference(self) -> str:
        return f"APP-{self.pk:06d}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE_STATUSES

    def days_waiting(self, today=None) -> int | None:
        if self.submitted_at is None:
            return None
        today = today or timezone.localdate()
        return (today - timezone.localtime(self.submitted_at).date()).days


class ApplicationScopeItem(ScopeConditions):
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="scope_items"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        constraints = ScopeConditions.scope_constraints("application_scope_item")


class EvidenceKind(models.TextChoices):
    QUALIFICATION = "qualification", "Qualification"
    TRAINING = "training", "Training"
    COMPETENCY = "competency", "Competency sign-off"
    OTHER = "other", "Other"


def evidence_path(instance, filename: str) -> str:
    # Never the uploaded name: a random one, so paths cannot be guessed or collide.
    return f"evidence/{uuid.uuid4().hex}"


class Evidence(models.Model):
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="evidence")
    kind = models.CharField(max_length=16, choices=EvidenceKind.choices)
    description = models.CharField(max_length=200, blank=True)
    file = models.FileField(upload_to=evidence_path, max_length=200)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name_plural = "evidence"

    def __str__(self) -> str:
        return self.original_name


class EndorsementOutcome(models.TextChoices):
    ENDORSED = "endorsed", "Endorsed"
    DECLINED = "declined", "Declined"


class Endorsement(models.Model):
    """The clinical supervisor's answer on the service need and supervision arrangements."""

    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="endorsements"
    )
    supervisor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=16, choices=EndorsementOutcome.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} by {self.supervisor_id}"


class DecisionOutcome(models.TextChoices):
    GRANTED = "granted", "Granted as requested"
    GRANTED_NARROWER = "granted_narrower", "Granted with a narrower scope"
    DECLINED = "declined", "Declined"
    RETURNED = "returned", "Returned for more information"


FINAL_OUTCOMES = (
    DecisionOutcome.GRANTED,
    DecisionOutcome.GRANTED_NARROWER,
    DecisionOutcome.DECLINED,
)


class Decision(models.Model):
    """A delegate's decision (principle 1): who, under which appointment, and why."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="decisions")
    delegate = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    appointment = models.ForeignKey(
        DelegateAppointment, on_delete=models.PROTECT, related_name="decisions"
    )
    outcome = models.CharField(max_length=20, choices=DecisionOutcome.choices)
    rationale = models.TextField()
    narrowing_reasons = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # However many times it is returned, an application is decided once.
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(outcome__in=[outcome.value for outcome in FINAL_OUTCOMES]),
                name="decision_one_final_per_application",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} ({self.application_id})"

    @property
    def is_grant(self) -> bool:
        return self.outcome in (DecisionOutcome.GRANTED, DecisionOutcome.GRANTED_NARROWER)
