"""Two processes running the same date at the same moment take each action once.

Two `manage.py run_controls` processes against the test database are released together
(each first sets Django up, says it is ready, and waits for the word go), over the seeded
trusts and twenty more referrers whose contrast training lapsed, so both are at work on the
same entitlements at once. What they did together must be exactly what one run does: the
same actions (taken from the same run rolled back, beforehand), each once, every effect
once. SQLite has no row locks and one writer, so this needs PostgreSQL.
"""

import datetime
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction

from entitlements.models import EntitlementEvent, Letter
from referrers.models import Notification
from training.controls import run_controls
from training.models import ControlAction, TrainingLapse

from .conftest import CONTRAST, add_person, build_world

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (row locks, concurrent writers): set DATABASE_URL",
    ),
    pytest.mark.django_db(transaction=True),
]

DAY = datetime.date(2025, 10, 1)
EXTRA = 20
WORKER = textwrap.dedent(
    """
    import io, pathlib, sys, time
    import django
    django.setup()
    from django.core.management import call_command
    folder = pathlib.Path(sys.argv[1])
    (folder / f"ready-{sys.argv[2]}").touch()
    deadline = time.monotonic() + 60
    while not (folder / "go").exists():
        if time.monotonic() > deadline:
            sys.exit("never told to go")
        time.sleep(0.01)
    out = io.StringIO()
    call_command("run_controls", "--date", sys.argv[3], stdout=out)
    print(out.getvalue(), end="")
    """
)


def database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def effects() -> dict:
    """Every row the run writes, counted, with the ledger's keys (a lapse's id, which differs
    from one run to the next, replaced by its entitlement and training kind)."""
    lapses = {
        f"l{pk}": f"{entitlement}/{kind}"
        for pk, entitlement, kind in TrainingLapse.objects.values_list(
            "pk", "entitlement_id", "training_kind"
        )
    }
    keys = ControlAction.objects.values_list("idempotency_key", flat=True)
    return {
        "actions": sorted(re.sub(r"l\d+", lambda m: lapses[m.group()], key) for key in keys),
        "events": EntitlementEvent.objects.count(),
        "letters": Letter.objects.count(),
        "notifications": Notification.objects.count(),
        "lapses": sorted(
            TrainingLapse.objects.values_list("entitlement_id", "training_kind", "state")
        ),
    }


def test_two_processes_on_the_same_date_take_each_action_once(tmp_path: Path):
    world = build_world()
    xr, ct = world.catalogue["xr_chest"], world.catalogue["ct_head"]
    for n in range(EXTRA):
        add_person(
            world, f"Extra{n}", "Lapsed", [xr, ct], completed={CONTRAST: datetime.date(2023, 8, 1)}
        )
    before = effects()
    # What one run does, taken and rolled back.
    with transaction.atomic():
        one_run = run_controls(on=DAY)
        expected = effects()
        transaction.set_rollback(True)
    assert effects() == before
    assert one_run.count == 8 + EXTRA * 2  # the seeded eight, and each extra lapse and revocation

    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(tmp_path), str(n), DAY.isoformat()],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{n}").exists() for n in range(2)):
        assert time.monotonic() < deadline, "the processes did not start"
        assert all(p.poll() is None for p in processes), [p.communicate() for p in processes]
        time.sleep(0.05)
    (tmp_path / "go").touch()
    outputs = [p.communicate(timeout=120) for p in processes]

    assert [p.returncode for p in processes] == [0, 0], outputs
    counts = [int(out.strip().splitlines()[-1].removeprefix("actions: ")) for out, _ in outputs]
    assert all(counts), f"one process did everything before the other began: {counts}"
    assert sum(counts) == one_run.count
    assert effects() == expected
    lines = [line for out, _ in outputs for line in out.splitlines()[:-1]]
    assert sorted(lines) == sorted(str(line) for line in one_run.actions)
