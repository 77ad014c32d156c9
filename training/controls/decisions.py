"""The control run's decisions that need no database: pure functions over loaded objects.

Shared by the run (`training.controls.rules`) and by a delegate reinstating a queued case
(`training.services.lapse_reinstate`), so both decide "what does this lapse still hold
suspended" the same way.
"""

import datetime
from collections.abc import Iterable

from entitlements.models import EntitlementState, ProcedureVersion, ScopeItemState

from ..models import LapseState, TrainingLapse
from ..requirements import Requirement, Status

DAY = datetime.timedelta(days=1)


def is_met(requirement: Requirement | None) -> bool:
    """Whether a requirement is met on the day it was computed for (a kind no longer
    required is met)."""
    return requirement is None or requirement.status in (Status.VALID, Status.EXPIRING)


def lapsed_kinds(requirements: Iterable[Requirement]) -> set[str]:
    return {r.kind for r in requirements if not is_met(r)}


def lapsed_on(
    requirement: Requirement,
    *,
    granted_on: datetime.date,
    version: ProcedureVersion,
    on: datetime.date,
) -> datetime.date:
    """The first day without valid training, as the data shows it: the day after the best
    record's expiry (or, with no record, the day the entitlement was granted), but never
    before the entitlement was granted nor before the version in force started (a version
    that shortens a validity makes the lapse known from its start, not retroactively), and
    never after `on`. It depends only on the data, not on when the run happens, so a run
    catching up after missed nights finds the same day (and the same idempotency key) as
    the nightly run would have."""
    days = [granted_on, version.effective_from]
    if requirement.expires_on is not None:
        days.append(requirement.expires_on + DAY)
    return min(max(days), on)


def nearest_due_lead(
    expires_on: datetime.date, on: datetime.date, leads: Iterable[int]
) -> int | None:
    """The warning lead time due on `on` for a record whose last valid day is `expires_on`:
    the smallest lead time that has been reached (days left <= lead), or None when none
    has or the record has already expired. A run catching up after missed nights sends
    only this one, not every lead time it missed."""
    days_left = (expires_on - on).days
    if days_left < 0:
        return None
    due = [lead for lead in leads if lead >= days_left]
    return min(due) if due else None


def other_holders(
    lapse: TrainingLapse, lapses: Iterable[TrainingLapse], still_lapsed: set[str]
) -> list[TrainingLapse]:
    """The entitlement's other lapses that still hold what they suspended: queued ones
    (awaiting a delegate) and open ones whose training is still lapsed."""
    return [
        other
        for other in lapses
        if other.pk != lapse.pk
        and other.entitlement_id == lapse.entitlement_id
        and (
            other.state == LapseState.QUEUED
            or (other.state == LapseState.OPEN and other.training_kind in still_lapsed)
        )
    ]


def to_reinstate(
    lapse: TrainingLapse,
    *,
    entitlement,
    items: Iterable,
    lapses: Iterable[TrainingLapse],
    still_lapsed: set[str],
) -> tuple[bool, list]:
    """What renewing `lapse` would reinstate: (the whole entitlement?, the scope items).

    Only what this lapse holds and is still suspended, and nothing another lapse still
    holds (an item suspended by two lapses comes back when both are renewed)."""
    others = other_holders(lapse, lapses, still_lapsed)
    whole = (
        lapse.suspended_whole
        and entitlement.state == EntitlementState.SUSPENDED
        and not any(other.suspended_whole for other in others)
    )
    held_by_others = {pk for other in others for pk in other.scope_item_ids}
    mine = set(lapse.scope_item_ids)
    scope = [
        item
        for item in items
        if item.pk in mine
        and item.state == ScopeItemState.SUSPENDED
        and item.pk not in held_by_others
    ]
    return whole, scope


def still_holds(lapse: TrainingLapse, *, entitlement, items: Iterable) -> bool:
    """Whether the referrer is still suspended for this lapse: the entitlement is suspended,
    or an item the lapse suspended still is (a delegate may have reinstated them by hand)."""
    if entitlement.state == EntitlementState.SUSPENDED:
        return True
    mine = set(lapse.scope_item_ids)
    return any(item.pk in mine and item.state == ScopeItemState.SUSPENDED for item in items)
