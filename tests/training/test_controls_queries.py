"""The run reads in batches, never a query per entitlement: a night with nothing left to do
costs a fixed handful of queries per batch however many entitlements are candidates, and
the batches walk every candidate."""

import datetime

import pytest

from training.controls import run_controls
from training.models import ControlAction

from .conftest import CONTRAST, add_person

DAY = datetime.date(2025, 5, 1)
EXTRA = 25


@pytest.fixture
def crowd(world, clock):
    """Twenty-five more referrers whose contrast training expires on 15 June 2025: on 1 May
    each is due the 60-day warning."""
    xr, ct = world.catalogue["xr_chest"], world.catalogue["ct_head"]
    for n in range(EXTRA):
        add_person(
            world, f"Extra{n}", "Due", [xr, ct], completed={CONTRAST: datetime.date(2023, 6, 15)}
        )
    clock.daytime(DAY)
    return world


def test_a_rerun_reads_the_same_few_queries_whatever_the_number_of_candidates(
    crowd, clock, django_assert_max_num_queries
):
    first = clock.run(DAY)
    assert [a.rule for a in first.actions].count("training.warning") == EXTRA + 1  # and Ada's
    # 31 candidate entitlements: the organisations and their versions (5 queries), then per
    # organisation the entitlement walk (1) and the training walk (1 batch: 11), then per
    # organisation the audit schedule (1), the overdue audits (1) and the feedback threshold
    # (1). No query per entitlement, nor per warning already sent.
    with django_assert_max_num_queries(24):
        assert clock.run(DAY).count == 0


def test_small_batches_walk_every_candidate_once(crowd, clock):
    clock.traveller.move_to(datetime.datetime(2025, 5, 1, 2))
    result = run_controls(on=DAY, batch_size=4)
    assert result.count == EXTRA + 1
    assert ControlAction.objects.filter(rule="training.warning").count() == EXTRA + 1
    assert run_controls(on=DAY, batch_size=4).count == 0
