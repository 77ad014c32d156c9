"""Entitlements: the granted scope for one referrer, one employment and one kind.

Never deleted. Only `entitlements.services.lifecycle` changes `state`, and every change
writes an `EntitlementEvent` naming the user or the procedure rule that made it, and why.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from referrers.models import DelegateAppointment, Employment, Organisation, ReferrerProfile, User

from .applications import Application, Decision, EntitlementKind
from .procedures import ProcedureVersion
from .scope import ScopeConditions


class EntitlementState(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"
    SUPERSEDED = "superseded", "Superseded"


LIVE_STATES = (EntitlementState.ACTIVE, EntitlementState.SUSPENDED)
FINAL_STATES = (EntitlementState.REVOKED, EntitlementState.EXPIRED, EntitlementState.SUPERSEDED)


class Entitlement(models.Model):
    referrer = models.ForeignKey(
        ReferrerProfile, on_delete=models.PROTECT, related_name="entitlements"
    )
    employment = models.ForeignKey(
        Employment, on_delete=models.PROTECT, related_name="entitlements"
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="entitlements",
        help_text="The employer that entitled: whose procedure, catalogue and delegates.",
    )
    kind = models.CharField(max_length=24, choices=EntitlementKind.choices)
    state = models.CharField(
        max_length=16, choices=EntitlementState.choices, default=EntitlementState.ACTIVE
    )
    application = models.OneToOneField(
        Application, on_delete=models.PROTECT, related_name="entitlement"
    )
    decision = models.OneToOneField(Decision, on_delete=models.PROTECT, related_name="entitlement")
    granted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    delegate_appointment = models.ForeignKey(
        DelegateAppointment, on_delete=models.PROTECT, related_name="entitlements"
    )
    procedure_version = models.ForeignKey(
        ProcedureVersion, on_delete=models.PROTECT, related_name="entitlements"
    )
    granted_at = models.DateTimeField(default=timezone.now)
    review_due_on = models.DateField()
    clinical_supervisor = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decision_line = models.TextField("decision-making line", blank=True)
    accountability_line = models.TextField(blank=True)
    supersedes = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
    )
    state_changed_at = models.DateTimeField(default=timezone.now)
    state_reason = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            # Principle 5: one live entitlement per referrer, employment, employer and kind.
            models.UniqueConstraint(
                fields=["employment", "organisation", "kind"],
                condition=Q(state__in=[state.value for state in LIVE_STATES]),
                name="entitlement_one_live_per_employment_kind",
            ),
        ]
        indexes = [
            # Carries id and referrer so an employer's live entitlements (the dashboard, the
            # training queue and control candidates) are read from the index alone.
            models.Index(
                fields=["organisation", "state"],
                include=["id", "referrer"],
                name="entitlement_org_state_covering",
            ),
            models.Index(fields=["referrer", "state"]),
            models.Index(fields=["state", "review_due_on"]),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.get_state_display()})"

    @property
    def reference(self) -> str:
        return f"ENT-{self.pk:06d}"

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_STATES


class ScopeItemState(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"


class ScopeItem(ScopeConditions):
    entitlement = models.ForeignKey(
        Entitlement, on_delete=models.PROTECT, related_name="scope_items"
    )
    state = models.CharField(
        max_length=16, choices=ScopeItemState.choices, default=ScopeItemState.ACTIVE
    )
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspended_reason = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        constraints = ScopeConditions.scope_constraints("scope_item")
        indexes = [models.Index(fields=["examination", "state"])]


class EventAction(models.TextChoices):
    GRANTED = "granted", "Granted"
    SUSPENDED = "suspended", "Suspended"
    REINSTATED = "reinstated", "Reinstated"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"
    SUPERSEDED = "superseded", "Superseded"
    ITEM_SUSPENDED = "item_suspended", "Scope item suspended"
    ITEM_REINSTATED = "item_reinstated", "Scope item reinstated"
    CHANGE_NOTIFIED = "change_notified", "Change notified"


class EntitlementEvent(models.Model):
    """One thing that happened to an entitlement: the audit trail behind its timeline.

    Written in the same transaction as the change it records. `actor` is the user who did it;
    an automatic action has no actor and names its procedure version and rule instead.
    """

    entitlement = models.ForeignKey(Entitlement, on_delete=models.PROTECT, related_name="events")
    scope_item = models.ForeignKey(
        ScopeItem, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    action = models.CharField(max_length=20, choices=EventAction.choices)
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16, blank=True)
    actor = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    procedure_version = models.ForeignKey(
        ProcedureVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    rule = models.CharField(max_length=40, blank=True, help_text="e.g. training.lapse")
    reason = models.TextField()
    occurred_at = models.DateTimeField(default=timezone.now)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(actor__isnull=False)
                | (Q(procedure_version__isnull=False) & ~Q(rule="")),
                name="entitlement_event_names_actor_or_rule",
            ),
        ]
        indexes = [models.Index(fields=["entitlement", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.by_label}"

    @property
    def by_label(self) -> str:
        if self.actor_id:
            return self.actor.full_name
        return f"{self.procedure_version.label}, rule {self.rule}"


class ChangeKind(models.TextChoices):
    ROLE = "role", "My role has changed"
    EMPLOYER = "employer", "I am leaving this employer"
    DEPARTMENT = "department", "My department has changed"
    LEAVE = "leave", "I am going on extended leave"
    CRITERIA = "criteria", "I no longer meet the criteria"


class ChangeNotice(models.Model):
    """A change the referrer reported (principle 5), for the delegates to see."""

    entitlement = models.ForeignKey(
        Entitlement, on_delete=models.PROTECT, related_name="change_notices"
    )
    kind = models.CharField(max_length=16, choices=ChangeKind.choices)
    details = models.TextField()
    effective_on = models.DateField()
    reported_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    reported_at = models.DateTimeField(default=timezone.now)
    acknowledged_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-reported_at", "id"]
        indexes = [models.Index(fields=["entitlement", "acknowledged_at"])]

    def __str__(self) -> str:
        return self.get_kind_display()
