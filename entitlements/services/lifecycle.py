"""The entitlement state machine (principles 5 and 6): the one place `state` changes.

| from              | to         | service                               |
|-------------------|------------|---------------------------------------|
| (none)            | active     | entitlement_grant                     |
| active            | suspended  | entitlement_suspend                   |
| suspended         | active     | entitlement_reinstate                 |
| active, suspended | revoked    | entitlement_revoke                    |
| active, suspended | expired    | entitlement_expire                    |
| active            | superseded | entitlement_grant of a variation      |

Scope items are suspended and reinstated on their own with the same services (pass
`scope_items`) while the entitlement stays active.

Every service here runs in one transaction, locks the entitlement row first, refuses an
illegal transition with `TransitionError` (a ValidationError whose message can be shown as is),
writes an EntitlementEvent naming the user or the procedure rule and the reason, writes history
with the same attribution, issues a letter and notifies the referrer and supervisor.
An `idempotency_key` makes a repeated call (a rerun of a control job) do nothing.
"""

import datetime
from dataclasses import dataclass, field

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from referrers.attribution import save_attributed
from referrers.models import DelegateAppointment, User
from referrers.services import notification_send

from .. import selectors
from ..models import (
    Application,
    Decision,
    Entitlement,
    EntitlementEvent,
    EntitlementState,
    EventAction,
    ExaminationGroup,
    ScopeItem,
    ScopeItemState,
)
from .actors import Actor, Rule, actor_fields, history_reason, history_user
from .letters import letter_issue

LIVE = (EntitlementState.ACTIVE, EntitlementState.SUSPENDED)


class TransitionError(ValidationError):
    """An entitlement cannot make the change asked for; the message says why."""


@dataclass
class ScopeItemData:
    """A scope item to grant: an examination or a group, with its conditions."""

    examination_id: int | None = None
    group_id: int | None = None
    age_min: int = 0
    age_max: int | None = None
    settings: list[str] = field(default_factory=list)
    clinical_indications: str = ""
    exclusions: str = ""


def _lock(entitlement: Entitlement) -> Entitlement:
    return (
        Entitlement.objects.select_for_update(of=("self",))
        .select_related("referrer__user", "organisation", "clinical_supervisor")
        .get(pk=entitlement.pk)
    )


def _already_done(idempotency_key: str | None) -> EntitlementEvent | None:
    if not idempotency_key:
        return None
    return EntitlementEvent.objects.filter(idempotency_key=idempotency_key).first()


def _require_reason(reason: str) -> None:
    # Checked before anything changes, so a missing reason leaves no trace at all.
    if not (reason or "").strip():
        raise ValidationError({"reason": "Enter the reason"})


def _record(
    entitlement: Entitlement,
    *,
    action: str,
    by: Actor,
    reason: str,
    from_state: str = "",
    to_state: str = "",
    scope_item: ScopeItem | None = None,
    idempotency_key: str | None = None,
    letter: bool = True,
) -> EntitlementEvent:
    _require_reason(reason)
    event = EntitlementEvent.objects.create(
        entitlement=entitlement,
        scope_item=scope_item,
        action=action,
        from_state=from_state,
        to_state=to_state,
        reason=reason.strip(),
        idempotency_key=idempotency_key or None,
        **actor_fields(by),
    )
    if letter:
        letter_issue(event=event)
    return event


def _save(instance, *, by: Actor, reason: str) -> None:
    save_attributed(instance, by=history_user(by), reason=history_reason(by, reason))


def _tell_referrer(entitlement: Entitlement, *, subject: str, body: str) -> None:
    url = reverse("entitlement", args=[entitlement.pk])
    notification_send(user=entitlement.referrer.user, subject=subject, body=body, url=url)
    supervisor = entitlement.clinical_supervisor
    if supervisor is not None and supervisor != entitlement.referrer.user:
        notification_send(
            user=supervisor,
            subject=f"{entitlement.referrer.user.full_name}: {subject.lower()}",
            body=body,
        )


def _set_state(entitlement: Entitlement, state: str, *, by: Actor, reason: str) -> None:
    entitlement.state = state
    entitlement.state_changed_at = timezone.now()
    entitlement.state_reason = reason.strip()
    _save(entitlement, by=by, reason=reason)


def _refuse(entitlement: Entitlement, doing: str) -> None:
    raise TransitionError(
        f"{entitlement.reference} is {entitlement.get_state_display().lower()}, "
        f"so it cannot be {doing}"
    )


# --- Grant ---------------------------------------------------------------------------------


@transaction.atomic
def entitlement_grant(
    *,
    application: Application,
    decision: Decision,
    items: list[ScopeItemData],
    by: User,
    appointment: DelegateAppointment,
    today: datetime.date | None = None,
) -> Entitlement:
    """Create the entitlement a delegate's grant decided, with its scope items, its review
    date from the procedure in force, and its first letter. A variation supersedes the
    entitlement it changes, in the same transaction."""
    today = today or timezone.localdate()
    version = selectors.procedure_version_in_force(application.organisation, on=today)
    if version is None:
        raise TransitionError(
            f"{application.organisation.name} has no published procedure in force, "
            "so nothing can be granted yet"
        )
    if not items:
        raise ValidationError("A grant needs at least one scope item")
    previous = None
    if application.variation_of_id:
        previous = _lock(application.variation_of)
        # Only an active entitlement is varied: granting a variation of a suspended one
        # would lift its suspension without anyone reinstating it.
        if previous.state != EntitlementState.ACTIVE:
            _refuse(previous, "varied")
        previous_state = previous.state
        # One reason for the history row and the event, so the timeline matches history.
        superseded_reason = (
            f"Superseded by the variation granted on application {application.reference}"
        )
        _set_state(previous, EntitlementState.SUPERSEDED, by=by, reason=superseded_reason)
        _record(
            previous,
            action=EventAction.SUPERSEDED,
            by=by,
            reason=superseded_reason,
            from_state=previous_state,
            to_state=EntitlementState.SUPERSEDED,
            letter=False,
        )
    entitlement = Entitlement(
        referrer=application.referrer,
        employment=application.employment,
        organisation=application.organisation,
        kind=application.kind,
        application=application,
        decision=decision,
        granted_by=by,
        delegate_appointment=appointment,
        procedure_version=version,
        review_due_on=today + relativedelta(months=version.review_interval_months),
        clinical_supervisor=application.clinical_supervisor,
        decision_line=application.decision_line,
        accountability_line=application.accountability_line,
        supersedes=previous,
        state_reason=decision.rationale,
    )
    try:
        with transaction.atomic():
            _save(entitlement, by=by, reason="Granted")
    except IntegrityError:
        raise TransitionError(
            "This referrer already holds a live entitlement of this kind for this employment; "
            "vary that one instead"
        ) from None
    # A variation never lifts a suspension (only a reinstatement does): a new item covering
    # any examination of an item suspended on the entitlement being varied is suspended too,
    # with that item's reason. A group that takes in a suspended examination is suspended
    # whole: failing closed, the delegate can reinstate it by hand.
    suspended = (
        list(
            previous.scope_items.filter(state=ScopeItemState.SUSPENDED).select_related(
                "examination", "group"
            )
        )
        if previous
        else []
    )
    covers = _examinations_covered(suspended, items) if suspended else {}
    carried = []
    for item in items:
        scope_item = ScopeItem(entitlement=entitlement, **item.__dict__)
        mine = covers.get(_subject(item), set())
        old = next((o for o in suspended if covers[_subject(o)] & mine), None)
        if old is not None:
            scope_item.state = ScopeItemState.SUSPENDED
            scope_item.suspended_at = old.suspended_at
            scope_item.suspended_reason = old.suspended_reason
            carried.append((scope_item, old))
        scope_item.full_clean(exclude=["entitlement"])
        _save(scope_item, by=by, reason="Granted")
    _record(
        entitlement,
        action=EventAction.GRANTED,
        by=by,
        reason=decision.rationale,
        to_state=EntitlementState.ACTIVE,
    )
    # The grant's letter (above) already states these items as suspended.
    for scope_item, old in carried:
        _record(
            entitlement,
            action=EventAction.ITEM_SUSPENDED,
            by=by,
            reason=(
                "Still suspended, as it was"
                if _subject(old) == _subject(scope_item)
                else f"Suspended, as {old.subject_label} was"
            )
            + f" on {previous.reference}: {old.suspended_reason or 'no reason recorded'}",
            from_state=ScopeItemState.ACTIVE,
            to_state=ScopeItemState.SUSPENDED,
            scope_item=scope_item,
            letter=False,
        )
    _tell_referrer(
        entitlement,
        subject="Your entitlement has been granted",
        body=f"{entitlement.reference} was granted by {by.full_name}. Your letter is being "
        "prepared.",
    )
    return entitlement


def _subject(item) -> tuple:
    return (item.examination_id, item.group_id)


def _examinations_covered(*item_lists) -> dict[tuple, set[int]]:
    """For each item's subject, the ids of the examinations it covers (a group's members)."""
    subjects = {_subject(item) for items in item_lists for item in items}
    group_ids = {group for _, group in subjects if group}
    members: dict[int, set[int]] = {}
    through = ExaminationGroup.examinations.through
    for group, examination in through.objects.filter(examinationgroup_id__in=group_ids).values_list(
        "examinationgroup_id", "examination_id"
    ):
        members.setdefault(group, set()).add(examination)
    return {
        (examination, group): ({examination} if examination else members.get(group, set()))
        for examination, group in subjects
    }


# --- Suspend and reinstate -----------------------------------------------------------------


def _items_of(entitlement: Entitlement, scope_items) -> list[ScopeItem]:
    try:
        ids = {item.pk if isinstance(item, ScopeItem) else int(item) for item in scope_items}
    except (TypeError, ValueError):
        raise ValidationError({"scope_items": "Select scope items of this entitlement"}) from None
    items = list(ScopeItem.objects.select_for_update().filter(entitlement=entitlement, pk__in=ids))
    if len(items) != len(ids) or not ids:
        raise ValidationError({"scope_items": "Select scope items of this entitlement"})
    return items


def _move_items(
    entitlement: Entitlement,
    items: list[ScopeItem],
    to_state: str,
    *,
    by: Actor,
    reason: str,
    idempotency_key: str | None,
) -> None:
    """Suspend or reinstate `items`: one event each (the first carries the idempotency key),
    and one letter, issued with the last, stating the scope after all of them. The items,
    their history rows (attributed as one save each would be) and the events are each
    written in one statement, however many items."""
    _require_reason(reason)
    suspending = to_state == ScopeItemState.SUSPENDED
    events = []
    for number, item in enumerate(items):
        events.append(
            EntitlementEvent(
                entitlement=entitlement,
                scope_item=item,
                action=EventAction.ITEM_SUSPENDED if suspending else EventAction.ITEM_REINSTATED,
                from_state=item.state,
                to_state=to_state,
                reason=reason.strip(),
                idempotency_key=(idempotency_key or None) if number == 0 else None,
                **actor_fields(by),
            )
        )
        item.state = to_state
        item.suspended_at = timezone.now() if suspending else None
        item.suspended_reason = reason.strip() if suspending else ""
        item._history_user = history_user(by)
        item._change_reason = history_reason(by, reason)
    bulk_update_with_history(
        items, ScopeItem, ["state", "suspended_at", "suspended_reason"], batch_size=500
    )
    EntitlementEvent.objects.bulk_create(events, batch_size=500)
    letter_issue(event=events[-1])


def _suspend_or_reinstate(
    entitlement: Entitlement,
    *,
    suspending: bool,
    by: Actor,
    reason: str,
    scope_items,
    idempotency_key: str | None,
) -> Entitlement:
    """The two directions of one switch: the whole entitlement, or scope items of an active
    one, between active and suspended."""
    _require_reason(reason)
    entitlement = _lock(entitlement)
    if _already_done(idempotency_key):
        return entitlement
    word = "suspended" if suspending else "reinstated"
    if scope_items is not None:
        if entitlement.state != EntitlementState.ACTIVE:
            _refuse(entitlement, "changed item by item")
        items = _items_of(entitlement, scope_items)
        for item in items:
            if (item.state == ScopeItemState.SUSPENDED) == suspending:
                raise TransitionError(
                    f"{item.subject_label} of {entitlement.reference} is already suspended"
                    if suspending
                    else f"{item.subject_label} of {entitlement.reference} is not suspended, "
                    "so it cannot be reinstated"
                )
        _move_items(
            entitlement,
            items,
            ScopeItemState.SUSPENDED if suspending else ScopeItemState.ACTIVE,
            by=by,
            reason=reason,
            idempotency_key=idempotency_key,
        )
        subject = f"Part of your entitlement has been {word}"
    else:
        from_state, to_state = EntitlementState.ACTIVE, EntitlementState.SUSPENDED
        if not suspending:
            from_state, to_state = to_state, from_state
        if entitlement.state != from_state:
            _refuse(entitlement, word)
        _set_state(entitlement, to_state, by=by, reason=reason)
        _record(
            entitlement,
            action=EventAction.SUSPENDED if suspending else EventAction.REINSTATED,
            by=by,
            reason=reason,
            from_state=from_state,
            to_state=to_state,
            idempotency_key=idempotency_key,
        )
        subject = f"Your entitlement has been {word}"
    _tell_referrer(entitlement, subject=subject, body=reason.strip())
    return entitlement


@transaction.atomic
def entitlement_suspend(
    *,
    entitlement: Entitlement,
    by: Actor,
    reason: str,
    scope_items=None,
    idempotency_key: str | None = None,
) -> Entitlement:
    """Suspend the whole entitlement, or only `scope_items` of an active one."""
    return _suspend_or_reinstate(
        entitlement,
        suspending=True,
        by=by,
        reason=reason,
        scope_items=scope_items,
        idempotency_key=idempotency_key,
    )


@transaction.atomic
def entitlement_reinstate(
    *,
    entitlement: Entitlement,
    by: Actor,
    reason: str,
    scope_items=None,
    idempotency_key: str | None = None,
) -> Entitlement:
    """Reinstate a suspended entitlement, or suspended `scope_items` of an active one."""
    return _suspend_or_reinstate(
        entitlement,
        suspending=False,
        by=by,
        reason=reason,
        scope_items=scope_items,
        idempotency_key=idempotency_key,
    )


# --- Final states --------------------------------------------------------------------------


def _end(
    entitlement: Entitlement,
    *,
    state: str,
    action: str,
    by: Actor,
    reason: str,
    idempotency_key: str | None,
    doing: str,
    subject: str,
) -> Entitlement:
    _require_reason(reason)
    entitlement = _lock(entitlement)
    if _already_done(idempotency_key):
        return entitlement
    if entitlement.state not in LIVE:
        _refuse(entitlement, doing)
    from_state = entitlement.state
    _set_state(entitlement, state, by=by, reason=reason)
    _record(
        entitlement,
        action=action,
        by=by,
        reason=reason,
        from_state=from_state,
        to_state=state,
        idempotency_key=idempotency_key,
    )
    _tell_referrer(entitlement, subject=subject, body=reason.strip())
    return entitlement


@transaction.atomic
def entitlement_revoke(
    *, entitlement: Entitlement, by: Actor, reason: str, idempotency_key: str | None = None
) -> Entitlement:
    """Revoke for good. A new entitlement needs a new application."""
    return _end(
        entitlement,
        state=EntitlementState.REVOKED,
        action=EventAction.REVOKED,
        by=by,
        reason=reason,
        idempotency_key=idempotency_key,
        doing="revoked",
        subject="Your entitlement has been revoked",
    )


@transaction.atomic
def entitlement_expire(
    *, entitlement: Entitlement, by: Actor, reason: str, idempotency_key: str | None = None
) -> Entitlement:
    """End the entitlement because its employment ended or its review is overdue."""
    return _end(
        entitlement,
        state=EntitlementState.EXPIRED,
        action=EventAction.EXPIRED,
        by=by,
        reason=reason,
        idempotency_key=idempotency_key,
        doing="ended",
        subject="Your entitlement has ended",
    )


def can_transition(entitlement: Entitlement, to_state: str) -> bool:
    """Whether the whole entitlement may move to `to_state` (for showing the right buttons)."""
    allowed = {
        EntitlementState.SUSPENDED: entitlement.state == EntitlementState.ACTIVE,
        EntitlementState.ACTIVE: entitlement.state == EntitlementState.SUSPENDED,
        EntitlementState.REVOKED: entitlement.state in LIVE,
        EntitlementState.EXPIRED: entitlement.state in LIVE,
    }
    return allowed.get(to_state, False)


__all__ = [
    "Rule",
    "ScopeItemData",
    "TransitionError",
    "can_transition",
    "entitlement_expire",
    "entitlement_grant",
    "entitlement_reinstate",
    "entitlement_revoke",
    "entitlement_suspend",
]
