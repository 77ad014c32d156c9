"""Reads of applications, with the rules on who may see which.

A referrer sees their own; the named clinical supervisor sees what they are asked to endorse;
delegates and governance leads see those made to their organisation. Anything else is a 404,
so changing an id in a URL reveals nothing.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from referrers import selectors as people
from referrers.models import (
    DelegateAppointment,
    Employment,
    Organisation,
    SharedResponsibilityAgreement,
    User,
)

from ..models import (
    Application,
    ApplicationScopeItem,
    ApplicationStatus,
    Decision,
    DecisionOutcome,
    Endorsement,
    EndorsementOutcome,
    Entitlement,
    Evidence,
)
from ..models.applications import OPEN_STATUSES
from .catalogue import procedure_version_in_force


def _applications() -> QuerySet[Application]:
    return Application.objects.select_related(
        "referrer__user",
        "employment__organisation",
        "employment__department",
        "organisation",
        "clinical_supervisor",
        "variation_of",
    )


def applications_of_referrer(user: User) -> QuerySet[Application]:
    """The user's applications, most recently changed first, each annotated with
    `has_scope_items` and `has_evidence` (so a list can show progress with no query per row;
    services.application_problems uses them when present)."""
    return (
        _applications()
        .filter(referrer__user=user)
        .annotate(
            has_scope_items=Exists(ApplicationScopeItem.objects.filter(application=OuterRef("pk"))),
            has_evidence=Exists(
                Evidence.objects.filter(application=OuterRef("pk"), removed_at__isnull=True)
            ),
        )
        .order_by("-updated_at", "-id")
    )


def open_applications_of_referrer(user: User) -> QuerySet[Application]:
    """The user's applications still in progress (draft to under review, or returned)."""
    return applications_of_referrer(user).filter(status__in=OPEN_STATUSES)


def application_of_referrer(user: User, pk: int) -> Application:
    """The referrer's own application, or 404."""
    try:
        return _applications().get(pk=pk, referrer__user=user)
    except Application.DoesNotExist:
        raise Http404("No such application") from None


def applications_to_endorse(user: User) -> QuerySet[Application]:
    return (
        _applications()
        .filter(clinical_supervisor=user, status=ApplicationStatus.AWAITING_ENDORSEMENT)
        .order_by("submitted_at", "id")
    )


def application_for_supervisor(user: User, pk: int) -> Application:
    """An application naming `user` as clinical supervisor (not their own), or 404."""
    try:
        return _applications().exclude(referrer__user=user).get(pk=pk, clinical_supervisor=user)
    except Application.DoesNotExist:
        raise Http404("No such application") from None


def application_at(organisation: Organisation, pk: int) -> Application:
    """An application made to `organisation` (the caller has checked the user's permission
    there through referrers.selectors.organisation_for), or 404."""
    try:
        return (
            _applications()
            .exclude(status=ApplicationStatus.DRAFT)
            .get(pk=pk, organisation=organisation)
        )
    except Application.DoesNotExist:
        raise Http404("No such application") from None


def application_queue(organisation: Organisation) -> QuerySet[Application]:
    """Applications waiting for a delegate's decision, longest-waiting first."""
    return (
        _applications()
        .filter(organisation=organisation, status=ApplicationStatus.UNDER_REVIEW)
        .order_by("submitted_at", "id")
    )


def applications_awaiting_endorsement_at(organisation: Organisation) -> QuerySet[Application]:
    return (
        _applications()
        .filter(organisation=organisation, status=ApplicationStatus.AWAITING_ENDORSEMENT)
        .order_by("submitted_at", "id")
    )


def application_scope_items(application: Application):
    return application.scope_items.select_related("examination", "group").prefetch_related(
        "group__examinations"
    )


def application_scope_item(application: Application, pk: int) -> ApplicationScopeItem:
    """One item of `application` (already fetched through an access selector), or 404."""
    item = application_scope_items(application).filter(pk=pk).first()
    if item is None:
        raise Http404("No such item on this application")
    return item


def application_evidence(application: Application) -> QuerySet[Evidence]:
    return application.evidence.filter(removed_at__isnull=True).select_related("uploaded_by")


@dataclass(frozen=True)
class ReturnNote:
    """Why an application came back to the referrer: who said so, when, and what."""

    by: User
    role: str
    comment: str
    at: datetime.datetime


def application_return_note(application: Application) -> ReturnNote | None:
    """The latest word sent back with `application`: a delegate's return for more
    information or the supervisor's refusal to endorse, whichever came last."""
    decision = (
        Decision.objects.filter(application=application, outcome=DecisionOutcome.RETURNED)
        .select_related("delegate")
        .order_by("-created_at", "-id")
        .first()
    )
    endorsement = (
        Endorsement.objects.filter(application=application, outcome=EndorsementOutcome.DECLINED)
        .select_related("supervisor")
        .order_by("-created_at", "-id")
        .first()
    )
    notes = []
    if decision is not None:
        notes.append(
            ReturnNote(
                decision.delegate, "entitlement delegate", decision.rationale, decision.created_at
            )
        )
    if endorsement is not None:
        notes.append(
            ReturnNote(
                endorsement.supervisor,
                "clinical supervisor",
                endorsement.comment,
                endorsement.created_at,
            )
        )
    return max(notes, key=lambda note: note.at) if notes else None


def application_final_decision(application: Application) -> Decision | None:
    """The grant or refusal of `application`, if it has been decided."""
    return (
        Decision.objects.filter(application=application)
        .exclude(outcome=DecisionOutcome.RETURNED)
        .select_related("delegate")
        .first()
    )


def entitlement_of_application(application: Application) -> Entitlement | None:
    return Entitlement.objects.filter(application=application).first()


def requested_modalities(application: Application) -> set[str]:
    """Every modality the application asks for, groups included."""
    modalities: set[str] = set()
    for item in application_scope_items(application):
        if item.examination_id:
            modalities.add(item.examination.modality)
        else:
            modalities.update(e.modality for e in item.group.examinations.all())
    return modalities


@dataclass(frozen=True)
class Authority:
    """Whether a user may decide an application, under which appointment, or why not."""

    appointment: DelegateAppointment | None
    problem: str = ""

    def __bool__(self) -> bool:
        return self.appointment is not None


def decision_authority(
    user: User, application: Application, on: datetime.date | None = None
) -> Authority:
    """Principle 1: a delegate may decide only under a current appointment from the
    application's employer whose modalities (and departments, if it names any) cover what is
    asked for, and never their own application."""
    on = on or timezone.localdate()
    if application.referrer.user_id == user.pk:
        return Authority(None, "You cannot decide your own application")
    if not people.has_permission(user, "decide_entitlements", application.organisation):
        return Authority(None, f"You are not an entitlement delegate of {application.organisation}")
    modalities = requested_modalities(application)
    department_id = application.employment.department_id
    appointments = (
        DelegateAppointment.objects.filter(
            organisation=application.organisation, delegate=user, valid_from__lte=on
        )
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on))
        .prefetch_related("departments")
        .order_by("-valid_from", "id")
    )
    current = list(appointments)
    if not current:
        return Authority(
            None, f"You do not hold a current delegate appointment from {application.organisation}"
        )
    for appointment in current:
        if not appointment.covers_modalities(modalities):
            continue
        departments = {d.pk for d in appointment.departments.all()}
        if departments and department_id not in departments:
            continue
        return Authority(appointment)
    return Authority(
        None,
        "Your delegate appointment does not cover everything this application asks for "
        "(its modalities or department)",
    )


@dataclass(frozen=True)
class EntitlingChoice:
    """An employer a referrer may apply to through one of their employments."""

    employment: Employment
    organisation: Organisation
    agreement: SharedResponsibilityAgreement | None

    @property
    def value(self) -> str:
        return f"{self.employment.pk}:{self.organisation.pk}"


def _can_entitle(organisation: Organisation, on: datetime.date) -> bool:
    return procedure_version_in_force(organisation, on=on) is not None


def entitling_choices(
    user: User, on: datetime.date | None = None
) -> tuple[list[EntitlingChoice], list[tuple[Employment, str]]]:
    """Principle 9: where each of the user's current employments lets them apply: their own
    employer, if it entitles referrers, and any imaging provider with a current
    shared-responsibility agreement with it. Also, for each employment that can go nowhere,
    the reason, to show instead of a choice."""
    on = on or timezone.localdate()
    profile = people.referrer_profile_of(user)
    if profile is None:
        return [], []
    employments = [e for e in people.employments_of_referrer(profile) if e.is_current(on)]
    agreements = list(
        SharedResponsibilityAgreement.objects.filter(
            referring_organisation__in=[e.organisation_id for e in employments],
            valid_from__lte=on,
        )
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on))
        .select_related("imaging_provider")
        .order_by("imaging_provider__name")
    )
    choices: list[EntitlingChoice] = []
    blocked: list[tuple[Employment, str]] = []
    for employment in employments:
        found = []
        if _can_entitle(employment.organisation, on):
            found.append(EntitlingChoice(employment, employment.organisation, None))
        for agreement in agreements:
            if agreement.referring_organisation_id == employment.organisation_id and _can_entitle(
                agreement.imaging_provider, on
            ):
                found.append(EntitlingChoice(employment, agreement.imaging_provider, agreement))
        if found:
            choices.extend(found)
        else:
            blocked.append(
                (
                    employment,
                    f"{employment.organisation.name} does not entitle referrers itself, and has "
                    "no current shared-responsibility agreement with an imaging provider. "
                    "An imaging provider can entitle you for this role only under such an "
                    "agreement: ask your practice or service manager to arrange one.",
                )
            )
    return choices, blocked


def entitling_choice(
    user: User, employment_id: int, organisation_id: int, on: datetime.date | None = None
) -> EntitlingChoice | None:
    choices, _ = entitling_choices(user, on)
    for choice in choices:
        if choice.employment.pk == employment_id and choice.organisation.pk == organisation_id:
            return choice
    return None


def evidence_for(user: User, pk: int) -> Evidence:
    """An evidence file, for its referrer, the named supervisor, or the delegates and
    governance leads of the organisation applied to; otherwise 404."""
    try:
        evidence = Evidence.objects.select_related(
            "application__referrer", "application__organisation"
        ).get(pk=pk, removed_at__isnull=True)
    except Evidence.DoesNotExist:
        raise Http404("No such file") from None
    application = evidence.application
    if application.referrer.user_id == user.pk:
        return evidence
    if application.status != ApplicationStatus.DRAFT:
        if application.clinical_supervisor_id == user.pk:
            return evidence
        for permission in ("decide_entitlements", "view_governance"):
            if people.has_permission(user, permission, application.organisation):
                return evidence
    raise Http404("No such file")
