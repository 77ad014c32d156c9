"""Reads with rules for the training app, one module per subject. Who may see what is
decided here (and in referrers.selectors), never in views."""

from .controls import (
    Snapshot,
    batched_ids,
    control_actions_at,
    delegates_of,
    entitlement_candidates,
    load_snapshots,
    ods_codes_to_control,
    organisations_to_control,
    training_candidates,
    warning_candidates,
)
from .queue import (
    TrainingProblem,
    lapse_at,
    lapses_at,
    registrations_lapsed_at,
    reviews_overdue_at,
    training_candidates_at,
    training_imports_at,
    training_problems_at,
    unverified_records_at,
)
from .records import (
    EntitlementTraining,
    VersionCache,
    certificate_for,
    current_appointments,
    delegate_organisation_for,
    employed_or_entitled_at,
    is_current_delegate,
    live_entitlements_of_referrer,
    organisations_of_referrer,
    record_at,
    record_of_referrer,
    records_of,
    records_of_referrers,
    referrer_at,
    referrers_at,
    requirement_statuses_by_record,
    scope_items_prefetch,
    training_status,
    training_status_of_referrer,
)
