"""What the management commands share."""

import datetime

from django.core.management.base import CommandError


def a_date(value: str) -> datetime.date:
    """A `--date YYYY-MM-DD` argument, refused with a message when it is not one."""
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Give the date as YYYY-MM-DD, not {value}") from None
