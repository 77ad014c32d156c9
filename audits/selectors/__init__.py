"""Reads with rules for the audits app. Who may see what is decided here (and in
`referrers.selectors`), never in views: a referrer sees their own audits and upheld feedback;
an organisation's delegates, practitioners and governance leads see only that organisation's
(every page resolves its organisation through `OrganisationMixin` first)."""

from .dashboard import Dashboard, dashboard_of
from .exports import audit_outcome_rows, register_rows, training_status_rows
from .pages import (
    audit_action_at,
    audit_action_of_referrer,
    audit_actions_overdue_at,
    audit_cycle_at,
    audit_cycle_of_referrer,
    audit_cycles_of_referrer,
    audit_reviews_waiting_at,
    examinations_at,
    extract_rows,
    feedback_flags_at,
    referrer_to_report,
    referrers_to_report,
    report_at,
    reports_awaiting_review_at,
    reports_by,
    upheld_reports_of_referrer,
)

__all__ = [
    "audit_action_at",
    "audit_action_of_referrer",
    "Dashboard",
    "audit_actions_overdue_at",
    "audit_cycle_at",
    "audit_cycle_of_referrer",
    "audit_cycles_of_referrer",
    "audit_outcome_rows",
    "audit_reviews_waiting_at",
    "dashboard_of",
    "examinations_at",
    "extract_rows",
    "feedback_flags_at",
    "referrer_to_report",
    "referrers_to_report",
    "register_rows",
    "report_at",
    "reports_awaiting_review_at",
    "reports_by",
    "training_status_rows",
    "upheld_reports_of_referrer",
]
