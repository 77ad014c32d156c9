"""The audits app's pages: a referrer's own audits and feedback, a delegate's queue sections,
a practitioner's lookup. Each list is one query (or a count and a page)."""

import datetime

from django.db.models import Q, QuerySet
from django.http import Http404

from entitlements.models import Entitlement, EntitlementKind, Examination
from referrers.models import Organisation, ReferrerProfile, User
from training.models import ControlAction

from ..models import (
    AuditAction,
    AuditCycle,
    AuditExtractRow,
    CycleStatus,
    InappropriateReferral,
    ReportStatus,
)


def _cycles() -> QuerySet[AuditCycle]:
    return AuditCycle.objects.select_related(
        "entitlement__referrer__user",
        "entitlement__organisation",
        "extract",
        "reviewed_by",
        "procedure_version__procedure__organisation",
    )


# --- The referrer's own ---------------------------------------------------------------------


def audit_cycles_of_referrer(user: User) -> QuerySet[AuditCycle]:
    """The user's own audit cycles, newest due date first."""
    return (
        _cycles()
        .filter(entitlement__referrer__user=user)
        .prefetch_related("actions")
        .order_by("-due_on", "-pk")
    )


def audit_cycle_of_referrer(user: User, pk: int) -> AuditCycle:
    try:
        return audit_cycles_of_referrer(user).get(pk=pk)
    except AuditCycle.DoesNotExist:
        raise Http404("No such audit") from None


def upheld_reports_of_referrer(user: User) -> QuerySet[InappropriateReferral]:
    """Feedback the user may see about their own requests: upheld reports only, without who
    reported them."""
    return (
        InappropriateReferral.objects.filter(referrer__user=user, status=ReportStatus.UPHELD)
        .select_related("organisation", "examination")
        .order_by("-referred_on", "-pk")
    )


def extract_rows(cycle: AuditCycle, extract=None) -> QuerySet[AuditExtractRow]:
    extract = extract or cycle.extract or cycle.extracts.order_by("-uploaded_at", "-id").first()
    if extract is None:
        return AuditExtractRow.objects.none()
    return extract.requests.order_by("line")


# --- An organisation's ----------------------------------------------------------------------


def audit_cycle_at(organisation: Organisation, pk: int) -> AuditCycle:
    """An audit of an entitlement this organisation granted (404 otherwise)."""
    try:
        return _cycles().get(pk=pk, entitlement__organisation=organisation)
    except AuditCycle.DoesNotExist:
        raise Http404("No such audit") from None


def audit_reviews_waiting_at(organisation: Organisation) -> QuerySet[AuditCycle]:
    return (
        _cycles()
        .filter(entitlement__organisation=organisation, status=CycleStatus.SUBMITTED)
        .order_by("submitted_at", "pk")
    )


def audit_actions_overdue_at(
    organisation: Organisation, on: datetime.date
) -> QuerySet[AuditAction]:
    return (
        AuditAction.objects.filter(
            cycle__entitlement__organisation=organisation, completed_at__isnull=True, due_on__lt=on
        )
        .select_related("cycle__entitlement__referrer__user")
        .order_by("due_on", "pk")
    )


def _reports() -> QuerySet[InappropriateReferral]:
    return InappropriateReferral.objects.select_related(
        "organisation", "referrer__user", "examination", "reported_by", "reviewed_by", "entitlement"
    )


def reports_awaiting_review_at(organisation: Organisation) -> QuerySet[InappropriateReferral]:
    return (
        _reports()
        .filter(organisation=organisation, status=ReportStatus.AWAITING_REVIEW)
        .order_by("reported_at", "pk")
    )


def reports_by(user: User, organisation: Organisation) -> QuerySet[InappropriateReferral]:
    """The reports a practitioner recorded at the organisation, newest first."""
    return (
        _reports()
        .filter(organisation=organisation, reported_by=user)
        .order_by("-reported_at", "-pk")
    )


def report_at(organisation: Organisation, pk: int) -> InappropriateReferral:
    try:
        return _reports().get(pk=pk, organisation=organisation)
    except InappropriateReferral.DoesNotExist:
        raise Http404("No such report") from None


def feedback_flags_at(organisation: Organisation) -> QuerySet[ControlAction]:
    """`feedback.threshold` actions at the organisation, newest first: referrers flagged (or
    suspended) for a delegate's review."""
    return (
        ControlAction.objects.filter(organisation=organisation, rule="feedback.threshold")
        .select_related(
            "entitlement", "referrer__user", "procedure_version__procedure__organisation"
        )
        .order_by("-created_at", "-pk")
    )


def _entitled_here(organisation: Organisation) -> Q:
    return Q(
        pk__in=Entitlement.objects.filter(
            organisation=organisation, kind=EntitlementKind.REFERRAL
        ).values("referrer_id")
    ) | Q(employments__organisation=organisation)


def referrers_to_report(organisation: Organisation, search: str) -> QuerySet[ReferrerProfile]:
    """Referrers an IR(ME)R practitioner of the organisation can report: entitled by it (in
    any state, now or before) or employed there, by name or registration number."""
    search = (search or "").strip()
    if not search:
        return ReferrerProfile.objects.none()
    number = search.replace(" ", "").upper()
    return (
        ReferrerProfile.objects.filter(_entitled_here(organisation))
        .filter(Q(user__full_name__icontains=search) | Q(registration_number__iexact=number))
        .select_related("user")
        .distinct()
        .order_by("user__full_name", "pk")
    )


def referrer_to_report(organisation: Organisation, pk: int) -> ReferrerProfile:
    try:
        return (
            ReferrerProfile.objects.filter(_entitled_here(organisation))
            .select_related("user")
            .distinct()
            .get(pk=pk)
        )
    except ReferrerProfile.DoesNotExist:
        raise Http404("No such referrer here") from None


def examinations_at(organisation: Organisation) -> QuerySet[Examination]:
    return Examination.objects.filter(organisation=organisation).order_by("modality", "name")


def audit_action_of_referrer(user: User, pk: int) -> AuditAction:
    try:
        return AuditAction.objects.select_related("cycle").get(
            pk=pk, cycle__entitlement__referrer__user=user
        )
    except AuditAction.DoesNotExist:
        raise Http404("No such action") from None


def audit_action_at(organisation: Organisation, pk: int) -> AuditAction:
    try:
        return AuditAction.objects.select_related("cycle").get(
            pk=pk, cycle__entitlement__organisation=organisation
        )
    except AuditAction.DoesNotExist:
        raise Http404("No such action") from None
