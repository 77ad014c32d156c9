"""The control run's pure decisions: which warning is due after missed nights, and the day a
lapse began (which the idempotency key and the grace period depend on)."""

import datetime
from types import SimpleNamespace

import pytest

from training.controls.decisions import lapsed_on, nearest_due_lead
from training.requirements import Requirement

D = datetime.date
EXPIRES = D(2025, 8, 1)


@pytest.mark.parametrize(
    "days_left, due",
    [
        (61, None),  # not yet
        (60, 60),
        (45, 60),  # caught up after missed nights: the 60-day warning, once
        (30, 30),
        (10, 30),  # missed the 30-day night: the 30-day warning, not also the 60-day one
        (7, 7),
        (0, 7),  # the last valid day
        (-1, None),  # expired: a lapse now, not a warning
    ],
)
def test_the_nearest_lead_time_reached_is_the_one_due(days_left, due):
    on = EXPIRES - datetime.timedelta(days=days_left)
    assert nearest_due_lead(EXPIRES, on, [60, 30, 7]) == due


def test_no_lead_times_no_warning():
    assert nearest_due_lead(EXPIRES, EXPIRES, []) is None


def requirement(expires_on):
    return Requirement(rule=SimpleNamespace(training_kind="contrast_safety"), expires_on=expires_on)


@pytest.mark.parametrize(
    "expires_on, granted_on, version_from, on, lapsed",
    [
        # The day after the record's last valid day.
        (D(2025, 5, 10), D(2025, 1, 6), D(2023, 1, 1), D(2025, 9, 1), D(2025, 5, 11)),
        # A version that shortened the validity: known from the day it started.
        (D(2024, 7, 20), D(2025, 1, 6), D(2025, 7, 1), D(2025, 9, 1), D(2025, 7, 1)),
        # Granted without a valid record: from the grant.
        (D(2024, 7, 20), D(2025, 1, 6), D(2023, 1, 1), D(2025, 9, 1), D(2025, 1, 6)),
        (None, D(2025, 1, 6), D(2023, 1, 1), D(2025, 9, 1), D(2025, 1, 6)),
        # Never after the day the run is for.
        (None, D(2025, 1, 6), D(2025, 2, 1), D(2025, 1, 20), D(2025, 1, 20)),
    ],
)
def test_a_lapse_begins_on_a_day_the_data_alone_decides(
    expires_on, granted_on, version_from, on, lapsed
):
    version = SimpleNamespace(effective_from=version_from)
    assert lapsed_on(requirement(expires_on), granted_on=granted_on, version=version, on=on) == (
        lapsed
    )
