"""Training lapses (principle 6): what a lapse of required training suspended, and how it
ended.

A `TrainingLapse` records exactly what it holds suspended (the whole entitlement, or the
scope items listed), so a renewal reinstates that and nothing else. The control run
(`training.controls`) opens, extends and ends lapses through these services; a delegate
resolves a case the procedure queued for them with `lapse_reinstate`. Every change is
attributed (a user, or the procedure version and rule) in the lapse's history, and
entitlements change only through `entitlements.services`.
"""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from entitlements import selectors as entitlement_selectors
from entitlements import services as entitlement_services
from entitlements.models import Entitlement, EntitlementState, TrainingKind
from entitlements.services import Rule
from referrers.attribution import save_attributed
from referrers.models import User

from ..models import LapseState, TrainingLapse, TrainingRecord
from ..requirements import requirements_for
from ..selectors.controls import load_snapshots

FINAL_LAPSE_STATES = (LapseState.REINSTATED, LapseState.REVOKED, LapseState.CLOSED)


def _save(lapse: TrainingLapse, *, by: User | Rule, reason: str) -> None:
    if isinstance(by, Rule):
        save_attributed(lapse, by=None, reason=f"{by.label}: {reason}"[:100])
    else:
        save_attributed(lapse, by=by, reason=reason[:100])


def lapse_open(
    *,
    entitlement: Entitlement,
    training_kind: str,
    lapsed_on: datetime.date,
    by: Rule,
    reason: str,
    suspended_whole: bool,
    scope_item_ids: list[int],
    suspended_at: datetime.datetime | None = None,
) -> TrainingLapse:
    """Record that `training_kind` lapsed for `entitlement` on `lapsed_on`, holding the whole
    entitlement or `scope_item_ids` suspended. Runs inside the caller's transaction (the
    control action that suspended them); a second open lapse of the same kind is refused by
    the database."""
    lapse = TrainingLapse(
        entitlement=entitlement,
        training_kind=training_kind,
        lapsed_on=lapsed_on,
        procedure_version=by.version,
        suspended_whole=suspended_whole,
        scope_item_ids=sorted(set(scope_item_ids)),
        suspended_at=suspended_at or timezone.now(),
    )
    _save(lapse, by=by, reason=reason)
    return lapse


def lapse_hold(
    *,
    lapse: TrainingLapse,
    by: Rule,
    reason: str,
    whole: bool = False,
    scope_item_ids=(),
) -> TrainingLapse:
    """Add to what an open lapse holds (the procedure now suspends more for it)."""
    if whole:
        lapse.suspended_whole = True
    lapse.scope_item_ids = sorted(set(lapse.scope_item_ids) | set(scope_item_ids))
    _save(lapse, by=by, reason=reason)
    return lapse


def lapse_end(
    *,
    lapse: TrainingLapse,
    state: str,
    by: User | Rule,
    reason: str,
    record: TrainingRecord | None = None,
) -> TrainingLapse:
    """Move a lapse on: queued for a delegate (renewed), or ended (reinstated, revoked,
    closed). Ended lapses record when, and the delegate who ended one by hand."""
    lapse.state = state
    if record is not None:
        lapse.renewed_by_record = record
    if state in FINAL_LAPSE_STATES:
        lapse.resolved_at = timezone.now()
        lapse.resolved_by = by if isinstance(by, User) else None
    _save(lapse, by=by, reason=reason)
    return lapse


def _kind_label(kind: str) -> str:
    return TrainingKind(kind).label


@transaction.atomic
def lapse_reinstate(*, lapse: TrainingLapse, by: User, reason: str) -> TrainingLapse:
    """A delegate reinstates what a queued lapse suspended (the procedure said renewals go
    to a delegate, or another rule also acted while it was suspended).

    Locks the entitlement, then the lapse. Refuses, changing nothing: a missing reason;
    anyone but a current entitlement delegate of the entitling organisation (and never the
    referrer); a lapse not waiting for a delegate; training not valid today under the
    procedure in force; a lapsed registration; items that cannot come back while the whole
    entitlement is suspended for another reason. Reinstates through the entitlement
    services (event, letter, notifications, attributed to `by`) only what this lapse holds
    and no other lapse still does, and marks the lapse reinstated by `by`."""
    # The control package imports these services: import its pure decisions when called.
    from ..controls.decisions import is_met, lapsed_kinds, to_reinstate

    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Enter the reason"})
    entitlement = (
        Entitlement.objects.select_for_update(of=("self",))
        .select_related("referrer__user", "organisation")
        .get(pk=lapse.entitlement_id)
    )
    lapse = TrainingLapse.objects.select_for_update().get(pk=lapse.pk)
    if not entitlement_selectors.may_manage(by, entitlement):
        raise PermissionDenied(
            f"Only an entitlement delegate of {entitlement.organisation.name} can reinstate "
            f"{entitlement.reference}"
        )
    if lapse.state != LapseState.QUEUED:
        raise ValidationError(
            f"This case is not waiting for a delegate: it is {lapse.get_state_display().lower()}"
        )
    today = timezone.localdate()
    profile = entitlement.referrer
    if profile.registration_lapsed or profile.registration_expires_on < today:
        raise ValidationError(
            f"{profile.user.full_name}'s professional registration has lapsed, so "
            f"{entitlement.reference} cannot be reinstated"
        )
    version = entitlement_selectors.procedure_version_in_force(entitlement.organisation, on=today)
    snapshot = load_snapshots([entitlement.pk])[entitlement.pk]
    requirements = requirements_for(
        snapshot.items, version or entitlement.procedure_version, snapshot.records, today
    )
    requirement = next((r for r in requirements if r.kind == lapse.training_kind), None)
    if not is_met(requirement):
        raise ValidationError(
            f"{_kind_label(lapse.training_kind)} training is not valid today: a verified "
            "record is needed before this can be reinstated"
        )
    whole, items = to_reinstate(
        lapse,
        entitlement=entitlement,
        items=snapshot.items,
        lapses=snapshot.lapses,
        still_lapsed=lapsed_kinds(requirements),
    )
    if items and not whole and entitlement.state == EntitlementState.SUSPENDED:
        raise ValidationError(
            f"{entitlement.reference} is suspended for another reason: reinstate the "
            "entitlement first, then this part of it"
        )
    key = f"training.lapse_reinstate:l{lapse.pk}"
    if whole:
        entitlement_services.entitlement_reinstate(
            entitlement=entitlement, by=by, reason=reason, idempotency_key=key
        )
    if items:
        entitlement_services.entitlement_reinstate(
            entitlement=entitlement,
            by=by,
            reason=reason,
            scope_items=items,
            idempotency_key=f"{key}:items",
        )
    return lapse_end(
        lapse=lapse,
        state=LapseState.REINSTATED,
        by=by,
        reason=f"Reinstated after renewal: {reason}",
        record=requirement.record if requirement else None,
    )
