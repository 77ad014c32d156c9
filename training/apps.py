from django.apps import AppConfig


class TrainingConfig(AppConfig):
    """Training requirements, records and verification, and the automatic control jobs."""

    name = "training"
