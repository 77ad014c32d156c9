"""Reads with rules for the entitlements app, one module per subject. Who may see what is
decided here (and in referrers.selectors), never in views."""

from .applications import (
    Authority,
    EntitlingChoice,
    application_at,
    application_evidence,
    application_for_supervisor,
    application_of_referrer,
    application_queue,
    application_scope_items,
    applications_awaiting_endorsement_at,
    applications_of_referrer,
    applications_to_endorse,
    decision_authority,
    entitling_choice,
    entitling_choices,
    evidence_for,
    requested_modalities,
)
from .catalogue import (
    examination_code_taken,
    examination_counts_by_modality,
    examination_groups_of,
    examination_of,
    examinations_of,
    latest_procedure_version,
    latest_published_procedure_version,
    procedure_of,
    procedure_version_in_force,
    procedure_version_of,
    procedure_versions_of,
)
from .entitlements import (
    TimelineEntry,
    change_notices_open_at,
    entitlement_at,
    entitlement_of_referrer,
    entitlements_at,
    entitlements_of_referrer,
    letter_by_code,
    letter_for,
    letters_of,
    live_entitlements_of_employment,
    may_read_letters,
    scope_items_of,
    timeline_of,
)
