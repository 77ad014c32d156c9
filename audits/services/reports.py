"""Inappropriate referrals (principle 7): recorded by an IR(ME)R practitioner, reviewed by a
delegate; upheld reports are shown to the referrer and feed `feedback.threshold`.

No patient identifiers are stored: free text that looks like an NHS number is refused.
"""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from entitlements.models import LIVE_STATES, Entitlement, EntitlementKind, Examination
from entitlements.services import Rule
from referrers import selectors as people
from referrers.attribution import save_attributed
from referrers.models import Organisation, ReferrerProfile, User
from referrers.services import notification_send
from training import selectors as training_selectors

from ..models import InappropriateReferral, ReportCategory, ReportStatus
from ..nhs_numbers import looks_like_nhs_number

DETAILS_MAX = 2000
NO_IDENTIFIERS = (
    "This looks like an NHS number. Do not record patient identifiers: describe the request "
    "without them"
)


def inappropriate_referral_record(
    *,
    organisation: Organisation,
    by: User,
    referrer: ReferrerProfile,
    examination: Examination | None,
    referred_on: datetime.date | None,
    category: str,
    details: str,
) -> InappropriateReferral:
    """An IR(ME)R practitioner of `organisation` records an inappropriate referral by
    `referrer`. The delegates are told; the referrer sees it only once upheld."""
    if not people.has_permission(by, "report_referrals", organisation):
        raise PermissionDenied(f"Only an IR(ME)R practitioner of {organisation.name} reports")
    details = (details or "").strip()
    errors = {}
    if referrer.user_id == by.pk:
        errors["details"] = "You cannot report your own referral"
    if examination is None or examination.organisation_id != organisation.pk:
        errors["examination"] = "Select the examination that was requested"
    if referred_on is None:
        errors["referred_on"] = "Enter the date of the request"
    elif referred_on > timezone.localdate():
        errors["referred_on"] = "The date of the request must be today or in the past"
    if category not in ReportCategory.values:
        errors["category"] = "Select why the referral was inappropriate"
    if not details:
        errors["details"] = errors.get("details") or "Describe what was inappropriate"
    elif looks_like_nhs_number(details):
        errors["details"] = NO_IDENTIFIERS
    elif len(details) > DETAILS_MAX:
        errors["details"] = f"The description must be {DETAILS_MAX:,} characters or fewer"
    if errors:
        raise ValidationError(errors)
    entitlement = (
        Entitlement.objects.filter(
            referrer=referrer,
            organisation=organisation,
            kind=EntitlementKind.REFERRAL,
            state__in=LIVE_STATES,
        )
        .order_by("pk")
        .first()
    )
    with transaction.atomic():
        report = InappropriateReferral(
            organisation=organisation,
            referrer=referrer,
            entitlement=entitlement,
            examination=examination,
            referred_on=referred_on,
            category=category,
            details=details,
            reported_by=by,
        )
        save_attributed(report, by=by, reason="inappropriate referral reported")
        url = reverse("inappropriate_referral_review", args=[organisation.ods_code, report.pk])
        for delegate in training_selectors.delegates_of(organisation, timezone.localdate()):
            if delegate.pk != referrer.user_id:
                notification_send(
                    user=delegate,
                    subject=f"Inappropriate referral by {referrer.user.full_name} to review",
                    body=f"{report.get_category_display()}: {examination}",
                    url=url,
                )
    return report


def inappropriate_referral_review(
    *, report: InappropriateReferral, by: User, upheld: bool | None, notes: str
) -> InappropriateReferral:
    """A current delegate of the employer upholds a report or not, once. An upheld report is
    shown to the referrer (and they are told) and counts towards `feedback.threshold`."""
    notes = (notes or "").strip()
    with transaction.atomic():
        report = (
            InappropriateReferral.objects.select_for_update(of=("self",))
            .select_related("organisation", "referrer__user", "examination")
            .get(pk=report.pk)
        )
        if not training_selectors.is_current_delegate(by, report.organisation):
            raise PermissionDenied(
                f"Only a current entitlement delegate of {report.organisation.name}"
            )
        if report.referrer.user_id == by.pk:
            raise PermissionDenied("You cannot review a report about yourself")
        if report.status != ReportStatus.AWAITING_REVIEW:
            raise ValidationError("This report has already been reviewed")
        errors = {}
        if upheld is None:
            errors["upheld"] = "Select whether the report is upheld"
        if upheld and not notes:
            errors["notes"] = "Enter the feedback for the referrer"
        elif looks_like_nhs_number(notes):
            errors["notes"] = NO_IDENTIFIERS
        elif len(notes) > DETAILS_MAX:
            errors["notes"] = f"The feedback must be {DETAILS_MAX:,} characters or fewer"
        if errors:
            raise ValidationError(errors)
        report.status = ReportStatus.UPHELD if upheld else ReportStatus.NOT_UPHELD
        report.review_notes = notes
        report.reviewed_by = by
        report.reviewed_at = timezone.now()
        save_attributed(report, by=by, reason=f"report {report.status}")
        if upheld:
            notification_send(
                user=report.referrer.user,
                subject="Feedback on one of your imaging requests",
                body=f"{report.get_category_display()}: {report.examination}, requested on "
                f"{report.referred_on:%-d %B %Y}. {notes}",
                url=reverse("audits"),
            )
    return report


def inappropriate_referrals_count(*, reports, key: str, by: Rule) -> int:
    """Record that `feedback.threshold` counted these upheld reports (action `key`), so they
    do not count again towards the next threshold."""
    count = 0
    for report in InappropriateReferral.objects.select_for_update().filter(
        pk__in=[r.pk for r in reports], counted_in=""
    ):
        report.counted_in = key
        save_attributed(report, by=None, reason=f"{by.label}: counted"[:100])
        count += 1
    return count
