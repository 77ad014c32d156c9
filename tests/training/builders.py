"""Shared pieces of the training-record tests: the day they run on, and records built
directly (the services are tested on their own; these set up what a test starts from)."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from training.models import TrainingRecord

LONDON = ZoneInfo("Europe/London")
TODAY = datetime.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def frozen_today():
    """Every test of a module that imports this runs on 2 March 2026, midday in London."""
    with time_machine.travel(datetime.datetime(2026, 3, 2, 12, 0, tzinfo=LONDON), tick=False):
        yield TODAY


def make_record(
    referrer,
    kind: str,
    completed_on: datetime.date,
    *,
    verified_by=None,
    rejected_by=None,
    certificate_expires_on=None,
    hours=None,
    provider="e-Learning for Healthcare",
    title="",
    recorded_by=None,
) -> TrainingRecord:
    """A record of `referrer` (a ReferrerProfile or its user), verified by `verified_by`."""
    profile = getattr(referrer, "referrer_profile", referrer)
    now = timezone.now()
    return TrainingRecord.objects.create(
        referrer=profile,
        kind=kind,
        provider=provider,
        title=title,
        completed_on=completed_on,
        certificate_expires_on=certificate_expires_on,
        hours=hours,
        recorded_by=recorded_by or profile.user,
        verified_by=verified_by,
        verified_at=now if verified_by else None,
        rejected_by=rejected_by,
        rejected_at=now if rejected_by else None,
        rejection_reason="Not the right course" if rejected_by else "",
    )
