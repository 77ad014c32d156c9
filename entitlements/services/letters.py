"""Letters (principle 3): issued with every grant and change, rendered once, never redone.

`letter_issue` runs inside the transaction of the change it records: it captures what the
letter will state (`Letter.content`) there and then, and starts rendering only once that
transaction commits. Rendering (`letter_render`) turns the captured content into a PDF,
stores it with its SHA-256 and never overwrites a rendered letter.
"""

from django.db import transaction
from django.utils import timezone

from ..modalities import Modality
from ..models import (
    Entitlement,
    EntitlementEvent,
    Letter,
    RequirementTrigger,
    ScopeItem,
)


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
            "organisation",
            "granted_by",
            "delegate_appointment",
            "procedure_version__procedure__organisation",
            "clinical_supervisor",
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
        "reference": entitlement.reference,
        "kind": entitlement.get_kind_display(),
        "state": entitlement.get_state_display(),
        "event": {
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
    from ..tasks import letter_render  # the task module imports services

    transaction.on_commit(lambda: letter_render.delay(letter_id=letter.pk))
    return letter
