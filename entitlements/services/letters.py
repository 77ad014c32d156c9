"""Letters (principle 3): issued with every grant and change, rendered once, never redone.

`letter_issue` runs inside the transaction of the change it records: it captures what the
letter will state (`Letter.content`) there and then, and starts rendering only once that
transaction commits. Rendering (`letter_render`) turns the captured content into a PDF,
stores it with its SHA-256 and never overwrites a rendered letter.
"""

import datetime
import hashlib
import logging

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from referrers import outbox
from referrers.services import notification_send

from .. import pdf
from ..modalities import Modality
from ..models import (
    Entitlement,
    EntitlementEvent,
    EventAction,
    Letter,
    LetterStatus,
    RequirementTrigger,
    ScopeItem,
)

logger = logging.getLogger(__name__)

TITLES = {
    EventAction.GRANTED: "Entitlement granted",
    EventAction.SUSPENDED: "Entitlement suspended",
    EventAction.REINSTATED: "Entitlement reinstated",
    EventAction.REVOKED: "Entitlement revoked",
    EventAction.EXPIRED: "Entitlement ended",
    EventAction.ITEM_SUSPENDED: "Part of the entitlement suspended",
    EventAction.ITEM_REINSTATED: "Part of the entitlement reinstated",
}


def letter_title(action: str, *, varied: bool = False) -> str:
    """What the letter records, as its heading: "Entitlement granted", "... suspended"."""
    if action == EventAction.GRANTED and varied:
        return "Entitlement varied"
    return TITLES.get(action, f"Entitlement: {EventAction(action).label.lower()}")


def _training_in_force(entitlement: Entitlement, items: list[ScopeItem]) -> list[dict]:
    examinations = []
    for item in items:
        if item.examination_id:
            examinations.append(item.examination)
        else:
            examinations.extend(item.group.examinations.all())
    triggered = {RequirementTrigger.ALL}
    if any(e.ionising for e in examinations):
        triggered.add(RequirementTrigger.IONISING)
    if any(e.contrast for e in examinations):
        triggered.add(RequirementTrigger.CONTRAST)
    if any(e.mri for e in examinations):
        triggered.add(RequirementTrigger.MRI)
    return [
        {
            "training": rule.get_training_kind_display(),
            "required_for": rule.get_required_for_display(),
            "validity_months": rule.validity_months,
        }
        for rule in entitlement.procedure_version.training_rules.all()
        if rule.required_for in triggered
    ]


def _scope_row(item: ScopeItem) -> dict:
    if item.examination_id:
        examination = item.examination
        subject = {
            "name": examination.name,
            "code": examination.code,
            "modality": Modality(examination.modality).label,
        }
    else:
        subject = {
            "name": f"{item.group.name} (group)",
            "code": "",
            "modality": ", ".join(
                sorted({Modality(e.modality).label for e in item.group.examinations.all()})
            ),
        }
    return {
        **subject,
        "age_range": item.age_range_label,
        "settings": item.settings_label,
        "clinical_indications": item.clinical_indications,
        "exclusions": item.exclusions,
        "state": item.get_state_display(),
        "suspended_reason": item.suspended_reason,
    }


def letter_content(entitlement: Entitlement, event: EntitlementEvent) -> dict:
    """Everything the letter states, as plain data, read now (inside the change's
    transaction) so the letter says what was true when the change was made."""
    entitlement = (
        Entitlement.objects.select_related(
            "referrer__user",
            "employment__department",
            "employment__organisation",
            "organisation",
            "granted_by",
            "delegate_appointment",
            "procedure_version__procedure__organisation",
            "clinical_supervisor",
            "supersedes",
        )
        .prefetch_related("procedure_version__training_rules")
        .get(pk=entitlement.pk)
    )
    items = list(
        entitlement.scope_items.select_related("examination", "group")
        .prefetch_related("group__examinations")
        .order_by("id")
    )
    referrer = entitlement.referrer
    employment = entitlement.employment
    appointment = entitlement.delegate_appointment
    version = entitlement.procedure_version
    return {
        "title": letter_title(event.action, varied=bool(entitlement.supersedes_id)),
        "reference": entitlement.reference,
        "supersedes": entitlement.supersedes.reference if entitlement.supersedes_id else "",
        "kind": entitlement.get_kind_display(),
        "state": entitlement.get_state_display(),
        "event": {
            "code": event.action,
            "action": event.get_action_display(),
            "reason": event.reason,
            "by": event.by_label,
            "occurred_at": timezone.localtime(event.occurred_at).isoformat(),
        },
        "employer": {
            "name": entitlement.organisation.name,
            "ods_code": entitlement.organisation.ods_code,
        },
        "referrer": {
            "name": referrer.user.full_name,
            "profession": referrer.get_profession_display(),
            "registration": referrer.registration,
        },
        "employment": {
            "employer": employment.organisation.name,
            "job_title": employment.job_title,
            "level": employment.get_level_display(),
            "department": employment.department.name if employment.department else "",
        },
        "scope": [_scope_row(item) for item in items],
        "supervision": {
            "clinical_supervisor": (
                entitlement.clinical_supervisor.full_name if entitlement.clinical_supervisor else ""
            ),
            "decision_line": entitlement.decision_line,
            "accountability_line": entitlement.accountability_line,
        },
        "training": _training_in_force(entitlement, items),
        "review_due_on": entitlement.review_due_on.isoformat(),
        "granted_at": timezone.localtime(entitlement.granted_at).date().isoformat(),
        "delegate": {
            "name": entitlement.granted_by.full_name,
            "appointment": appointment.document_reference,
            "appointment_from": appointment.valid_from.isoformat(),
            "appointment_to": appointment.valid_to.isoformat() if appointment.valid_to else "",
            "modalities": appointment.modality_labels(),
        },
        "procedure": {
            "label": version.label,
            "document_reference": version.document_reference,
            "effective_from": version.effective_from.isoformat(),
        },
        "issued_on": timezone.localdate().isoformat(),
    }


def letter_issue(*, event: EntitlementEvent) -> Letter:
    """Issue the letter recording `event`; rendering starts once the transaction commits."""
    letter = Letter.objects.create(
        entitlement=event.entitlement,
        event=event,
        content=letter_content(event.entitlement, event),
    )
    # Through the outbox, in this transaction: rendered once it commits, or once the broker is
    # back if it is down then (a broker error never turns a committed change into an error
    # page). The `entitlements.letters_render_pending` sweep remains a second net.
    outbox.outbox_enqueue(task="entitlements.letter_render", kwargs={"letter_id": letter.pk})
    return letter


# --- Rendering -----------------------------------------------------------------------------


class LetterRenderFailed(Exception):
    """Rendering a letter failed; the attempt and its error are recorded on the letter."""


def _date(value: str) -> str:
    if not value:
        return ""
    day = datetime.date.fromisoformat(value[:10])
    return f"{day.day} {day:%B %Y}"


def _time(value: str) -> str:
    moment = datetime.datetime.fromisoformat(value)
    return f"{moment.day} {moment:%B %Y at %H:%M}"


def letter_context(content: dict, verification_code: str) -> dict:
    """What the letter template shows: `content` as captured at issue time, with dates
    written out. Nothing here reads the database, so a late render states what was true
    when the change was made."""
    event = content["event"]
    delegate = content["delegate"]
    return {
        "c": content,
        "title": content.get("title") or f"Entitlement {event['action'].lower()}",
        "event_at": _time(event["occurred_at"]),
        "issued_on": _date(content["issued_on"]),
        "granted_at": _date(content["granted_at"]),
        "review_due_on": _date(content["review_due_on"]),
        "procedure_from": _date(content["procedure"]["effective_from"]),
        "appointment_from": _date(delegate["appointment_from"]),
        "appointment_to": _date(delegate["appointment_to"]),
        "verification_code": verification_code,
        "verify_url": settings.SITE_URL.rstrip("/") + reverse("letter_verify"),
        "site_name": settings.SITE_NAME,
    }


def letter_html(letter: Letter) -> str:
    return render_to_string(
        "letters/letter.html.jinja", letter_context(letter.content, letter.verification_code)
    )


def letter_pdf(letter: Letter, *, fetcher: pdf.StaticOnlyFetcher | None = None) -> bytes:
    """The PDF of `letter`, from its captured content only."""
    return pdf.html_to_pdf(letter_html(letter), fetcher=fetcher)


def letter_filename(letter: Letter) -> str:
    """The name a downloaded letter gets: entitlement-ENT-000012-letter-3.pdf, where 3 is
    its place among the entitlement's letters."""
    number = Letter.objects.filter(entitlement_id=letter.entitlement_id, pk__lte=letter.pk).count()
    return f"entitlement-{letter.content['reference']}-letter-{number}.pdf"


def letter_render(*, letter_id: int, last_attempt: bool = True) -> Letter:
    """Render a letter to PDF and store it with its SHA-256, once.

    The row is locked while rendering, so two workers never both render it; a letter that
    is ready is left exactly as it is (never regenerated, its file never overwritten: every
    rendering gets a new file name). A failure counts the attempt and keeps the error; after
    the `last_attempt` the letter is marked failed. Raises LetterRenderFailed on failure so
    the task can retry.
    """
    failure = None
    with transaction.atomic():
        letter = Letter.objects.select_for_update().get(pk=letter_id)
        if letter.status == LetterStatus.READY:
            return letter
        letter.attempts += 1
        try:
            document = letter_pdf(letter)
        except Exception as error:  # any renderer error is recorded, then raised
            logger.exception("Letter %s could not be rendered", letter.pk)
            failure = error
            letter.error = f"{type(error).__name__}: {error}"[:2000]
            if last_attempt:
                letter.status = LetterStatus.FAILED
            letter.save(update_fields=["attempts", "error", "status"])
        else:
            letter.file.save(f"{letter.verification_code}.pdf", ContentFile(document), save=False)
            letter.sha256 = hashlib.sha256(document).hexdigest()
            letter.size = len(document)
            letter.rendered_at = timezone.now()
            letter.status = LetterStatus.READY
            letter.error = ""
            letter.save(
                update_fields=[
                    "file",
                    "sha256",
                    "size",
                    "rendered_at",
                    "status",
                    "attempts",
                    "error",
                ]
            )
            _tell_letter_ready(letter)
    if failure is not None:
        raise LetterRenderFailed(f"Letter {letter_id}: {letter.error}") from failure
    return letter


def _tell_letter_ready(letter: Letter) -> None:
    entitlement = Entitlement.objects.select_related("referrer__user").get(pk=letter.entitlement_id)
    notification_send(
        user=entitlement.referrer.user,
        subject="Your letter is ready",
        body=f"{letter.content.get('title', 'Your letter')}: the letter for "
        f"{letter.content['reference']} is ready to download.",
        url=reverse("entitlement", args=[entitlement.pk]),
    )


def letters_pending(*, older_than: datetime.timedelta) -> list[int]:
    """Ids of letters still waiting to be rendered after `older_than` (their task was lost,
    e.g. the broker was down when the change committed)."""
    return list(
        Letter.objects.filter(
            status=LetterStatus.PENDING, created_at__lt=timezone.now() - older_than
        )
        .order_by("created_at", "id")
        .values_list("pk", flat=True)
    )
