from django.apps import AppConfig


class AuditsConfig(AppConfig):
    """Audit cycles, request extracts, outcomes and inappropriate-referral reports."""

    name = "audits"
