"""A real Celery worker, on the configured broker (Redis when REDIS_URL is set, as in CI;
else the filesystem broker), runs the nightly task end to end: `controls_run_all` fans out
one task per organisation, each runs the rules, and the e-mails of the notifications follow
once each action commits. Also: the tasks' reliability options and the beat entry."""

import datetime
import time

import pytest
from celery.contrib.testing.worker import start_worker
from celery.schedules import crontab
from django.conf import settings
from django.core import mail
from django.db import OperationalError

from config.celery import app
from entitlements.models import Entitlement, EntitlementEvent
from training.models import ControlAction
from training.tasks import controls_run_all, controls_run_organisation

from .conftest import build_world

DAY = datetime.date(2025, 10, 1)


def wait_for(condition, *, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return True
        except OperationalError:  # SQLite's shared in-memory database: the worker is writing
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    """Letters rendered by the worker go to a folder of their own."""
    default = {**settings.STORAGES["default"], "OPTIONS": {"location": str(tmp_path)}}
    settings.STORAGES = {**settings.STORAGES, "default": default}


@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_the_nightly_task_at_every_organisation():
    world = build_world()
    dev = world.entitlements["Dev@second"]
    app.control.purge()  # nothing left from an earlier run

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        controls_run_all.delay(date=DAY.isoformat())

        def done() -> bool:
            return ControlAction.objects.count() == 8 and any(
                m.subject == "Your entitlement has been suspended" for m in mail.outbox
            )

        assert wait_for(done), "the worker did not run the controls within a minute"

    assert Entitlement.objects.get(pk=dev.pk).state == "suspended"
    event = EntitlementEvent.objects.get(entitlement=dev, action="suspended")
    assert (event.rule, event.procedure_version) == ("registration.lapse", world.second_version)
    assert set(ControlAction.objects.values_list("organisation__ods_code", flat=True)) == {
        "RDZ",
        "RX9",
    }
    assert any(
        m.to == [world.user("Dev").email] and m.subject == "Your entitlement has been suspended"
        for m in mail.outbox
    )


def test_the_tasks_are_acknowledged_late_and_requeued_if_a_worker_dies():
    for task in (controls_run_all, controls_run_organisation):
        assert task.acks_late is True
        assert task.reject_on_worker_lost is True


def test_beat_runs_the_controls_every_night_at_two_london_time():
    entry = settings.CELERY_BEAT_SCHEDULE["training-controls-run-all"]
    assert entry["task"] == "training.controls_run_all"
    assert entry["schedule"] == crontab(hour=2, minute=0)
    assert app.conf.timezone == "Europe/London"
