"""Reads of entitlements, their letters and timelines, with the rules on who may see which.

A referrer sees their own; delegates, governance leads and IR(ME)R practitioners see their
organisation's (the view checks that permission through referrers.selectors.organisation_for).
Letters: the referrer, and that employer's delegates and governance leads; nobody else.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.http import Http404

from referrers import selectors as people
from referrers.models import Organisation, User

from ..models import (
    ChangeNotice,
    Entitlement,
    EntitlementEvent,
    EntitlementState,
    Letter,
    ScopeItem,
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
    entitlements = _entitlements().filter(organisation=organisation)
    if state:
        entitlements = entitlements.filter(state=state)
    return entitlements.order_by("referrer__user__full_name", "id")


def entitlement_at(organisation: Organisation, pk: int) -> Entitlement:
    try:
        return _entitlements().get(pk=pk, organisation=organisation)
    except Entitlement.DoesNotExist:
        raise Http404("No such entitlement") from None


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
    at: datetime
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
    for notice in entitlement.change_notices.select_related("reported_by"):
        entries.append(
            TimelineEntry(
                notice.reported_at,
                f"Change reported: {notice.get_kind_display().lower()}",
                notice.reported_by.full_name,
                notice.details,
            )
        )
    entries.sort(key=lambda entry: entry.at)
    return entries


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
