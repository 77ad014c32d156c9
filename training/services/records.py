"""Training records: add (with a certificate), verify and reject (principle 4).

Who may do what is decided by `training.selectors` (a referrer adds their own; an entitlement
delegate of an organisation that employs or entitles the referrer adds, verifies and rejects
theirs; nobody verifies their own). Each service checks it again inside its transaction,
refuses with a message that changes nothing, and writes history naming who did it.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from entitlements.uploads import check_upload
from referrers.attribution import save_attributed
from referrers.models import ReferrerProfile, User
from referrers.services import notification_send

from .. import selectors
from ..csv_import import EARLIEST_COMPLETION, PROVIDER_MAX, TITLE_MAX
from ..models import RecordKind, TrainingRecord

REASON_MAX = 2000
HOURS_MAX = Decimal("999.9")


@dataclass(frozen=True)
class RecordData:
    """What a training record says, however it arrived (a form or a CSV row)."""

    kind: str
    provider: str
    title: str
    completed_on: datetime.date | None
    certificate_expires_on: datetime.date | None
    hours: Decimal | None


def parse_hours(value) -> tuple[Decimal | None, str]:
    """Hours as a Decimal with at most one decimal place, or why not."""
    if value in (None, ""):
        return None, ""
    try:
        hours = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        return None, "Enter hours as a number, like 7.5"
    if not hours.is_finite():
        return None, "Enter hours as a number, like 7.5"
    if hours <= 0 or hours > HOURS_MAX:
        return None, f"Hours must be more than 0 and no more than {HOURS_MAX}"
    if hours != hours.quantize(Decimal("0.1")):
        return None, "Enter hours to one decimal place at most, like 7.5"
    return hours.quantize(Decimal("0.1")), ""


def record_problems(data: RecordData, *, today: datetime.date) -> dict[str, str]:
    """What is wrong with a record's details, by field (empty when it can be saved)."""
    problems: dict[str, str] = {}
    if data.kind not in RecordKind.values:
        problems["kind"] = "Select what the training was"
    if not data.provider.strip():
        problems["provider"] = "Enter who provided the training"
    elif len(data.provider) > PROVIDER_MAX:
        problems["provider"] = f"The provider must be {PROVIDER_MAX} characters or fewer"
    if len(data.title) > TITLE_MAX:
        problems["title"] = f"The course name must be {TITLE_MAX} characters or fewer"
    if data.completed_on is None:
        problems["completed_on"] = "Enter the date the training was completed"
    elif data.completed_on > today:
        problems["completed_on"] = "The completion date must be today or in the past"
    elif data.completed_on < EARLIEST_COMPLETION:
        problems["completed_on"] = "Enter a real completion date, after 1950"
    if (
        data.certificate_expires_on is not None
        and data.completed_on is not None
        and data.certificate_expires_on <= data.completed_on
    ):
        problems["certificate_expires_on"] = (
            "The expiry date on the certificate must be after the date the training was completed"
        )
    if data.kind == RecordKind.CPD and data.hours is None:
        problems["hours"] = "Enter the number of CPD hours"
    elif data.hours is not None and not Decimal(0) < data.hours <= HOURS_MAX:
        problems["hours"] = f"Hours must be more than 0 and no more than {HOURS_MAX}"
    return problems


def _authority(record_referrer: ReferrerProfile, by: User, verb: str):
    """The organisation under whose delegate appointment `by` acts on the referrer's
    records; PermissionDenied (or, for their own record, a ValidationError) otherwise."""
    if record_referrer.user_id == by.pk:
        raise ValidationError(f"You cannot {verb} your own training record")
    organisation = selectors.delegate_organisation_for(by, record_referrer)
    if organisation is None:
        raise PermissionDenied(
            f"Only an entitlement delegate of an organisation that employs or entitles "
            f"{record_referrer.user.full_name} can {verb} their training records"
        )
    return organisation


def _notify(record: TrainingRecord, subject: str, body: str) -> None:
    notification_send(
        user=record.referrer.user, subject=subject, body=body, url=reverse("training")
    )


@transaction.atomic
def training_record_add(
    *,
    referrer: ReferrerProfile,
    by: User,
    kind: str,
    provider: str,
    title: str = "",
    completed_on: datetime.date | None,
    certificate_expires_on: datetime.date | None = None,
    hours: Decimal | None = None,
    certificate=None,
    verify: bool = False,
) -> TrainingRecord:
    """Record one course or certificate of `referrer`.

    The referrer adds their own (never verified by adding it). An entitlement delegate of an
    organisation that employs or entitles the referrer may add one for them, verified at
    once if `verify` (they have seen the evidence). A certificate is checked from its bytes
    as evidence is, stored under a random name, and not stored at all if anything is refused.
    Raises ValidationError by field, or PermissionDenied, and then saves nothing."""
    today = timezone.localdate()
    own = referrer.user_id == by.pk
    if own and verify:
        raise ValidationError({"verify": "You cannot verify your own training record"})
    if not own and selectors.delegate_organisation_for(by, referrer, today) is None:
        raise PermissionDenied(
            "Only the referrer, or an entitlement delegate of an organisation that employs or "
            "entitles them, can add a training record for them"
        )
    hours, hours_problem = parse_hours(hours)
    data = RecordData(
        kind=kind,
        provider=(provider or "").strip(),
        title=(title or "").strip(),
        completed_on=completed_on,
        certificate_expires_on=certificate_expires_on,
        hours=hours,
    )
    problems = record_problems(data, today=today)
    if hours_problem:
        problems["hours"] = hours_problem
    checked = None
    if certificate:
        checked, problem = check_upload(certificate)
        if checked is None:
            problems["certificate"] = problem
    if problems:
        raise ValidationError(problems)

    now = timezone.now()
    record = TrainingRecord(
        referrer=referrer,
        kind=data.kind,
        provider=data.provider,
        title=data.title,
        completed_on=data.completed_on,
        certificate_expires_on=data.certificate_expires_on,
        hours=data.hours,
        recorded_by=by,
        recorded_at=now,
    )
    if verify:
        record.verified_by, record.verified_at = by, now
    if checked is not None:
        record.certificate_name = checked.name
        record.certificate_content_type = checked.content_type
        record.certificate_size = checked.size
        record.certificate_sha256 = checked.sha256
        record.certificate.save(checked.name, certificate, save=False)
    try:
        save_attributed(
            record,
            by=by,
            reason="Training record added and verified" if verify else "Training record added",
        )
        if not own:
            _notify(
                record,
                "A training record has been added for you",
                f"{by.full_name} added your {record.get_kind_display()} training, completed "
                f"on {record.completed_on:%-d %B %Y}" + (", and verified it." if verify else "."),
            )
    except BaseException:
        # If a database write fails, the stored certificate must not outlive it.
        if record.certificate:
            record.certificate.delete(save=False)
        raise
    return record


def _lock(record: TrainingRecord) -> TrainingRecord:
    return (
        TrainingRecord.objects.select_for_update(of=("self",))
        .select_related("referrer__user", "verified_by", "rejected_by")
        .get(pk=record.pk)
    )


def _decided(record: TrainingRecord) -> str:
    """Why a record that has been verified or rejected cannot be decided again."""
    if record.verified_at is not None:
        return (
            f"This record was already verified by {record.verified_by.full_name} on "
            f"{timezone.localdate(record.verified_at):%-d %B %Y}"
        )
    if record.rejected_at is not None:
        return (
            f"This record was already rejected by {record.rejected_by.full_name} on "
            f"{timezone.localdate(record.rejected_at):%-d %B %Y}"
        )
    return ""


@transaction.atomic
def training_record_verify(*, record: TrainingRecord, by: User) -> TrainingRecord:
    """A delegate confirms a record is genuine, so it counts towards requirements.

    Locks the record; refuses (changing nothing) the referrer's own record, anyone who is not
    a current delegate of an organisation employing or entitling the referrer, and a record
    already verified or rejected (so a second click says what happened first)."""
    record = _lock(record)
    _authority(record.referrer, by, "verify")
    already = _decided(record)
    if already:
        raise ValidationError(already)
    record.verified_by, record.verified_at = by, timezone.now()
    save_attributed(record, by=by, reason="Training record verified")
    _notify(
        record,
        "Your training record has been verified",
        f"{by.full_name} verified your {record.get_kind_display()} training, completed on "
        f"{record.completed_on:%-d %B %Y}. It now counts towards your entitlement.",
    )
    return record


@transaction.atomic
def training_record_reject(*, record: TrainingRecord, by: User, reason: str) -> TrainingRecord:
    """A delegate refuses a record (it never counts), saying why; the referrer is told.

    The same refusals as `training_record_verify`, and a reason is required."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Enter why the record is rejected"})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": f"The reason must be {REASON_MAX:,} characters or fewer"})
    record = _lock(record)
    _authority(record.referrer, by, "reject")
    already = _decided(record)
    if already:
        raise ValidationError(already)
    record.rejected_by, record.rejected_at = by, timezone.now()
    record.rejection_reason = reason
    save_attributed(record, by=by, reason="Training record rejected")
    _notify(
        record,
        "Your training record was not accepted",
        f"{by.full_name} did not accept your {record.get_kind_display()} training, completed "
        f"on {record.completed_on:%-d %B %Y}: {reason}\n\nYou can add the record again with "
        "its certificate.",
    )
    return record
