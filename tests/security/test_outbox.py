"""Redis down when a delegate grants: the grant commits, its letter and e-mails wait in the
database outbox, and are sent once, by a real worker, when the broker is back. A hung Redis
holds the request only for the bounded publish timeout (BROKER_TIMEOUT)."""

import contextlib
import socket
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.db import OperationalError, transaction
from django.urls import reverse

from config.celery import app
from entitlements.models import Entitlement, Letter
from referrers.models import OutboxMessage
from referrers.outbox import outbox_enqueue, outbox_publish, outbox_send_pending

pytestmark = pytest.mark.django_db(transaction=True)

# A port nothing listens on: the connection is refused at once.
CLOSED_PORT_URL = "redis://127.0.0.1:1/13"


@contextlib.contextmanager
def broker_at(url: str):
    """Point the Celery app (as the web process uses it) at `url`, with the production Redis
    transport options (bounded timeouts); put it back afterwards."""
    saved = (app.conf.broker_url, app.conf.broker_transport_options)

    def reset_pools():
        # Forgotten, not closed: kombu keeps one pool per URL and hands the same one back.
        app._pool = None
        app.amqp._producer_pool = None

    reset_pools()
    app.conf.broker_url = url
    app.conf.broker_transport_options = dict(settings.REDIS_BROKER_TRANSPORT_OPTIONS)
    try:
        yield
    finally:
        reset_pools()
        app.conf.broker_url, app.conf.broker_transport_options = saved


@contextlib.contextmanager
def hung_redis():
    """A port that accepts connections and never answers: a Redis that hangs."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(50)
    try:
        yield f"redis://127.0.0.1:{server.getsockname()[1]}/13"
    finally:
        server.close()


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    default = {**settings.STORAGES["default"], "OPTIONS": {"location": str(tmp_path)}}
    settings.STORAGES = {**settings.STORAGES, "default": default}


def wait_for(condition, *, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except OperationalError:  # SQLite's shared in-memory database: the worker is writing
            pass
        time.sleep(0.2)
    return False


def grant_through_the_page(client, application, delegate):
    client.force_login(delegate)
    started = time.monotonic()
    response = client.post(
        reverse("application_decide", args=["RDZ", application.pk]),
        {"outcome": "granted", "rationale": "Meets RAD-POL-012 section 4."},
    )
    return response, time.monotonic() - started


def test_a_grant_while_redis_is_down_commits_and_its_letter_and_emails_are_sent_when_it_is_back(
    client, endorsed_application, delegate, referrer
):
    mail.outbox.clear()
    OutboxMessage.objects.all().delete()  # what setting up the application queued

    with broker_at(CLOSED_PORT_URL):
        response, took = grant_through_the_page(client, endorsed_application, delegate)

    # The grant committed and the delegate saw it, quickly.
    entitlement = Entitlement.objects.get(application=endorsed_application)
    assert response.status_code == 302
    assert response["Location"] == reverse("entitlement_manage", args=["RDZ", entitlement.pk])
    assert took < 3 * settings.BROKER_TIMEOUT
    assert entitlement.state == "active"
    letter = Letter.objects.get(entitlement=entitlement)
    assert letter.status == "pending"

    # Nothing was sent: the letter and the e-mails wait in the outbox, with the error.
    waiting = list(OutboxMessage.objects.order_by("id"))
    tasks = [m.task for m in waiting]
    assert "entitlements.letter_render" in tasks and "referrers.email_send" in tasks
    assert {"letter_id": letter.pk} in [m.kwargs for m in waiting]
    emails = [m.kwargs["to"] for m in waiting if m.task == "referrers.email_send"]
    assert referrer.email in emails
    assert all(m.sent_at is None and m.attempts == 1 for m in waiting)
    assert all("OperationalError" in m.last_error for m in waiting)
    assert mail.outbox == []

    # The broker is back (the configured one: Redis in CI, else the filesystem broker) and a
    # real worker runs; beat's sweep sends what waited.
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        assert outbox_send_pending() == len(waiting)

        def delivered() -> bool:
            letter.refresh_from_db()
            return letter.status == "ready" and len(mail.outbox) > len(emails)

        assert wait_for(delivered), "the worker did not render the letter and send the e-mails"
        time.sleep(0.5)  # long enough for a wrongly doubled message to arrive

    # Every e-mail that waited arrived exactly once, then the letter-ready one.
    sent = [(m.to[0], m.subject) for m in mail.outbox]
    waited = [(m.kwargs["to"], m.kwargs["subject"]) for m in waiting if "to" in m.kwargs]
    assert sorted(sent[: len(waited)]) == sorted(waited)
    assert len(sent) == len(set(sent))
    assert sent[-1] == (referrer.email, "Your letter is ready")
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
    assert outbox_send_pending() == 0  # a later sweep sends nothing again


def test_a_hung_redis_holds_the_grant_only_for_the_bounded_timeout(
    client, endorsed_application, delegate
):
    with hung_redis() as url, broker_at(url):
        response, took = grant_through_the_page(client, endorsed_application, delegate)

    assert response.status_code == 302
    assert Entitlement.objects.get(application=endorsed_application).state == "active"
    # Connect, then one read that times out; never the minutes an unbounded socket waits.
    assert took < 3 * max(settings.BROKER_TIMEOUT, 3.0) + 2
    letter_message = OutboxMessage.objects.get(task="entitlements.letter_render")
    assert letter_message.sent_at is None
    assert "Timeout" in letter_message.last_error or "timed out" in letter_message.last_error


def test_a_rolled_back_change_leaves_nothing_in_the_outbox_and_sends_nothing():
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox_enqueue(task="referrers.email_send", kwargs={"to": "a@example.nhs.uk"})
        raise RuntimeError("the request failed")
    assert not OutboxMessage.objects.exists()


def test_each_waiting_message_is_published_once_and_marked_sent(monkeypatch):
    published = []
    task = app.tasks["referrers.email_send"]
    monkeypatch.setattr(task, "apply_async", lambda kwargs: published.append(kwargs))
    kwargs = {"to": "a@example.nhs.uk", "subject": "s", "body": "b"}
    with broker_at(CLOSED_PORT_URL), transaction.atomic():
        message = outbox_enqueue(task="referrers.email_send", kwargs=kwargs)
    # The publish on commit went to the (patched) task: sent once.
    message.refresh_from_db()
    assert published == [kwargs]
    assert message.sent_at is not None and message.attempts == 1
    assert outbox_publish() == 0  # nothing left to send
    assert published == [kwargs]


def test_the_command_sends_what_waits_and_fails_while_the_broker_is_down(monkeypatch):
    with broker_at(CLOSED_PORT_URL):
        outbox_enqueue(task="referrers.email_send", kwargs={"to": "a@example.nhs.uk"})
        with pytest.raises(Exception, match="1 message\\(s\\) still waiting"):
            call_command("outbox_send")
    message = OutboxMessage.objects.get()
    assert (message.sent_at, message.attempts) == (None, 2)

    sent = []
    monkeypatch.setattr(
        app.tasks["referrers.email_send"], "apply_async", lambda kwargs: sent.append(kwargs)
    )
    call_command("outbox_send")
    message.refresh_from_db()
    assert message.sent_at is not None and sent == [{"to": "a@example.nhs.uk"}]


def test_beat_sweeps_the_outbox_every_minute_and_a_starting_worker_sweeps_too():
    from celery.signals import worker_ready

    schedule = {
        entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    assert schedule["referrers.outbox_send"] == 60
    app.loader.import_default_modules()
    receivers = [r[1]() for r in worker_ready.receivers]
    assert any(getattr(r, "__name__", "") == "_send_waiting_messages_on_start" for r in receivers)


def test_the_letter_task_run_twice_renders_once(endorsed_application, delegate):
    from entitlements.tasks import letter_render
    from tests.journeys import grant

    with transaction.atomic():
        entitlement = grant(endorsed_application, delegate)
    letter = Letter.objects.get(entitlement=entitlement)
    letter_render.run(letter_id=letter.pk)
    letter.refresh_from_db()
    first = (letter.file.name, letter.sha256, letter.rendered_at)
    letter_render.run(letter_id=letter.pk)  # the outbox sent it twice (crash before marking)
    letter.refresh_from_db()
    assert (letter.file.name, letter.sha256, letter.rendered_at) == first


def test_sent_messages_are_pruned_after_a_week_and_waiting_ones_never(monkeypatch):
    import datetime

    import time_machine

    from referrers.tasks import outbox_send

    monkeypatch.setattr(app.tasks["referrers.email_send"], "apply_async", lambda kwargs: None)
    with time_machine.travel(datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.UTC)):
        sent = outbox_enqueue(task="referrers.email_send", kwargs={"to": "a@example.nhs.uk"})
        with broker_at(CLOSED_PORT_URL):
            monkeypatch.undo()
            waiting = outbox_enqueue(task="referrers.email_send", kwargs={"to": "b@example.nhs.uk"})
    monkeypatch.setattr(app.tasks["referrers.email_send"], "apply_async", lambda kwargs: 1 / 0)
    with time_machine.travel(datetime.datetime(2026, 3, 8, 13, tzinfo=datetime.UTC)):
        outbox_send.run()  # the sweep fails to send `waiting` again, and prunes
    assert list(OutboxMessage.objects.values_list("pk", flat=True)) == [waiting.pk]
    assert not OutboxMessage.objects.filter(pk=sent.pk).exists()
