"""Who did it: every mutating service names its actor in the history it writes."""

from django.db import models


def save_attributed(instance: models.Model, *, by, reason: str = "", **save_kwargs) -> None:
    """Save `instance` with its history row naming `by` (a user) and `reason`.

    django-simple-history takes the user from the request in web code; services are also
    called from tasks and commands, so they always pass the actor explicitly.
    """
    instance._history_user = by
    if reason:
        instance._change_reason = reason
    instance.save(**save_kwargs)
