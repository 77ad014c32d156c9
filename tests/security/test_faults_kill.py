"""A worker process killed (SIGKILL, not an exception) in the middle of an action of the
nightly control run: the database drops that action whole, and a rerun finishes the night
with no action lost or doubled.

tests/training/test_controls_once.py raises an exception at the same point, inside the
process; this kills the process itself while the action's transaction is open, so nothing in
Python gets to roll back: only the database's own guarantee protects the data.
"""

import datetime
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.db import connection

from entitlements.models import EntitlementEvent, ScopeItem
from training.controls import run_controls
from training.models import ControlAction, TrainingLapse

from ..training.conftest import at, build_world
from ..training.test_controls_once import DUE, ledger

DAY = datetime.date(2025, 10, 1)

# Run in a child process: the control run for DAY, killed by SIGKILL inside the second
# `lapse_open`, i.e. after that action has suspended Ben's scope items, written the event,
# the letter and the notifications in its open transaction, and before it commits.
CHILD = """
import datetime, os, signal, sys
import django
django.setup()
import time_machine
from entitlements.models import EntitlementEvent
from training.controls import run_controls
from training.services import lapses
from tests.training.conftest import at

real_open = lapses.lapse_open
opened = []

def killed_on_the_second(**kwargs):
    if len(opened) == 1:
        entitlement = kwargs["entitlement"]
        written = EntitlementEvent.objects.filter(entitlement=entitlement).exclude(
            action="granted").count()
        with open(sys.argv[1], "w") as marker:
            marker.write(f"{entitlement.pk} {written}")
        os.kill(os.getpid(), signal.SIGKILL)
    opened.append(kwargs["entitlement"].pk)
    return real_open(**kwargs)

lapses.lapse_open = killed_on_the_second
day = datetime.date(2025, 10, 1)
with time_machine.travel(at(day, 2), tick=False):
    run_controls(on=day)
"""


@pytest.mark.django_db(transaction=True)
def test_a_worker_process_killed_mid_action_leaves_nothing_half_done(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: a second process must reach the test database, and SQLite's "
            "test database lives in this process's memory"
        )
    world = build_world()
    ben = world.entitlements["Ben"]
    marker = tmp_path / "killed"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "PYTHONPATH": str(settings.BASE_DIR),
    }
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(marker)],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        timeout=120,
    )

    # It really died by the signal, mid-action: Ben's suspension was written (in the open
    # transaction) when it did.
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    killed_pk, written = Path(marker).read_text().split()
    assert int(killed_pk) == ben.pk and int(written) >= 1

    # The actions before it committed whole; Ben's left no trace at all.
    assert ledger(world) == DUE[:3]
    assert not EntitlementEvent.objects.filter(entitlement=ben).exclude(action="granted").exists()
    assert not TrainingLapse.objects.filter(entitlement=ben).exists()
    assert set(ScopeItem.objects.filter(entitlement=ben).values_list("state", flat=True)) == {
        "active"
    }

    # The next run finishes the night: every action once.
    with time_machine.travel(at(DAY, 2), tick=False):
        rerun = run_controls(on=DAY)
    assert [(a.organisation, a.rule, a.action) for a in rerun.actions] == [d[:3] for d in DUE[3:]]
    assert ledger(world) == DUE
    for action in ControlAction.objects.all():
        assert EntitlementEvent.objects.filter(idempotency_key=action.idempotency_key).count() == 1
    assert TrainingLapse.objects.count() == 3
