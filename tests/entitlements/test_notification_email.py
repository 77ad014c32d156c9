"""E-mail for each moment people are told about (issue: supervisor asked to endorse, the
application decided or returned, the entitlement changed, the letter ready), sent by a real
Celery worker from the configured broker, and only for changes that committed."""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import transaction

from config.celery import app
from entitlements import services
from tests.journeys import apply, grant

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker(settings, tmp_path):
    default = {**settings.STORAGES["default"], "OPTIONS": {"location": str(tmp_path)}}
    settings.STORAGES = {**settings.STORAGES, "default": default}
    app.control.purge()  # nothing left from an earlier run
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
        yield worker


def sent(count: int) -> list[tuple[str, str]]:
    """(recipient, subject) of every message, once `count` have arrived (or 20 s passed)."""
    deadline = time.monotonic() + 20
    while len(mail.outbox) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.3)  # long enough for an unexpected extra message to arrive
    return [(message.to[0], message.subject) for message in mail.outbox]


def test_each_moment_sends_its_email_and_a_rolled_back_one_sends_nothing(
    worker, referrer, supervisor, delegate, trust, catalogue, procedure
):
    application = apply(referrer, trust, [catalogue["xr_chest"]], supervisor=supervisor)
    assert (
        supervisor.email,
        f"{referrer.full_name} has asked you to endorse their application",
    ) in sent(1)

    services.application_endorse(application=application, by=supervisor, outcome="endorsed")
    assert (
        delegate.email,
        f"Application {application.reference} is ready for a decision",
    ) in sent(2)

    services.application_decide(
        application=application, by=delegate, outcome="returned", rationale="Add your audit"
    )
    assert (referrer.email, "Your application has been returned for more information") in sent(3)

    services.application_submit(application=application, by=referrer)
    services.application_endorse(application=application, by=supervisor, outcome="endorsed")
    mail.outbox.clear()
    entitlement = grant(application, delegate)
    messages = sent(3)
    assert (referrer.email, "Your entitlement has been granted") in messages
    assert (referrer.email, "Your letter is ready") in messages  # the worker rendered it

    mail.outbox.clear()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.entitlement_suspend(entitlement=entitlement, by=delegate, reason="Audit overdue")
        raise RuntimeError("the request failed after the change")
    services.entitlement_revoke(entitlement=entitlement, by=delegate, reason="Left the trust")
    messages = sent(3)
    assert (referrer.email, "Your entitlement has been revoked") in messages
    assert not [m for m in messages if "suspended" in m[1]], messages
