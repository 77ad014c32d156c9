"""A real Celery worker renders a letter from the configured broker (Redis when REDIS_URL is
set, as in CI; else the filesystem broker), started only when the grant commits."""

import hashlib
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.files.storage import default_storage
from django.db import transaction

from config.celery import app
from entitlements.models import Letter, LetterStatus
from referrers.models import Notification
from tests.journeys import grant


def wait_for(condition, *, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    """Letters of these tests go to a folder of their own."""
    default = {**settings.STORAGES["default"], "OPTIONS": {"location": str(tmp_path)}}
    settings.STORAGES = {**settings.STORAGES, "default": default}


@pytest.mark.django_db(transaction=True)
def test_a_worker_renders_the_letter_once_the_grant_commits(endorsed_application, delegate):
    app.control.purge()  # nothing left from an earlier run

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        with transaction.atomic():
            entitlement = grant(endorsed_application, delegate)
            letter = entitlement.letters.get()

        def ready():
            return Letter.objects.filter(pk=letter.pk, status=LetterStatus.READY).exists()

        assert wait_for(ready), "the worker did not render the letter within 30 seconds"

    letter.refresh_from_db()
    with default_storage.open(letter.file.name, "rb") as file:
        data = file.read()
    assert data.startswith(b"%PDF-")
    assert hashlib.sha256(data).hexdigest() == letter.sha256
    assert letter.size == len(data)
    assert letter.attempts == 1
    assert Notification.objects.filter(
        user=entitlement.referrer.user, subject="Your letter is ready"
    ).exists()


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_grant_renders_nothing(endorsed_application, delegate):
    app.control.purge()

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        with pytest.raises(RuntimeError), transaction.atomic():
            grant(endorsed_application, delegate)
            raise RuntimeError("the request failed")
        time.sleep(1)  # long enough for a wrongly sent task to be rendered

    assert not Letter.objects.exists()
    assert not default_storage.exists("letters")
