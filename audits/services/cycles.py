"""Audit cycles (principle 10): scheduled from the procedure's audit frequency, submitted by
the referrer with a checked extract and a reflection, reviewed by a delegate, with actions.

The first cycle of a live referral entitlement is scheduled by the nightly control run
(`audit_cycles_schedule`, before `audit.overdue` looks for overdue ones): due the audit
frequency after the grant, or, for a variation, when the entitlement it replaced was due
(a variation does not restart the clock). Submitting a cycle schedules the next one, due the
frequency after this one's due date.
"""

import datetime

from dateutil.relativedelta import relativedelta
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from entitlements import selectors as entitlement_selectors
from entitlements.models import LIVE_STATES, Entitlement, EntitlementKind, ProcedureVersion
from entitlements.services import Rule
from referrers.attribution import save_attributed
from referrers.models import Organisation, User
from referrers.services import notification_send
from training import selectors as training_selectors

from ..models import AuditAction, AuditCycle, AuditOutcome, CycleStatus

BATCH_SIZE = 500
TEXT_MAX = 5000


def next_due_on(start: datetime.date, version: ProcedureVersion) -> datetime.date:
    return start + relativedelta(months=version.audit_frequency_months)


def _cycle(entitlement_id: int, number: int, due_on, version: ProcedureVersion) -> AuditCycle:
    return AuditCycle(
        entitlement_id=entitlement_id,
        number=number,
        due_on=due_on,
        procedure_version=version,
        minimum_sample=version.audit_minimum_sample,
        compliance_standard_percent=version.audit_compliance_standard_percent,
    )


def audit_cycles_schedule(
    *, organisation: Organisation, version: ProcedureVersion, by: Rule
) -> int:
    """Give every live referral entitlement of `organisation` without an audit cycle its
    first one, under `version` (the version in force on the run's date). Returns how many
    were scheduled; running it again schedules nothing."""
    unscheduled = (
        Entitlement.objects.filter(
            organisation=organisation, state__in=LIVE_STATES, kind=EntitlementKind.REFERRAL
        )
        .filter(~Exists(AuditCycle.objects.filter(entitlement=OuterRef("pk"))))
        .order_by("pk")
        .values_list("pk", "granted_at", "supersedes_id")
    )
    created = 0
    last = 0
    while True:
        rows = list(unscheduled.filter(pk__gt=last)[:BATCH_SIZE])
        if not rows:
            return created
        last = rows[-1][0]
        carried = dict(
            AuditCycle.objects.filter(
                entitlement_id__in=[r[2] for r in rows if r[2]], status=CycleStatus.OPEN
            ).values_list("entitlement_id", "due_on")
        )
        cycles = [
            _cycle(
                pk,
                1,
                carried.get(supersedes) or next_due_on(timezone.localdate(granted_at), version),
                version,
            )
            for pk, granted_at, supersedes in rows
        ]
        try:
            with transaction.atomic():
                bulk_create_with_history(
                    cycles,
                    AuditCycle,
                    batch_size=BATCH_SIZE,
                    default_change_reason=f"{by.label}: first audit scheduled"[:100],
                )
        except IntegrityError:
            continue  # another run scheduled this batch at the same moment
        created += len(cycles)


def audit_cycle_schedule(*, entitlement: Entitlement, by: User | Rule) -> AuditCycle | None:
    """The entitlement's next open cycle (the one it has, if any), under the version in force
    today at its employer. None when no version is in force or the entitlement has ended."""
    existing = AuditCycle.objects.filter(entitlement=entitlement, status=CycleStatus.OPEN).first()
    if existing is not None or entitlement.state not in LIVE_STATES:
        return existing
    version = entitlement_selectors.procedure_version_in_force(entitlement.organisation)
    if version is None:
        return None
    last = AuditCycle.objects.filter(entitlement=entitlement).order_by("-number").first()
    if last is None:
        due = next_due_on(timezone.localdate(entitlement.granted_at), version)
        number = 1
    else:
        due = next_due_on(last.due_on, version)
        number = last.number + 1
    cycle = _cycle(entitlement.pk, number, due, version)
    save_attributed(
        cycle,
        by=by if isinstance(by, User) else None,
        reason=f"next audit scheduled, due {due:%-d %B %Y}",
    )
    return cycle


def _lock(cycle: AuditCycle) -> AuditCycle:
    return (
        AuditCycle.objects.select_for_update(of=("self",))
        .select_related("entitlement__referrer__user", "entitlement__organisation")
        .get(pk=cycle.pk)
    )


def _delegates_told(organisation: Organisation, *, subject: str, body: str, url: str) -> None:
    for delegate in training_selectors.delegates_of(organisation, timezone.localdate()):
        notification_send(user=delegate, subject=subject, body=body, url=url)


def audit_cycle_submit(*, cycle: AuditCycle, by: User, reflection: str) -> AuditCycle:
    """The referrer submits their audit: the latest extract they uploaded for it (at least the
    procedure's minimum sample) and their reflection. Schedules the next cycle and tells the
    delegates. Only the referrer, only once."""
    reflection = (reflection or "").strip()
    with transaction.atomic():
        cycle = _lock(cycle)
        entitlement = cycle.entitlement
        if entitlement.referrer.user_id != by.pk:
            raise PermissionDenied("Only the referrer submits their own audit")
        if cycle.status != CycleStatus.OPEN:
            raise ValidationError("This audit has already been submitted")
        extract = cycle.extracts.order_by("-uploaded_at", "-id").first()
        errors = {}
        if extract is None:
            errors["reflection"] = "Upload your request extract before you submit the audit"
        elif extract.rows < cycle.minimum_sample:
            errors["reflection"] = (
                f"The audit needs at least {cycle.minimum_sample} requests; your extract has "
                f"{extract.rows}. Upload a larger extract"
            )
        if not reflection:
            errors["reflection"] = errors.get("reflection") or (
                "Enter your reflection on what the audit shows"
            )
        elif len(reflection) > TEXT_MAX:
            errors["reflection"] = f"The reflection must be {TEXT_MAX:,} characters or fewer"
        if errors:
            raise ValidationError(errors)
        cycle.extract = extract
        cycle.reflection = reflection
        cycle.compliance_percent = extract.compliance_percent
        cycle.status = CycleStatus.SUBMITTED
        cycle.submitted_by = by
        cycle.submitted_at = timezone.now()
        save_attributed(cycle, by=by, reason="audit submitted")
        audit_cycle_schedule(entitlement=entitlement, by=by)
        _delegates_told(
            entitlement.organisation,
            subject=f"{by.full_name} submitted an audit ({cycle.compliance_percent}% within scope)",
            body=f"Audit {cycle.number} of {entitlement.reference} is waiting for your review.",
            url=reverse("audit_review", args=[entitlement.organisation.ods_code, cycle.pk]),
        )
    return cycle


def _require_delegate(user: User, organisation: Organisation, referrer_user_id: int) -> None:
    if not training_selectors.is_current_delegate(user, organisation):
        raise PermissionDenied(f"Only a current entitlement delegate of {organisation.name}")
    if user.pk == referrer_user_id:
        raise PermissionDenied("You cannot review your own audit")


def audit_cycle_review(*, cycle: AuditCycle, by: User, outcome: str, notes: str) -> AuditCycle:
    """A delegate of the entitling employer records the outcome of a submitted audit and
    the referrer is told. Once per cycle; never the referrer's own."""
    notes = (notes or "").strip()
    with transaction.atomic():
        cycle = _lock(cycle)
        entitlement = cycle.entitlement
        _require_delegate(by, entitlement.organisation, entitlement.referrer.user_id)
        if cycle.status != CycleStatus.SUBMITTED:
            raise ValidationError(
                "This audit has not been submitted yet"
                if cycle.status == CycleStatus.OPEN
                else "The outcome of this audit has already been recorded"
            )
        errors = {}
        if outcome not in AuditOutcome.values:
            errors["outcome"] = "Select the outcome of the audit"
        if not notes and outcome != AuditOutcome.MEETS_STANDARD:
            errors["notes"] = "Say why the audit does not meet the standard"
        elif len(notes) > TEXT_MAX:
            errors["notes"] = f"The notes must be {TEXT_MAX:,} characters or fewer"
        if errors:
            raise ValidationError(errors)
        cycle.outcome = outcome
        cycle.outcome_notes = notes
        cycle.status = CycleStatus.REVIEWED
        cycle.reviewed_by = by
        cycle.reviewed_at = timezone.now()
        save_attributed(cycle, by=by, reason=f"audit reviewed: {outcome}")
        notification_send(
            user=entitlement.referrer.user,
            subject=f"Your audit {cycle.number}: {AuditOutcome(outcome).label.lower()}",
            body=notes or "Your delegate has reviewed your audit.",
            url=reverse("audits"),
        )
    return cycle


def audit_action_add(
    *, cycle: AuditCycle, by: User, description: str, owner: str, due_on: datetime.date
) -> AuditAction:
    """An action a delegate sets on a submitted or reviewed audit, with an owner and a due date."""
    description, owner = (description or "").strip(), (owner or "").strip()
    with transaction.atomic():
        cycle = _lock(cycle)
        entitlement = cycle.entitlement
        _require_delegate(by, entitlement.organisation, entitlement.referrer.user_id)
        errors = {}
        if cycle.status == CycleStatus.OPEN:
            errors["description"] = "Actions are set once the audit has been submitted"
        elif not description:
            errors["description"] = "Enter what must be done"
        elif len(description) > TEXT_MAX:
            errors["description"] = f"The action must be {TEXT_MAX:,} characters or fewer"
        if not owner:
            errors["owner"] = "Enter who will do it"
        elif len(owner) > 200:
            errors["owner"] = "The owner must be 200 characters or fewer"
        if due_on is None:
            errors["due_on"] = "Enter the date it must be done by"
        elif due_on < timezone.localdate():
            errors["due_on"] = "The due date must be today or in the future"
        if errors:
            raise ValidationError(errors)
        action = AuditAction(
            cycle=cycle, description=description, owner=owner, due_on=due_on, created_by=by
        )
        save_attributed(action, by=by, reason="audit action set")
        notification_send(
            user=entitlement.referrer.user,
            subject=f"An action from your audit {cycle.number}, due {due_on:%-d %B %Y}",
            body=f"{description} (owner: {owner})",
            url=reverse("audits"),
        )
    return action


def audit_action_complete(*, action: AuditAction, by: User) -> AuditAction:
    """Mark an action done: by a delegate of the entitling employer, or by the referrer."""
    with transaction.atomic():
        action = (
            AuditAction.objects.select_for_update(of=("self",))
            .select_related("cycle__entitlement__referrer", "cycle__entitlement__organisation")
            .get(pk=action.pk)
        )
        entitlement = action.cycle.entitlement
        if entitlement.referrer.user_id != by.pk and not training_selectors.is_current_delegate(
            by, entitlement.organisation
        ):
            raise PermissionDenied("Only the referrer or a delegate completes an audit action")
        if action.completed_at is not None:
            raise ValidationError("This action has already been marked done")
        action.completed_at = timezone.now()
        action.completed_by = by
        save_attributed(action, by=by, reason="audit action done")
    return action
