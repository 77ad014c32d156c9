"""Every write of the audits app, one module per subject; callers write `services.<name>`."""

from .cycles import (
    audit_action_add,
    audit_action_complete,
    audit_cycle_review,
    audit_cycle_schedule,
    audit_cycle_submit,
    audit_cycles_schedule,
    next_due_on,
)
from .extracts import ExtractResult, audit_extract_upload
from .reports import (
    inappropriate_referral_record,
    inappropriate_referral_review,
    inappropriate_referrals_count,
)

__all__ = [
    "ExtractResult",
    "audit_action_add",
    "audit_action_complete",
    "audit_cycle_review",
    "audit_cycle_schedule",
    "audit_cycle_submit",
    "audit_cycles_schedule",
    "audit_extract_upload",
    "inappropriate_referral_record",
    "inappropriate_referral_review",
    "inappropriate_referrals_count",
    "next_due_on",
]
