"""Principle 5: the referrer notifies a change, and what each change does.

- "I no longer meet the criteria" suspends the entitlement at once.
- A change of employer or role ends the entitlement for that employment: it is not
  transferable, and the referrer is told to apply again in the new role. Any other live
  entitlement held for the same employment (another kind, or with another imaging provider)
  ends with it, for the same reason.
- A change of department or extended leave is recorded for the delegates, who decide.
"""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from referrers.attribution import save_attributed
from referrers.models import User
from referrers.services import employment_end, notification_send

from .. import selectors
from ..models import (
    ChangeKind,
    ChangeNotice,
    Entitlement,
    EntitlementEvent,
    EntitlementState,
    EventAction,
)
from .applications import _delegates_of
from .lifecycle import LIVE, entitlement_expire, entitlement_suspend


@transaction.atomic
def change_notify(
    *,
    entitlement: Entitlement,
    by: User,
    kind: str,
    details: str,
    effective_on: datetime.date,
) -> ChangeNotice:
    """Record a change the referrer reports, act on it as above, and tell the delegates."""
    entitlement = Entitlement.objects.select_for_update(of=("self",)).get(pk=entitlement.pk)
    if entitlement.referrer.user_id != by.pk:
        raise PermissionDenied("Only the referrer can notify a change to their entitlement")
    if entitlement.state not in LIVE:
        raise ValidationError(
            f"{entitlement.reference} is {entitlement.get_state_display().lower()}, so there "
            "is nothing to change"
        )
    errors = {}
    if kind not in ChangeKind.values:
        errors["kind"] = "Select what has changed"
    details = (details or "").strip()
    if not details:
        errors["details"] = "Tell us what has changed"
    elif len(details) > 2000:
        errors["details"] = "Details must be 2,000 characters or fewer"
    if effective_on is None:
        errors["effective_on"] = "Enter the date of the change"
    if errors:
        raise ValidationError(errors)
    notice = ChangeNotice(
        entitlement=entitlement,
        kind=kind,
        details=details,
        effective_on=effective_on,
        reported_by=by,
    )
    save_attributed(notice, by=by, reason="Change notified")
    label = notice.get_kind_display()
    EntitlementEvent.objects.create(
        entitlement=entitlement,
        action=EventAction.CHANGE_NOTIFIED,
        actor=by,
        reason=f"{label}: {details}",
    )
    # Already suspended: the notice is recorded for the delegates, and it stays suspended.
    if kind == ChangeKind.CRITERIA and entitlement.state == EntitlementState.ACTIVE:
        entitlement_suspend(
            entitlement=entitlement,
            by=by,
            reason=f"The referrer reported that they no longer meet the criteria: {details}",
        )
    ended = [entitlement]
    if kind in (ChangeKind.EMPLOYER, ChangeKind.ROLE):
        reason = (
            f"{label}. An entitlement is not transferable: it ends with the employment "
            f"it was granted for. Apply again in the new role. Details: {details}"
        )
        entitlement_expire(entitlement=entitlement, by=by, reason=reason)
        others = selectors.live_entitlements_of_employment(entitlement.employment_id).exclude(
            pk=entitlement.pk
        )
        for other in others.select_related("organisation").order_by("id"):
            entitlement_expire(
                entitlement=other,
                by=by,
                reason=f"{reason} (reported on {entitlement.reference})",
            )
            ended.append(other)
        if kind == ChangeKind.EMPLOYER:
            employment_end(
                employment=entitlement.employment,
                ends_on=max(effective_on, entitlement.employment.starts_on),
                by=by,
            )
    for affected in ended:
        manage_url = reverse(
            "entitlement_manage", args=[affected.organisation.ods_code, affected.pk]
        )
        for delegate in _delegates_of(affected.organisation):
            notification_send(
                user=delegate,
                subject=f"{by.full_name} reported a change: {label.lower()}",
                body=details,
                url=manage_url,
            )
    return notice


@transaction.atomic
def change_notice_acknowledge(*, notice: ChangeNotice, by: User) -> ChangeNotice:
    """A delegate marks a reported change as seen. Seeing it twice changes nothing."""
    notice = ChangeNotice.objects.select_for_update().get(pk=notice.pk)
    if notice.acknowledged_at is None:
        notice.acknowledged_by = by
        notice.acknowledged_at = timezone.now()
        save_attributed(notice, by=by, reason="Acknowledged")
    return notice
