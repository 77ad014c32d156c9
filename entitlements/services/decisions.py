"""A delegate's decision on an application (principle 1).

`application_decide` locks the application row, so two delegates deciding at the same moment
yield exactly one decision: the second finds it already decided and is told so. It checks
the delegate's authority (a current appointment from that employer covering the modalities
asked for, never their own application) inside the lock, and a grant creates the
entitlement in the same transaction.
"""

import datetime
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from referrers.attribution import save_attributed
from referrers.models import User
from referrers.services import notification_send

from .. import selectors
from ..models import (
    Application,
    ApplicationScopeItem,
    ApplicationStatus,
    Decision,
    DecisionOutcome,
)
from ..models.scope import SETTING_ORDER
from .applications import scope_condition_errors
from .lifecycle import ScopeItemData, entitlement_grant


@dataclass
class ItemDecision:
    """What a narrower grant keeps of one requested item, and its (tightened) conditions."""

    item_id: int
    include: bool
    age_min: int = 0
    age_max: int | None = None
    settings: tuple[str, ...] = ()
    clinical_indications: str = ""
    exclusions: str = ""


def _narrower(
    requested: list[ApplicationScopeItem], decisions: list[ItemDecision]
) -> tuple[list[ScopeItemData], dict]:
    """The scope a narrower grant gives, checked to be within what was asked for."""
    by_id = {d.item_id: d for d in decisions}
    errors: dict[str, str] = {}
    granted: list[ScopeItemData] = []
    if set(by_id) != {item.pk for item in requested}:
        raise ValidationError("Say for every requested item whether it is granted")
    for item in requested:
        decision = by_id[item.pk]
        if not decision.include:
            continue
        problems = scope_condition_errors(
            age_min=decision.age_min,
            age_max=decision.age_max,
            settings=decision.settings,
            clinical_indications=decision.clinical_indications,
            exclusions=decision.exclusions,
        )
        label = item.subject_label
        if not problems:
            if decision.age_min < item.age_min or (
                item.age_max is not None
                and (decision.age_max is None or decision.age_max > item.age_max)
            ):
                problems["age_min"] = f"{label}: the age range cannot be wider than requested"
            if set(decision.settings) - set(item.settings):
                problems["settings"] = f"{label}: only settings that were requested can be granted"
        for field, message in problems.items():
            errors[f"item-{item.pk}-{field}"] = message
        granted.append(
            ScopeItemData(
                examination_id=item.examination_id,
                group_id=item.group_id,
                age_min=decision.age_min,
                age_max=decision.age_max,
                settings=[code for code in SETTING_ORDER if code in set(decision.settings)],
                clinical_indications=decision.clinical_indications.strip(),
                exclusions=decision.exclusions.strip(),
            )
        )
    if not errors and not granted:
        errors["__all__"] = "Keep at least one item, or decline the application instead"
    return granted, errors


def _same_as_requested(item: ApplicationScopeItem) -> ScopeItemData:
    return ScopeItemData(
        examination_id=item.examination_id, group_id=item.group_id, **item.conditions()
    )


@transaction.atomic
def application_decide(
    *,
    application: Application,
    by: User,
    outcome: str,
    rationale: str,
    items: list[ItemDecision] | None = None,
    narrowing_reasons: str = "",
    today: datetime.date | None = None,
) -> Decision:
    """Grant (as requested or narrower), decline, or return an application under review,
    with a rationale. Returns the decision; a grant's entitlement is `decision.entitlement`."""
    today = today or timezone.localdate()
    application = (
        Application.objects.select_for_update(of=("self",))
        .select_related("referrer__user", "organisation", "employment")
        .get(pk=application.pk)
    )
    if application.status != ApplicationStatus.UNDER_REVIEW:
        raise ValidationError(
            f"Application {application.reference} is "
            f"{application.get_status_display().lower()}, so it cannot be decided now"
        )
    authority = selectors.decision_authority(by, application, on=today)
    if not authority:
        raise PermissionDenied(authority.problem)
    if outcome not in DecisionOutcome.values:
        raise ValidationError({"outcome": "Select a decision"})
    rationale = (rationale or "").strip()
    if not rationale:
        raise ValidationError({"rationale": "Enter the rationale for your decision"})
    requested = list(selectors.application_scope_items(application).order_by("id"))
    granted: list[ScopeItemData] = []
    if outcome == DecisionOutcome.GRANTED:
        granted = [_same_as_requested(item) for item in requested]
    elif outcome == DecisionOutcome.GRANTED_NARROWER:
        narrowing_reasons = (narrowing_reasons or "").strip()
        granted, errors = _narrower(requested, items or [])
        if not narrowing_reasons:
            errors["narrowing_reasons"] = "Say why the scope granted is narrower"
        if not errors and granted == [_same_as_requested(item) for item in requested]:
            errors["__all__"] = (
                "Nothing was narrowed: remove an item or tighten a condition, or grant as requested"
            )
        if errors:
            raise ValidationError(errors)
    decision = Decision(
        application=application,
        delegate=by,
        appointment=authority.appointment,
        outcome=outcome,
        rationale=rationale,
        narrowing_reasons=narrowing_reasons if outcome == DecisionOutcome.GRANTED_NARROWER else "",
    )
    save_attributed(decision, by=by, reason=decision.get_outcome_display())
    now = timezone.now()
    application.updated_at = now
    referrer = application.referrer.user
    if decision.is_grant:
        application.status = ApplicationStatus.GRANTED
        application.closed_at = now
        save_attributed(application, by=by, reason="Granted")
        entitlement_grant(
            application=application,
            decision=decision,
            items=granted,
            by=by,
            appointment=authority.appointment,
            today=today,
        )
    elif outcome == DecisionOutcome.DECLINED:
        application.status = ApplicationStatus.DECLINED
        application.closed_at = now
        save_attributed(application, by=by, reason="Declined")
        notification_send(
            user=referrer,
            subject="Your application has been declined",
            body=rationale,
            url=reverse("application", args=[application.pk]),
        )
    else:
        application.status = ApplicationStatus.RETURNED
        save_attributed(application, by=by, reason="Returned for more information")
        notification_send(
            user=referrer,
            subject="Your application has been returned for more information",
            body=rationale,
            url=reverse("application", args=[application.pk]),
        )
    return decision
