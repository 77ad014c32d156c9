"""Reads of entitlements, their letters and timelines, with the rules on who may see which.

A referrer sees their own; delegates, governance leads and IR(ME)R practitioners see their
organisation's (the view checks that permission through referrers.selectors.organisation_for).
Letters: the referrer, and that employer's delegates and governance leads; nobody else.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from referrers import selectors as people
from referrers.models import DelegateAppointment, Organisation, User

from ..models import (
    ChangeNotice,
    Entitlement,
    EntitlementEvent,
    EntitlementState,
    Letter,
    ScopeItem,
    ScopeItemState,
)

LETTER_PERMISSIONS = ("decide_entitlements", "view_governance")


def _entitlements() -> QuerySet[Entitlement]:
    return Entitlement.objects.select_related(
        "referrer__user",
        "employment__organisation",
        "employment__department",
        "organisation",
        "granted_by",
        "delegate_appointment",
        "procedure_version__procedure__organisation",
        "clinical_supervisor",
        "application",
    )


def entitlements_of_referrer(user: User) -> QuerySet[Entitlement]:
    return _entitlements().filter(referrer__user=user).order_by("-granted_at", "-id")


def entitlement_of_referrer(user: User, pk: int) -> Entitlement:
    try:
        return _entitlements().get(pk=pk, referrer__user=user)
    except Entitlement.DoesNotExist:
        raise Http404("No such entitlement") from None


def entitlements_at(organisation: Organisation, *, state: str = "") -> QuerySet[Entitlement]:
    """The organisation's entitlements (in `state`, if given), each annotated with
    `suspended_items`: how many of its scope items are suspended on their own."""
    if state and state not in EntitlementState.values:
        raise ValueError(f"Unknown entitlement state: {state}")
    suspended = (
        ScopeItem.objects.filter(entitlement=OuterRef("pk"), state=ScopeItemState.SUSPENDED)
        .order_by()
        .values("entitlement")
        .annotate(count=Count("pk"))
        .values("count")
    )
    entitlements = _entitlements().filter(organisation=organisation)
    if state:
        entitlements = entitlements.filter(state=state)
    return entitlements.annotate(
        suspended_items=Coalesce(Subquery(suspended, output_field=IntegerField()), 0)
    ).order_by("referrer__user__full_name", "id")


def entitlement_counts_at(organisation: Organisation) -> dict[str, int]:
    """How many of the organisation's entitlements are in each state (every state named)."""
    counts = dict.fromkeys(EntitlementState.values, 0)
    rows = (
        Entitlement.objects.filter(organisation=organisation)
        .values("state")
        .annotate(count=Count("id"))
        .order_by()
    )
    for row in rows:
        counts[row["state"]] = row["count"]
    return counts


def entitlement_at(organisation: Organisation, pk: int) -> Entitlement:
    try:
        return _entitlements().get(pk=pk, organisation=organisation)
    except Entitlement.DoesNotExist:
        raise Http404("No such entitlement") from None


def entitlement_successor_id(entitlement: Entitlement) -> int | None:
    """The id of the entitlement a granted variation replaced this one with, if any."""
    return Entitlement.objects.filter(supersedes=entitlement).values_list("pk", flat=True).first()


def may_manage(user: User, entitlement: Entitlement, on: datetime.date | None = None) -> bool:
    """Whether `user` may suspend, reinstate or revoke `entitlement` by hand, or mark its
    reported changes as seen: an entitlement delegate of its employer holding a current
    appointment there (an ended appointment allows nothing), and never on their own."""
    if not user.is_authenticated or entitlement.referrer.user_id == user.pk:
        return False
    if not people.has_permission(user, "decide_entitlements", entitlement.organisation):
        return False
    on = on or timezone.localdate()
    return (
        DelegateAppointment.objects.filter(
            organisation=entitlement.organisation, delegate=user, valid_from__lte=on
        )
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on))
        .exists()
    )


def scope_items_of(entitlement: Entitlement) -> QuerySet[ScopeItem]:
    return (
        entitlement.scope_items.select_related("examination", "group")
        .prefetch_related("group__examinations")
        .order_by("id")
    )


def letters_of(entitlement: Entitlement) -> QuerySet[Letter]:
    return entitlement.letters.select_related("event").order_by("-created_at", "-id")


def may_read_letters(user: User, entitlement: Entitlement) -> bool:
    if entitlement.referrer.user_id == user.pk:
        return True
    return any(
        people.has_permission(user, permission, entitlement.organisation)
        for permission in LETTER_PERMISSIONS
    )


def letter_for(user: User, pk: int) -> Letter:
    """A letter for its referrer or that employer's delegates and governance leads; else 404."""
    try:
        letter = Letter.objects.select_related(
            "entitlement__referrer", "entitlement__organisation", "event"
        ).get(pk=pk)
    except Letter.DoesNotExist:
        raise Http404("No such letter") from None
    if not may_read_letters(user, letter.entitlement):
        raise Http404("No such letter")
    return letter


def letter_by_code(code: str) -> Letter | None:
    code = code.strip().upper().replace(" ", "")
    if len(code) == 12:
        code = "-".join(code[i : i + 4] for i in range(0, 12, 4))
    return (
        Letter.objects.select_related("entitlement__referrer__user", "entitlement__organisation")
        .filter(verification_code=code)
        .first()
    )


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime.datetime
    title: str
    by: str
    reason: str
    event: EntitlementEvent | None = None
    letter: Letter | None = None


def timeline_of(entitlement: Entitlement) -> list[TimelineEntry]:
    """Every state change, decision and letter of an entitlement, oldest first, with who
    (a person, or a procedure version and rule) and why."""
    decision = entitlement.decision
    application = entitlement.application
    entries = []
    if application.submitted_at:
        entries.append(
            TimelineEntry(
                application.submitted_at,
                f"Application {application.reference} submitted",
                entitlement.referrer.user.full_name,
                "",
            )
        )
    for endorsement in application.endorsements.select_related("supervisor"):
        entries.append(
            TimelineEntry(
                endorsement.created_at,
                f"Supervisor {endorsement.get_outcome_display().lower()} the application",
                endorsement.supervisor.full_name,
                endorsement.comment,
            )
        )
    for earlier in application.decisions.select_related("delegate").exclude(pk=decision.pk):
        entries.append(
            TimelineEntry(
                earlier.created_at,
                f"Decision: {earlier.get_outcome_display().lower()}",
                earlier.delegate.full_name,
                earlier.rationale,
            )
        )
    entries.append(
        TimelineEntry(
            decision.created_at,
            f"Decision: {decision.get_outcome_display().lower()}",
            f"{entitlement.granted_by.full_name} "
            f"(appointment {entitlement.delegate_appointment.document_reference})",
            "\n\n".join(filter(None, [decision.rationale, decision.narrowing_reasons])),
        )
    )
    events = (
        EntitlementEvent.objects.filter(entitlement=entitlement)
        .select_related(
            "actor", "procedure_version__procedure__organisation", "scope_item__examination"
        )
        .select_related("scope_item__group", "letter")
        .order_by("occurred_at", "id")
    )
    for event in events:
        title = event.get_action_display()
        if event.scope_item_id:
            title = f"{title}: {event.scope_item.subject_label}"
        letter = getattr(event, "letter", None)
        entries.append(
            TimelineEntry(event.occurred_at, title, event.by_label, event.reason, event, letter)
        )
    # A reported change is already an event (change_notified); what the notice adds is
    # when a delegate saw it.
    seen = entitlement.change_notices.filter(acknowledged_at__isnull=False).select_related(
        "acknowledged_by"
    )
    for notice in seen:
        entries.append(
            TimelineEntry(
                notice.acknowledged_at,
                f"Reported change seen: {notice.get_kind_display().lower()}",
                notice.acknowledged_by.full_name,
                "",
            )
        )
    entries.sort(key=lambda entry: entry.at)
    return entries


def change_notices_open_of(entitlement: Entitlement) -> QuerySet[ChangeNotice]:
    """Changes the referrer reported on `entitlement` that no delegate has marked as seen."""
    return (
        entitlement.change_notices.filter(acknowledged_at__isnull=True)
        .select_related("reported_by")
        .order_by("reported_at", "id")
    )


def change_notice_at(organisation: Organisation, pk: int) -> ChangeNotice:
    """A change reported on one of the organisation's entitlements, or 404."""
    try:
        return ChangeNotice.objects.select_related(
            "entitlement__referrer__user", "entitlement__organisation"
        ).get(pk=pk, entitlement__organisation=organisation)
    except ChangeNotice.DoesNotExist:
        raise Http404("No such change") from None


def change_notice_of_referrer(user: User, entitlement: Entitlement, pk: int) -> ChangeNotice:
    """A change `user` reported on their own `entitlement`, or 404."""
    try:
        return ChangeNotice.objects.get(
            pk=pk, entitlement=entitlement, entitlement__referrer__user=user
        )
    except ChangeNotice.DoesNotExist:
        raise Http404("No such change") from None


def change_notices_open_at(organisation: Organisation) -> QuerySet[ChangeNotice]:
    return (
        ChangeNotice.objects.filter(
            entitlement__organisation=organisation, acknowledged_at__isnull=True
        )
        .select_related("entitlement__referrer__user", "reported_by")
        .order_by("reported_at", "id")
    )


def live_entitlements_of_employment(employment_id: int) -> QuerySet[Entitlement]:
    return Entitlement.objects.filter(
        employment_id=employment_id,
        state__in=[EntitlementState.ACTIVE, EntitlementState.SUSPENDED],
    )
