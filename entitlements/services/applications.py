"""The referrer's side of an application (principle 2), and the supervisor's endorsement.

Every service here takes the acting user as `by`, checks that they may act (the referrer on
their own application, the named supervisor on the one they endorse), runs in a transaction
with the application row locked, writes history naming them, and raises ValidationError with
a message fit to show when asked to do something the rules forbid. Nothing is saved then.
"""

import datetime
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from referrers import selectors as people
from referrers.attribution import save_attributed
from referrers.models import Organisation, User
from referrers.services import notification_send

from .. import selectors
from ..models import (
    Application,
    ApplicationScopeItem,
    ApplicationStatus,
    Endorsement,
    EndorsementOutcome,
    Entitlement,
    EntitlementKind,
    EntitlementState,
    Evidence,
    EvidenceKind,
    Examination,
    ExaminationGroup,
)
from ..models.applications import OPEN_STATUSES
from ..models.scope import SETTING_ORDER, CareSetting
from ..uploads import check_upload

ANSWER_FIELDS = (
    "service_need",
    "expected_volume",
    "clinical_supervisor",
    "decision_line",
    "accountability_line",
)
MAX_AGE = 130


def _lock(application: Application) -> Application:
    return (
        Application.objects.select_for_update(of=("self",))
        .select_related("referrer__user", "organisation", "employment", "clinical_supervisor")
        .get(pk=application.pk)
    )


def _own_editable(application: Application, by: User) -> Application:
    application = _lock(application)
    if application.referrer.user_id != by.pk:
        raise PermissionDenied("Only the referrer can change their application")
    if not application.is_editable:
        raise ValidationError(
            f"This application is {application.get_status_display().lower()}, so it cannot "
            "be changed"
        )
    return application


def _touch(application: Application, *, by: User, reason: str) -> None:
    application.updated_at = timezone.now()
    save_attributed(application, by=by, reason=reason)


def _live_entitlement(employment_id: int, organisation_id: int, kind: str):
    return Entitlement.objects.filter(
        employment_id=employment_id,
        organisation_id=organisation_id,
        kind=kind,
        state__in=[EntitlementState.ACTIVE, EntitlementState.SUSPENDED],
    ).first()


# --- Step 1: the employment and the kind ---------------------------------------------------


@transaction.atomic
def application_start(
    *,
    by: User,
    employment_id: int,
    organisation_id: int,
    kind: str,
    today: datetime.date | None = None,
) -> Application:
    """Start a draft for one of `by`'s current employments, to its own employer or to an
    imaging provider under a current shared-responsibility agreement (principle 9)."""
    if kind not in EntitlementKind.values:
        raise ValidationError({"kind": "Select the kind of entitlement"})
    choice = selectors.entitling_choice(by, employment_id, organisation_id, on=today)
    if choice is None:
        raise ValidationError(
            {"employment": "Select one of your current roles and an employer you can apply to"}
        )
    live = _live_entitlement(employment_id, organisation_id, kind)
    if live is not None:
        raise ValidationError(
            {
                "employment": f"You already hold {live.reference} for this role: ask to "
                "change its scope instead of applying again"
            }
        )
    application = Application(
        referrer=choice.employment.referrer,
        employment=choice.employment,
        organisation=choice.organisation,
        kind=kind,
        clinical_supervisor=choice.employment.clinical_supervisor,
    )
    try:
        with transaction.atomic():
            save_attributed(application, by=by, reason="Application started")
    except IntegrityError:
        raise ValidationError(
            {
                "employment": "You already have an open application for this role and kind of "
                "entitlement: continue that one"
            }
        ) from None
    return application


@transaction.atomic
def application_change_employment(
    *,
    application: Application,
    by: User,
    employment_id: int,
    organisation_id: int,
    kind: str,
    today: datetime.date | None = None,
) -> Application:
    """Change step 1 of a draft. Moving to another employer clears the scope asked for,
    because each employer has its own catalogue."""
    application = _own_editable(application, by)
    if application.variation_of_id:
        raise ValidationError(
            {"employment": "A request to change an entitlement stays with that entitlement"}
        )
    if kind not in EntitlementKind.values:
        raise ValidationError({"kind": "Select the kind of entitlement"})
    choice = selectors.entitling_choice(by, employment_id, organisation_id, on=today)
    if choice is None:
        raise ValidationError(
            {"employment": "Select one of your current roles and an employer you can apply to"}
        )
    live = _live_entitlement(employment_id, organisation_id, kind)
    if live is not None:
        raise ValidationError(
            {"employment": f"You already hold {live.reference} for this role and kind"}
        )
    if choice.organisation.pk != application.organisation_id:
        application.scope_items.all().delete()
    application.employment = choice.employment
    application.organisation = choice.organisation
    application.kind = kind
    try:
        with transaction.atomic():
            _touch(application, by=by, reason="Role and kind changed")
    except IntegrityError:
        raise ValidationError(
            {"employment": "You already have an open application for this role and kind"}
        ) from None
    return application


# --- Steps 2 and 4: answers ----------------------------------------------------------------


@transaction.atomic
def application_answer(*, application: Application, by: User, **answers) -> Application:
    """Save answers to the service need (step 2) or supervision (step 4) questions."""
    unknown = set(answers) - set(ANSWER_FIELDS)
    if unknown:
        raise ValueError(f"Not application answers: {', '.join(sorted(unknown))}")
    application = _own_editable(application, by)
    errors = {}
    if "expected_volume" in answers:
        volume = answers["expected_volume"]
        if volume is not None and not (1 <= volume <= 1_000_000):
            errors["expected_volume"] = "Expected requests per year must be between 1 and 1,000,000"
    if "clinical_supervisor" in answers:
        supervisor = answers["clinical_supervisor"]
        if supervisor is not None and supervisor.pk == by.pk:
            errors["clinical_supervisor"] = "Your clinical supervisor must be someone else"
        elif supervisor is not None and not supervisor.is_active:
            errors["clinical_supervisor"] = "That person's account is not active"
    if errors:
        raise ValidationError(errors)
    for name, value in answers.items():
        if isinstance(value, str):
            value = value.strip()
        setattr(application, name, value)
    _touch(application, by=by, reason="Answers saved")
    return application


def supervisor_by_email(email: str) -> User | None:
    return User.objects.filter(email__iexact=(email or "").strip(), is_active=True).first()


# --- Step 3: scope -------------------------------------------------------------------------


@dataclass
class ScopeRequest:
    """An examination or a group asked for, with its conditions."""

    examination: Examination | None = None
    group: ExaminationGroup | None = None
    age_min: int = 0
    age_max: int | None = None
    settings: tuple[str, ...] = ()
    clinical_indications: str = ""
    exclusions: str = ""


def scope_condition_errors(
    *, age_min, age_max, settings, clinical_indications: str = "", exclusions: str = ""
) -> dict[str, str]:
    errors = {}
    if age_min is None or not (0 <= age_min <= MAX_AGE):
        errors["age_min"] = f"Youngest age must be a whole number from 0 to {MAX_AGE}"
    if age_max is not None and not (0 <= age_max <= MAX_AGE):
        errors["age_max"] = f"Oldest age must be a whole number from 0 to {MAX_AGE}"
    elif age_max is not None and age_min is not None and age_max < age_min:
        errors["age_max"] = "Oldest age must be the same as or more than the youngest age"
    if not settings:
        errors["settings"] = "Select at least one setting"
    elif set(settings) - set(CareSetting.values):
        errors["settings"] = "Select settings from the list"
    if len(clinical_indications or "") > 2000:
        errors["clinical_indications"] = "Clinical indications must be 2,000 characters or fewer"
    if len(exclusions or "") > 2000:
        errors["exclusions"] = "Exclusions must be 2,000 characters or fewer"
    return errors


def _scope_fields(application: Application, request: ScopeRequest, item_id=None) -> dict:
    errors = scope_condition_errors(
        age_min=request.age_min,
        age_max=request.age_max,
        settings=request.settings,
        clinical_indications=request.clinical_indications,
        exclusions=request.exclusions,
    )
    if (request.examination is None) == (request.group is None):
        errors["examination"] = "Select an examination or a group of examinations"
    elif request.examination is not None and (
        request.examination.organisation_id != application.organisation_id
        or not request.examination.is_active
    ):
        errors["examination"] = (
            f"Choose an examination in the catalogue of {application.organisation}"
        )
    elif request.group is not None and request.group.organisation_id != application.organisation_id:
        errors["examination"] = f"Choose a group in the catalogue of {application.organisation}"
    else:
        taken = application.scope_items.filter(
            examination=request.examination, group=request.group
        ).exclude(pk=item_id)
        if taken.exists():
            errors["examination"] = "You have already asked for that: change the existing item"
    if errors:
        raise ValidationError(errors)
    return {
        "examination": request.examination,
        "group": request.group,
        "age_min": request.age_min,
        "age_max": request.age_max,
        "settings": [code for code in SETTING_ORDER if code in set(request.settings)],
        "clinical_indications": request.clinical_indications.strip(),
        "exclusions": request.exclusions.strip(),
    }


@transaction.atomic
def application_scope_item_add(
    *, application: Application, by: User, request: ScopeRequest
) -> ApplicationScopeItem:
    application = _own_editable(application, by)
    item = ApplicationScopeItem(application=application, **_scope_fields(application, request))
    save_attributed(item, by=by, reason="Scope item added")
    _touch(application, by=by, reason="Scope item added")
    return item


@transaction.atomic
def application_scope_item_update(
    *, item: ApplicationScopeItem, by: User, request: ScopeRequest
) -> ApplicationScopeItem:
    application = _own_editable(item.application, by)
    item = ApplicationScopeItem.objects.select_for_update().get(pk=item.pk, application=application)
    for name, value in _scope_fields(application, request, item_id=item.pk).items():
        setattr(item, name, value)
    save_attributed(item, by=by, reason="Scope item changed")
    _touch(application, by=by, reason="Scope item changed")
    return item


@transaction.atomic
def application_scope_item_remove(*, item: ApplicationScopeItem, by: User) -> None:
    application = _own_editable(item.application, by)
    item = ApplicationScopeItem.objects.get(pk=item.pk, application=application)
    item._history_user = by
    item.delete()
    _touch(application, by=by, reason="Scope item removed")


# --- Step 5: evidence ----------------------------------------------------------------------


@transaction.atomic
def evidence_add(
    *, application: Application, by: User, upload, kind: str, description: str = ""
) -> Evidence:
    """Store an evidence file privately, after checking what it is from its bytes.
    A refused file raises ValidationError on `file` and nothing is stored."""
    application = _own_editable(application, by)
    if kind not in EvidenceKind.values:
        raise ValidationError({"kind": "Select what the file shows"})
    if len(description or "") > 200:
        raise ValidationError({"description": "Description must be 200 characters or fewer"})
    checked, problem = check_upload(upload)
    if checked is None:
        raise ValidationError({"file": problem})
    evidence = Evidence(
        application=application,
        kind=kind,
        description=(description or "").strip(),
        original_name=checked.name,
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
        uploaded_by=by,
    )
    evidence.file.save(checked.name, upload, save=False)
    try:
        save_attributed(evidence, by=by, reason="Evidence uploaded")
        _touch(application, by=by, reason="Evidence uploaded")
    except BaseException:
        # If a database write fails, the stored file must not outlive it.
        evidence.file.delete(save=False)
        raise
    return evidence


@transaction.atomic
def evidence_remove(*, evidence: Evidence, by: User) -> None:
    """Take a file off an application the referrer is still editing. The record and the
    stored file stay, for the audit trail; nobody sees it on the application again."""
    application = _own_editable(evidence.application, by)
    evidence = Evidence.objects.select_for_update().get(pk=evidence.pk, application=application)
    evidence.removed_at = timezone.now()
    save_attributed(evidence, by=by, reason="Evidence removed")
    _touch(application, by=by, reason="Evidence removed")


# --- Check and submit ----------------------------------------------------------------------

STEPS = ("employment", "service_need", "scope", "supervision", "evidence")


def application_problems(application: Application) -> dict[str, str]:
    """What is missing before the application can be submitted, by step. Uses the
    `has_scope_items` and `has_evidence` annotations of selectors.applications_of_referrer
    when present, so a list of applications costs no query per row."""
    problems = {}
    if not application.service_need.strip() or not application.expected_volume:
        problems["service_need"] = "Tell us why your role needs this and how often you expect to"
    has_scope_items = getattr(application, "has_scope_items", None)
    if has_scope_items is None:
        has_scope_items = application.scope_items.exists()
    if not has_scope_items:
        problems["scope"] = "Add at least one examination or group"
    if (
        application.clinical_supervisor_id is None
        or not application.decision_line.strip()
        or not application.accountability_line.strip()
    ):
        problems["supervision"] = (
            "Name your clinical supervisor and describe the decision-making and "
            "accountability lines"
        )
    elif application.clinical_supervisor_id == application.referrer.user_id:
        problems["supervision"] = "Your clinical supervisor must be someone else"
    has_evidence = getattr(application, "has_evidence", None)
    if has_evidence is None:
        has_evidence = application.evidence.filter(removed_at__isnull=True).exists()
    if not has_evidence:
        problems["evidence"] = "Upload at least one piece of evidence"
    return problems


@transaction.atomic
def application_submit(*, application: Application, by: User) -> Application:
    """Submit (or resubmit after a return): the named supervisor is asked to endorse."""
    application = _own_editable(application, by)
    problems = application_problems(application)
    if problems:
        raise ValidationError(list(problems.values()))
    if application.variation_of_id is None and _live_entitlement(
        application.employment_id, application.organisation_id, application.kind
    ):
        raise ValidationError("You already hold an entitlement for this role and kind")
    now = timezone.now()
    resubmitted = application.status == ApplicationStatus.RETURNED
    application.status = ApplicationStatus.AWAITING_ENDORSEMENT
    application.submitted_at = now
    application.updated_at = now
    save_attributed(application, by=by, reason="Resubmitted" if resubmitted else "Submitted")
    notification_send(
        user=application.clinical_supervisor,
        subject=f"{by.full_name} has asked you to endorse their application",
        body=f"{by.full_name} named you as clinical supervisor on application "
        f"{application.reference} to {application.organisation.name}. Please confirm the "
        "service need and the supervision arrangements.",
        url=reverse("endorsement", args=[application.pk]),
    )
    return application


@transaction.atomic
def application_withdraw(*, application: Application, by: User) -> Application:
    application = _lock(application)
    if application.referrer.user_id != by.pk:
        raise PermissionDenied("Only the referrer can withdraw their application")
    if application.status not in OPEN_STATUSES:
        raise ValidationError(
            f"This application is {application.get_status_display().lower()}, so it cannot "
            "be withdrawn"
        )
    application.status = ApplicationStatus.WITHDRAWN
    application.closed_at = application.updated_at = timezone.now()
    save_attributed(application, by=by, reason="Withdrawn")
    return application


# --- Endorsement ---------------------------------------------------------------------------


@transaction.atomic
def application_endorse(
    *, application: Application, by: User, outcome: str, comment: str = ""
) -> Endorsement:
    """The named clinical supervisor endorses (the application goes to the delegates) or
    declines (it goes back to the referrer with the comment)."""
    application = _lock(application)
    if application.clinical_supervisor_id != by.pk or application.referrer.user_id == by.pk:
        raise PermissionDenied("Only the named clinical supervisor can endorse this application")
    if application.status != ApplicationStatus.AWAITING_ENDORSEMENT:
        raise ValidationError(
            f"This application is {application.get_status_display().lower()}, so it is not "
            "waiting for your endorsement"
        )
    if outcome not in EndorsementOutcome.values:
        raise ValidationError({"outcome": "Select whether you endorse the application"})
    comment = (comment or "").strip()
    if outcome == EndorsementOutcome.DECLINED and not comment:
        raise ValidationError({"comment": "Say why you cannot endorse it"})
    endorsement = Endorsement(
        application=application, supervisor=by, outcome=outcome, comment=comment
    )
    save_attributed(endorsement, by=by, reason=endorsement.get_outcome_display())
    now = timezone.now()
    if outcome == EndorsementOutcome.ENDORSED:
        application.status = ApplicationStatus.UNDER_REVIEW
        application.under_review_since = now
        reason = "Endorsed by the clinical supervisor"
        for delegate in _delegates_of(application.organisation):
            notification_send(
                user=delegate,
                subject=f"Application {application.reference} is ready for a decision",
                body=f"{application.referrer.user.full_name} applied for "
                f"{application.get_kind_display().lower()}.",
                url=reverse(
                    "application_review", args=[application.organisation.ods_code, application.pk]
                ),
            )
    else:
        application.status = ApplicationStatus.RETURNED
        reason = "Supervisor declined to endorse"
        notification_send(
            user=application.referrer.user,
            subject="Your clinical supervisor did not endorse your application",
            body=comment,
            url=reverse("application", args=[application.pk]),
        )
    application.updated_at = now
    save_attributed(application, by=by, reason=reason)
    return endorsement


def _delegates_of(organisation: Organisation) -> list[User]:
    today = timezone.localdate()
    return [
        appointment.delegate
        for appointment in people.delegate_appointments_at(organisation)
        if appointment.is_current(today)
    ]


# --- Variation -----------------------------------------------------------------------------


@transaction.atomic
def variation_start(*, entitlement: Entitlement, by: User) -> Application:
    """Principle 5: ask to extend or change a live entitlement's scope. The draft starts as
    a copy of what is granted; a grant of it supersedes the entitlement."""
    entitlement = Entitlement.objects.select_for_update(of=("self",)).get(pk=entitlement.pk)
    if entitlement.referrer.user_id != by.pk:
        raise PermissionDenied("Only the referrer can ask to change their entitlement")
    if entitlement.state == EntitlementState.SUSPENDED:
        # Its grant could not supersede it (lifecycle.entitlement_grant refuses), so do not
        # let the referrer fill in an application that cannot be granted.
        raise ValidationError(
            f"{entitlement.reference} is suspended: you can ask to change its scope once it "
            "has been reinstated"
        )
    if entitlement.state != EntitlementState.ACTIVE:
        raise ValidationError(
            f"{entitlement.reference} is {entitlement.get_state_display().lower()}: "
            "apply again instead"
        )
    source = entitlement.application
    application = Application(
        referrer=entitlement.referrer,
        employment=entitlement.employment,
        organisation=entitlement.organisation,
        kind=entitlement.kind,
        variation_of=entitlement,
        service_need=source.service_need,
        expected_volume=source.expected_volume,
        clinical_supervisor=entitlement.clinical_supervisor,
        decision_line=entitlement.decision_line,
        accountability_line=entitlement.accountability_line,
    )
    try:
        with transaction.atomic():
            save_attributed(application, by=by, reason=f"Variation of {entitlement.reference}")
    except IntegrityError:
        raise ValidationError(
            "You already have an open application for this role: continue that one"
        ) from None
    for item in entitlement.scope_items.order_by("id"):
        copy = ApplicationScopeItem(
            application=application,
            examination_id=item.examination_id,
            group_id=item.group_id,
            **item.conditions(),
        )
        save_attributed(copy, by=by, reason=f"Copied from {entitlement.reference}")
    return application
