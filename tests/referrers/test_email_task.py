"""A real Celery worker takes the e-mail task from the configured broker (Redis when REDIS_URL
is set, as in CI; else the filesystem broker) and sends it."""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import transaction

from config.celery import app
from referrers.invitations import password_link_send
from tests.factories import UserFactory


@pytest.mark.django_db(transaction=True)
def test_the_worker_sends_the_link_only_after_commit():
    app.control.purge()  # nothing left from an earlier run
    person = UserFactory(email="invitee@example.nhs.uk", full_name="In Vitee")

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        # A rolled-back change sends nothing.
        with pytest.raises(RuntimeError), transaction.atomic():
            password_link_send(user=person, base_url="https://entitlement.example.nhs.uk/")
            raise RuntimeError("the request failed")
        with transaction.atomic():
            password_link_send(user=person, base_url="https://entitlement.example.nhs.uk/")
        deadline = time.monotonic() + 20
        while not mail.outbox and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # long enough for a wrongly sent second message to arrive

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["invitee@example.nhs.uk"]
    assert "https://entitlement.example.nhs.uk/password/set/" in mail.outbox[0].body
