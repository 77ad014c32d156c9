"""The control rules: for one loaded entitlement (or referrer), what is due on the run's
date, as plans whose keys describe the cause, never the run.

Each `decide_*` function is pure over a `Snapshot` and the run's `Context`: the run calls it
once on the batch it loaded and again inside the entitlement's row lock, on freshly read
data, and carries out a plan only if the second decision still contains its key. A plan's
`apply` makes the change through the entitlement services (which write the event naming the
procedure version and rule, issue the letter and tell the referrer and supervisor) and the
lapse services, and tells the delegates.

Idempotency keys (one ledger row each; an entitlement change carries the same key on its
event). `e`, `l`, `r`, `c` and `o` prefix the ids of an entitlement, a lapse, a referrer, a
record (certificate) and an organisation:
  training.lapse:e<id>:<kind>:<lapsed on>#<n>    the n-th lapse of that kind began
  training.lapse:l<id>:whole | :items:<ids>      an open lapse suspends more (policy, new items)
  training.lapse:l<id>:closed | :carried         its entitlement ended, or was varied
  training.renewal:l<id>                         renewed: reinstated, queued or resolved
  training.grace:l<id>                           revoked after the grace period
  registration.lapse:e<id>#<n>[:renewed]         the n-th registration episode began / ended
  review.overdue:e<id>:<review due on>:<action>  suspended (or held) or expired for that date
  training.warning:o<id>:r<id>:<kind>:c<id>:<expires on>:<lead days>
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from entitlements import services as entitlement_services
from entitlements.models import (
    Entitlement,
    EntitlementState,
    ScopeItem,
    ScopeItemState,
    TrainingKind,
)
from entitlements.models.procedures import LapseAction, RenewalAction, ReviewOverdueAction
from referrers.models import ReferrerProfile
from referrers.services import notification_send

from ..models import LapseState, TrainingLapse
from ..requirements import Requirement, requirements_for
from ..selectors.controls import (
    LIVE_STATES,
    REGISTRATION_EPISODE_STARTS,
    Snapshot,
)
from ..services import lapses as lapse_services
from .decisions import (
    is_met,
    lapsed_kinds,
    lapsed_on,
    nearest_due_lead,
    still_holds,
    to_reinstate,
)

DAY = datetime.timedelta(days=1)


@dataclass
class Plan:
    """One action due: what the ledger records, and how to carry it out."""

    rule: str
    action: str
    key: str
    referrer: ReferrerProfile
    detail: str
    entitlement: Entitlement | None = None
    training_kind: str = ""
    apply: Callable[[], None] = field(default=lambda: None, repr=False)

    @property
    def subject(self) -> str:
        name = self.referrer.user.full_name
        if self.entitlement is not None:
            return f"{self.entitlement.reference} ({name})"
        return name


# --- Words and people ------------------------------------------------------------------------


def day(value: datetime.date) -> str:
    return f"{value:%-d %B %Y}"


def kind_label(kind: str) -> str:
    return TrainingKind(kind).label


def in_sentence(label: str) -> str:
    """A label inside a sentence: "contrast safety", but "MRI safety" and "iRefer" kept."""
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


def items_label(items) -> str:
    return ", ".join(item.subject_label for item in items)


def _url(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:  # a page another part of the product may not have yet
        return ""


def tell_referrer(entitlement, *, subject: str, body: str) -> None:
    """The referrer and their clinical supervisor, for a step that changed no entitlement
    (a change through the entitlement services tells them itself)."""
    user = entitlement.referrer.user
    notification_send(
        user=user, subject=subject, body=body, url=_url("entitlement", entitlement.pk)
    )
    supervisor = entitlement.clinical_supervisor
    if supervisor is not None and supervisor.pk != user.pk:
        notification_send(user=supervisor, subject=f"{user.full_name}: {subject}", body=body)


def tell_delegates(ctx, entitlement, *, subject: str, body: str) -> None:
    """The organisation's entitlement delegates (never the referrer themself)."""
    url = _url("entitlement_manage", ctx.organisation.ods_code, entitlement.pk)
    name = entitlement.referrer.user.full_name
    for delegate in ctx.delegates:
        if delegate.pk != entitlement.referrer.user_id:
            notification_send(
                user=delegate,
                subject=f"{name}, {entitlement.reference}: {subject}",
                body=body,
                url=url,
            )


def requirements(snapshot: Snapshot, ctx) -> list[Requirement]:
    """The training the entitlement needs on the run's date, under the version in force then
    at its employer (not the version it was granted under)."""
    return requirements_for(snapshot.items, ctx.version, snapshot.records, ctx.on)


def _record_words(requirement: Requirement | None) -> str:
    if requirement is None:
        return "no longer required by the procedure"
    record = requirement.record
    return (
        f"verified record completed on {day(record.completed_on)}, valid until "
        f"{day(requirement.expires_on)}"
    )


# --- Ended entitlements: close (or carry over) their lapses ----------------------------------


def decide_ended(snapshot: Snapshot, ctx) -> list[Plan]:
    """An entitlement that ended while a lapse was open or queued (revoked or expired by a
    delegate, or superseded by a variation): close the lapse. A variation's successor takes
    the lapse over, with its lapse date (so the grace period runs on) and the items the
    grant carried over suspended, so a renewal reinstates them there."""
    entitlement = snapshot.entitlement
    if entitlement.state in LIVE_STATES:
        return []
    successor = snapshot.successor
    plans = []
    for lapse in snapshot.lapses:
        carry = (
            entitlement.state == EntitlementState.SUPERSEDED
            and successor is not None
            and successor.state in LIVE_STATES
        )
        label = kind_label(lapse.training_kind)
        if carry:
            detail = (
                f"{label} lapse carried over to {successor.reference}, which superseded "
                f"{entitlement.reference}"
            )
            plans.append(
                Plan(
                    rule="training.lapse",
                    action="carried",
                    key=f"training.lapse:l{lapse.pk}:carried",
                    referrer=entitlement.referrer,
                    entitlement=entitlement,
                    training_kind=lapse.training_kind,
                    detail=detail,
                    apply=_carry(ctx, lapse, successor, detail),
                )
            )
        else:
            detail = (
                f"{label} lapse closed: {entitlement.reference} is "
                f"{entitlement.get_state_display().lower()}"
            )
            plans.append(
                Plan(
                    rule="training.lapse",
                    action="closed",
                    key=f"training.lapse:l{lapse.pk}:closed",
                    referrer=entitlement.referrer,
                    entitlement=entitlement,
                    training_kind=lapse.training_kind,
                    detail=detail,
                    apply=lambda lapse=lapse, detail=detail: lapse_services.lapse_end(
                        lapse=lapse,
                        state=LapseState.CLOSED,
                        by=ctx.rule("training.lapse"),
                        reason=detail,
                    ),
                )
            )
    return plans


def _carry(ctx, lapse: TrainingLapse, successor, detail: str) -> Callable[[], None]:
    def apply() -> None:
        rule = ctx.rule("training.lapse")
        lapse_services.lapse_end(lapse=lapse, state=LapseState.CLOSED, by=rule, reason=detail)
        target = Entitlement.objects.select_for_update(of=("self",)).get(pk=successor.pk)
        if (
            target.state not in LIVE_STATES
            or TrainingLapse.objects.filter(
                entitlement=target, training_kind=lapse.training_kind, state=LapseState.OPEN
            ).exists()
        ):
            return
        # The grant copies a suspended item's suspension time to the item that replaces it.
        moments = set(
            ScopeItem.objects.filter(
                pk__in=lapse.scope_item_ids, suspended_at__isnull=False
            ).values_list("suspended_at", flat=True)
        )
        carried = (
            list(
                ScopeItem.objects.filter(
                    entitlement=target, state=ScopeItemState.SUSPENDED, suspended_at__in=moments
                ).values_list("pk", flat=True)
            )
            if moments
            else []
        )
        lapse_services.lapse_open(
            entitlement=target,
            training_kind=lapse.training_kind,
            lapsed_on=lapse.lapsed_on,
            by=entitlement_services.Rule(lapse.procedure_version, "training.lapse"),
            reason=detail,
            suspended_whole=lapse.suspended_whole,
            scope_item_ids=carried,
            suspended_at=lapse.suspended_at,
        )

    return apply


# --- registration.lapse -----------------------------------------------------------------------


def decide_registration(snapshot: Snapshot, ctx) -> list[Plan]:
    """Professional registration expired before the run's date, or marked lapsed: suspend
    the entitlement (or, if it is already suspended, record that registration holds it too).
    Every employer's run does this for its own entitlements of the person. When the
    registration is in order again the run does not reinstate: it queues the case for a
    delegate, who checks the register and reinstates by hand."""
    entitlement = snapshot.entitlement
    if entitlement.state not in LIVE_STATES:
        return []
    profile = entitlement.referrer
    lapsed = profile.registration_lapsed or profile.registration_expires_on < ctx.on
    history = [a for a in snapshot.rule_actions if a.rule == "registration.lapse"]
    last = history[-1].action if history else None
    episodes = sum(a.action in REGISTRATION_EPISODE_STARTS for a in history)
    base = {"rule": "registration.lapse", "referrer": profile, "entitlement": entitlement}
    if lapsed and last not in REGISTRATION_EPISODE_STARTS:
        why = (
            "was marked lapsed by a delegate"
            if profile.registration_lapsed
            else f"expired on {day(profile.registration_expires_on)}"
        )
        reason = f"Professional registration {profile.registration} {why}"
        key = f"registration.lapse:e{entitlement.pk}#{episodes + 1}"
        if entitlement.state == EntitlementState.ACTIVE:
            return [
                Plan(
                    **base,
                    action="suspended",
                    key=key,
                    detail=f"{reason}; suspended the entitlement",
                    apply=_suspend(ctx, entitlement, "registration.lapse", reason, key),
                )
            ]

        def hold() -> None:
            tell_referrer(
                entitlement,
                subject="Your professional registration has lapsed",
                body=f"{reason}. {entitlement.reference} stays suspended.",
            )
            tell_delegates(ctx, entitlement, subject="registration lapsed", body=reason)

        return [
            Plan(
                **base,
                action="held",
                key=key,
                detail=f"{reason}; the entitlement is already suspended",
                apply=hold,
            )
        ]
    if not lapsed and last in REGISTRATION_EPISODE_STARTS:
        key = f"registration.lapse:e{entitlement.pk}#{episodes}:renewed"
        reason = (
            f"Professional registration {profile.registration} is in order again, valid "
            f"until {day(profile.registration_expires_on)}"
        )
        if last == "suspended" and entitlement.state == EntitlementState.SUSPENDED:

            def queue() -> None:
                tell_delegates(
                    ctx,
                    entitlement,
                    subject="registration renewed: check and reinstate",
                    body=f"{reason}. Check the regulator's register, then reinstate "
                    f"{entitlement.reference} if appropriate.",
                )
                tell_referrer(
                    entitlement,
                    subject="Your registration renewal is with a delegate",
                    body=f"{reason}. A delegate will check it and reinstate "
                    f"{entitlement.reference}.",
                )

            return [
                Plan(
                    **base,
                    action="queued",
                    key=key,
                    detail=f"{reason}; queued for a delegate to reinstate",
                    apply=queue,
                )
            ]
        return [Plan(**base, action="cleared", key=key, detail=reason)]
    return []


def _suspend(ctx, entitlement, rule_name: str, reason: str, key: str, scope_items=None):
    def apply() -> None:
        entitlement_services.entitlement_suspend(
            entitlement=entitlement,
            by=ctx.rule(rule_name),
            reason=reason,
            scope_items=scope_items,
            idempotency_key=key,
        )
        what = f"{items_label(scope_items)} suspended" if scope_items else "suspended"
        tell_delegates(ctx, entitlement, subject=what, body=reason)

    return apply


# --- review.overdue ---------------------------------------------------------------------------


def review_key(entitlement, policy: str) -> str:
    return f"review.overdue:e{entitlement.pk}:{entitlement.review_due_on.isoformat()}:{policy}"


def decide_review(snapshot: Snapshot, ctx) -> list[Plan]:
    """The review date passed before the run's date: suspend (or record that the review holds
    an entitlement already suspended) or expire, as the procedure says. Once per review date
    and action: a delegate who reinstates by hand is not overruled for the same date."""
    entitlement = snapshot.entitlement
    if entitlement.state not in LIVE_STATES or entitlement.review_due_on >= ctx.on:
        return []
    policy = ctx.version.review_overdue_action
    key = review_key(entitlement, policy)
    if any(a.key == key for a in snapshot.rule_actions):
        return []
    reason = f"The review due on {day(entitlement.review_due_on)} has not been done"
    base = {
        "rule": "review.overdue",
        "referrer": entitlement.referrer,
        "entitlement": entitlement,
        "key": key,
    }
    if policy == ReviewOverdueAction.EXPIRE:

        def expire() -> None:
            rule = ctx.rule("review.overdue")
            entitlement_services.entitlement_expire(
                entitlement=entitlement, by=rule, reason=reason, idempotency_key=key
            )
            _close_lapses(snapshot, rule, f"{entitlement.reference} expired: {reason}")
            tell_delegates(ctx, entitlement, subject="expired", body=reason)

        return [Plan(**base, action="expired", detail=f"{reason}; expired", apply=expire)]
    if entitlement.state == EntitlementState.ACTIVE:
        return [
            Plan(
                **base,
                action="suspended",
                detail=f"{reason}; suspended",
                apply=_suspend(ctx, entitlement, "review.overdue", reason, key),
            )
        ]

    def hold() -> None:
        tell_delegates(ctx, entitlement, subject="review overdue", body=reason)

    return [
        Plan(
            **base,
            action="held",
            detail=f"{reason}; the entitlement is already suspended",
            apply=hold,
        )
    ]


def _close_lapses(snapshot: Snapshot, rule, reason: str, keep: TrainingLapse | None = None):
    for lapse in TrainingLapse.objects.filter(
        entitlement_id=snapshot.entitlement.pk,
        state__in=[LapseState.OPEN, LapseState.QUEUED],
    ):
        if keep is None or lapse.pk != keep.pk:
            lapse_services.lapse_end(lapse=lapse, state=LapseState.CLOSED, by=rule, reason=reason)


# --- training.renewal -------------------------------------------------------------------------


def decide_renewal(snapshot: Snapshot, ctx) -> list[Plan]:
    """A lapse awaiting renewal whose training is valid again (a verified record now meets
    the requirement, or the procedure no longer requires it): reinstate what it alone still
    holds suspended, or queue the case for a delegate if the procedure says so or another
    rule (registration, review) acted on the entitlement while it was suspended for the
    lapse. It waits while its items cannot come back (the whole entitlement is suspended for
    another reason) or the registration has lapsed."""
    entitlement = snapshot.entitlement
    if entitlement.state not in LIVE_STATES:
        return []
    needs = requirements(snapshot, ctx)
    by_kind = {r.kind: r for r in needs}
    still = lapsed_kinds(needs)
    profile = entitlement.referrer
    registration_lapsed = profile.registration_lapsed or profile.registration_expires_on < ctx.on
    plans = []
    waiting = [lapse for lapse in snapshot.lapses if lapse.state == LapseState.OPEN]
    for lapse in sorted(waiting, key=lambda lapse: (not lapse.suspended_whole, lapse.pk)):
        requirement = by_kind.get(lapse.training_kind)
        if not is_met(requirement):
            continue
        whole, items = to_reinstate(
            lapse,
            entitlement=entitlement,
            items=snapshot.items,
            lapses=snapshot.lapses,
            still_lapsed=still,
        )
        if whole and registration_lapsed:
            continue
        if items and not whole and entitlement.state == EntitlementState.SUSPENDED:
            continue
        record = requirement.record if requirement else None
        key = f"training.renewal:l{lapse.pk}"
        reason = f"{kind_label(lapse.training_kind)} training renewed: {_record_words(requirement)}"
        base = {
            "rule": "training.renewal",
            "referrer": profile,
            "entitlement": entitlement,
            "training_kind": lapse.training_kind,
            "key": key,
        }
        blocked = any(a.created_at >= lapse.suspended_at for a in snapshot.rule_actions)
        if not whole and not items:
            plans.append(
                Plan(
                    **base,
                    action="resolved",
                    detail=f"{reason}; nothing of it is still suspended",
                    apply=_end_lapse(ctx, lapse, LapseState.REINSTATED, reason, record),
                )
            )
        elif ctx.version.renewal_action == RenewalAction.QUEUE or (whole and blocked):
            plans.append(
                Plan(
                    **base,
                    action="queued",
                    detail=f"{reason}; queued for a delegate to reinstate",
                    apply=_queue(ctx, entitlement, lapse, reason, record),
                )
            )
        else:
            what = "the entitlement" if whole else items_label(items)
            if whole and items:
                what = f"the entitlement and {items_label(items)}"
            plans.append(
                Plan(
                    **base,
                    action="reinstated" if whole else "items_reinstated",
                    detail=f"{reason}; reinstated {what}",
                    apply=_reinstate(ctx, entitlement, lapse, whole, items, reason, record, key),
                )
            )
    return plans


def _end_lapse(ctx, lapse, state, reason, record=None):
    def apply() -> None:
        lapse_services.lapse_end(
            lapse=lapse,
            state=state,
            by=ctx.rule("training.renewal"),
            reason=reason,
            record=record,
        )

    return apply


def _queue(ctx, entitlement, lapse, reason, record):
    def apply() -> None:
        lapse_services.lapse_end(
            lapse=lapse,
            state=LapseState.QUEUED,
            by=ctx.rule("training.renewal"),
            reason=reason,
            record=record,
        )
        tell_delegates(
            ctx, entitlement, subject="training renewed: reinstate from the queue", body=reason
        )
        tell_referrer(
            entitlement,
            subject="Your renewed training is with a delegate",
            body=f"{reason}. A delegate will reinstate {entitlement.reference}.",
        )

    return apply


def _reinstate(ctx, entitlement, lapse, whole, items, reason, record, key):
    def apply() -> None:
        rule = ctx.rule("training.renewal")
        if whole:
            entitlement_services.entitlement_reinstate(
                entitlement=entitlement, by=rule, reason=reason, idempotency_key=key
            )
        if items:
            entitlement_services.entitlement_reinstate(
                entitlement=entitlement,
                by=rule,
                reason=reason,
                scope_items=items,
                idempotency_key=f"{key}:items" if whole else key,
            )
        lapse_services.lapse_end(
            lapse=lapse, state=LapseState.REINSTATED, by=rule, reason=reason, record=record
        )
        tell_delegates(ctx, entitlement, subject="reinstated after renewal", body=reason)

    return apply


# --- training.grace ---------------------------------------------------------------------------


def decide_grace(snapshot: Snapshot, ctx) -> list[Plan]:
    """Training still lapsed more than the grace period after the day it lapsed, and the
    referrer still suspended for it: revoke (at most once per entitlement). The grace
    period counts from the lapse date, not from when a run noticed it."""
    entitlement = snapshot.entitlement
    grace = ctx.version.grace_days
    if grace is None or entitlement.state not in LIVE_STATES:
        return []
    by_kind = {r.kind: r for r in requirements(snapshot, ctx)}
    waiting = [lapse for lapse in snapshot.lapses if lapse.state == LapseState.OPEN]
    for lapse in sorted(waiting, key=lambda lapse: (lapse.lapsed_on, lapse.pk)):
        requirement = by_kind.get(lapse.training_kind)
        if requirement is None or is_met(requirement):
            continue
        if lapse.lapsed_on + datetime.timedelta(days=grace) >= ctx.on:
            continue
        if not still_holds(lapse, entitlement=entitlement, items=snapshot.items):
            continue
        reason = (
            f"{kind_label(lapse.training_kind)} training lapsed on {day(lapse.lapsed_on)} "
            f"and was not renewed within the {grace}-day grace period"
        )
        key = f"training.grace:l{lapse.pk}"

        def revoke(lapse=lapse, reason=reason, key=key) -> None:
            rule = ctx.rule("training.grace")
            entitlement_services.entitlement_revoke(
                entitlement=entitlement, by=rule, reason=reason, idempotency_key=key
            )
            lapse_services.lapse_end(lapse=lapse, state=LapseState.REVOKED, by=rule, reason=reason)
            _close_lapses(snapshot, rule, f"{entitlement.reference} revoked: {reason}", keep=lapse)
            tell_delegates(ctx, entitlement, subject="revoked", body=reason)

        return [
            Plan(
                rule="training.grace",
                action="revoked",
                key=key,
                referrer=entitlement.referrer,
                entitlement=entitlement,
                training_kind=lapse.training_kind,
                detail=f"{reason}; revoked",
                apply=revoke,
            )
        ]
    return []


# --- training.lapse ---------------------------------------------------------------------------


def decide_lapse(snapshot: Snapshot, ctx) -> list[Plan]:
    """Required training with no valid verified record on the run's date: record the lapse
    and suspend as the procedure says (only the scope items that need the training, or the
    whole entitlement). What is already suspended is not suspended again: an item or an
    entitlement another lapse suspended is shared (it comes back when both are renewed);
    one a delegate or another rule suspended is left to them. An open lapse suspends more
    when the entitlement is active again with something it should hold (new items, a
    changed procedure, an entitlement that was suspended for another reason when it
    lapsed); what a delegate reinstated by hand is not suspended again for the same lapse."""
    entitlement = snapshot.entitlement
    if entitlement.state not in LIVE_STATES:
        return []
    plans = []
    for requirement in requirements(snapshot, ctx):
        if is_met(requirement):
            continue
        lapse = snapshot.open_lapse(requirement.kind)
        if lapse is None:
            plans.append(_new_lapse(snapshot, ctx, requirement))
        elif lapse.state == LapseState.OPEN and entitlement.state == EntitlementState.ACTIVE:
            plan = _enforce(snapshot, ctx, requirement, lapse)
            if plan is not None:
                plans.append(plan)
    return plans


def _lapse_reason(requirement: Requirement, lapsed: datetime.date) -> str:
    label = kind_label(requirement.kind)
    if requirement.record is None:
        return f"{label} training lapsed on {day(lapsed)}: no verified record"
    return (
        f"{label} training lapsed on {day(lapsed)}: the verified record expired on "
        f"{day(requirement.expires_on)}"
    )


def _new_lapse(snapshot: Snapshot, ctx, requirement: Requirement) -> Plan:
    entitlement = snapshot.entitlement
    kind = requirement.kind
    lapsed = lapsed_on(
        requirement,
        granted_on=timezone.localdate(entitlement.granted_at),
        version=ctx.version,
        on=ctx.on,
    )
    number = snapshot.lapse_counts.get(kind, 0) + 1
    key = f"training.lapse:e{entitlement.pk}:{kind}:{lapsed.isoformat()}#{number}"
    others = [lapse for lapse in snapshot.lapses if lapse.training_kind != kind]
    others_items = {pk for lapse in others for pk in lapse.scope_item_ids}
    whole_policy = ctx.version.lapse_action == LapseAction.SUSPEND_ENTITLEMENT
    active = entitlement.state == EntitlementState.ACTIVE
    needing = requirement.scope_items
    suspend_whole = active and whole_policy
    suspend_items = (
        [i for i in needing if i.state == ScopeItemState.ACTIVE]
        if active and not whole_policy
        else []
    )
    hold_whole = suspend_whole or (
        not active and whole_policy and any(lapse.suspended_whole for lapse in others)
    )
    hold_items = (
        []
        if whole_policy
        else suspend_items
        + [i for i in needing if i.state == ScopeItemState.SUSPENDED and i.pk in others_items]
    )
    reason = _lapse_reason(requirement, lapsed)
    if suspend_whole:
        action, done = "suspended", "suspended the entitlement"
    elif suspend_items:
        action, done = "items_suspended", f"suspended {items_label(suspend_items)}"
    else:
        action = "flagged"
        done = (
            "nothing more to suspend: the entitlement is suspended"
            if not active
            else "nothing more to suspend: what needs it is already suspended"
        )

    def apply() -> None:
        rule = ctx.rule("training.lapse")
        if suspend_whole or suspend_items:
            entitlement_services.entitlement_suspend(
                entitlement=entitlement,
                by=rule,
                reason=reason,
                scope_items=suspend_items or None,
                idempotency_key=key,
            )
        else:
            tell_referrer(
                entitlement,
                subject=f"Your {in_sentence(kind_label(kind))} training has lapsed",
                body=f"{reason}. Renew it and have the record verified.",
            )
        lapse_services.lapse_open(
            entitlement=entitlement,
            training_kind=kind,
            lapsed_on=lapsed,
            by=rule,
            reason=reason,
            suspended_whole=hold_whole,
            scope_item_ids=[i.pk for i in hold_items],
        )
        tell_delegates(
            ctx,
            entitlement,
            subject=f"{in_sentence(kind_label(kind))} training lapsed",
            body=f"{reason}; {done}.",
        )

    return Plan(
        rule="training.lapse",
        action=action,
        key=key,
        referrer=entitlement.referrer,
        entitlement=entitlement,
        training_kind=kind,
        detail=f"{reason}; {done}",
        apply=apply,
    )


def _enforce(snapshot: Snapshot, ctx, requirement: Requirement, lapse: TrainingLapse):
    entitlement = snapshot.entitlement
    whole_policy = ctx.version.lapse_action == LapseAction.SUSPEND_ENTITLEMENT
    reason = _lapse_reason(requirement, lapse.lapsed_on)
    rule = ctx.rule("training.lapse")
    if whole_policy:
        if lapse.suspended_whole:
            return None  # a delegate reinstated it by hand: their decision stands
        key = f"training.lapse:l{lapse.pk}:whole"
        suspend = _suspend(ctx, entitlement, "training.lapse", reason, key)

        def apply() -> None:
            suspend()
            lapse_services.lapse_hold(lapse=lapse, by=rule, reason=reason, whole=True)

        return Plan(
            rule="training.lapse",
            action="suspended",
            key=key,
            referrer=entitlement.referrer,
            entitlement=entitlement,
            training_kind=requirement.kind,
            detail=f"{reason}; suspended the entitlement",
            apply=apply,
        )
    held = set(lapse.scope_item_ids)
    items = [
        i for i in requirement.scope_items if i.state == ScopeItemState.ACTIVE and i.pk not in held
    ]
    if not items:
        return None
    key = f"training.lapse:l{lapse.pk}:items:{'-'.join(str(i.pk) for i in items)}"
    suspend = _suspend(ctx, entitlement, "training.lapse", reason, key, scope_items=items)

    def apply_items() -> None:
        suspend()
        lapse_services.lapse_hold(
            lapse=lapse, by=rule, reason=reason, scope_item_ids=[i.pk for i in items]
        )

    return Plan(
        rule="training.lapse",
        action="items_suspended",
        key=key,
        referrer=entitlement.referrer,
        entitlement=entitlement,
        training_kind=requirement.kind,
        detail=f"{reason}; suspended {items_label(items)}",
        apply=apply_items,
    )


# --- training.warning -------------------------------------------------------------------------


def decide_warnings(snapshots: list[Snapshot], ctx) -> list[Plan]:
    """For one referrer's live entitlements from the organisation: each required record that
    is still valid but reaches a warning lead time of the procedure, warned once per record,
    expiry and lead time. A run catching up sends only the nearest lead time reached."""
    live = [s for s in snapshots if s.entitlement.state in LIVE_STATES]
    if not live or not ctx.version.warning_lead_days:
        return []
    referrer = live[0].entitlement.referrer
    items = [item for s in live for item in s.items]
    plans = []
    for requirement in requirements_for(items, ctx.version, live[0].records, ctx.on):
        if not is_met(requirement) or requirement.record is None:
            continue
        lead = nearest_due_lead(requirement.expires_on, ctx.on, ctx.version.warning_lead_days)
        if lead is None:
            continue
        record = requirement.record
        key = (
            f"training.warning:o{ctx.organisation.pk}:r{referrer.pk}:{requirement.kind}:"
            f"c{record.pk}:{requirement.expires_on.isoformat()}:{lead}"
        )
        left = (requirement.expires_on - ctx.on).days
        label = kind_label(requirement.kind)
        detail = (
            f"{label} training expires on {day(requirement.expires_on)} "
            f"({left} day{'s' if left != 1 else ''} left; {lead}-day warning)"
        )
        references = ", ".join(s.entitlement.reference for s in live)
        body = (
            f"Your {in_sentence(label)} training (completed on {day(record.completed_on)}) is "
            f"valid until {day(requirement.expires_on)}. Renew it and have the new record verified "
            f"before then, or {references} will be suspended under {ctx.version.label}."
        )
        subject = f"Your {in_sentence(label)} training expires on {day(requirement.expires_on)}"

        def warn(subject=subject, body=body) -> None:
            user = referrer.user
            notification_send(user=user, subject=subject, body=body, url=_url("training"))
            supervisors = {
                s.entitlement.clinical_supervisor.pk: s.entitlement.clinical_supervisor
                for s in live
                if s.entitlement.clinical_supervisor is not None
                and s.entitlement.clinical_supervisor.pk != user.pk
            }
            for supervisor in supervisors.values():
                notification_send(
                    user=supervisor, subject=f"{user.full_name}: {subject}", body=body
                )

        plans.append(
            Plan(
                rule="training.warning",
                action="warned",
                key=key,
                referrer=referrer,
                training_kind=requirement.kind,
                detail=detail,
                apply=warn,
            )
        )
    return plans
