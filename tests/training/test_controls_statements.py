"""The control run at scale (issue 9): what each action costs the database is bounded, the
same for ten actions as for forty, and the run's e-mails and letters are handed to a worker
once per batch, never published one message at a time.

On 1 October 2025 (see test_controls_once.py) each extra referrer whose contrast training
lapsed in 2025 is due two actions: the lapse (its scope items suspended, with events,
history, a letter and notifications) and, the grace period having passed, the revocation.
"""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.celery import app
from referrers import outbox
from referrers.models import OutboxMessage
from training.controls import run_controls

from .conftest import CONTRAST, add_person, at, build_world

DAY = datetime.date(2025, 10, 1)


def lapsed(world, first: int, count: int) -> None:
    xr, ct = world.catalogue["xr_chest"], world.catalogue["ct_head"]
    for n in range(first, first + count):
        add_person(
            world, f"Extra{n}", "Lapsed", [xr, ct], completed={CONTRAST: datetime.date(2023, 8, 1)}
        )


def statements_of_a_run(world, traveller) -> tuple[int, int]:
    """(actions, SQL statements) of the run of DAY, rolled back afterwards."""
    from django.db import transaction

    traveller.move_to(at(DAY, 2))
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        result = run_controls(on=DAY)
        transaction.set_rollback(True)
    assert result.errors == []
    return result.count, len(queries.captured_queries)


@pytest.mark.django_db
def test_each_action_costs_a_bounded_number_of_statements_however_many_there_are():
    import time_machine

    world = build_world()
    lapsed(world, 0, 5)
    with time_machine.travel(at(DAY, 2), tick=False) as traveller:
        few_actions, few = statements_of_a_run(world, traveller)
    lapsed(world, 5, 15)
    with time_machine.travel(at(DAY, 2), tick=False) as traveller:
        many_actions, many = statements_of_a_run(world, traveller)

    assert (few_actions, many_actions) == (8 + 10, 8 + 40)
    per_action = (many - few) / (many_actions - few_actions)
    # A lapse and a revocation, each with its ledger row, events, history, letter,
    # notifications and their outbox rows (written together), and the entitlement read
    # inside its row lock once, and again (in part) after the lapse: 28 statements an action
    # on this data; 46.5 when each action read its entitlement whole up to three times and
    # wrote each outbox row alone (and each was then published with two more).
    assert per_action <= 30, per_action


@pytest.mark.django_db(transaction=True)
def test_the_outbox_is_handed_to_a_worker_once_a_batch_and_every_message_sent_once(
    monkeypatch,
):
    import time_machine

    world = build_world()
    lapsed(world, 0, 6)
    published_one_by_one, nudges, sent = [], [], []
    monkeypatch.setattr(outbox, "_publish_after_commit", published_one_by_one.append)
    outbox_send = app.tasks["referrers.outbox_send"]
    monkeypatch.setattr(outbox_send, "apply_async", lambda *a, **k: nudges.append(1))
    email = app.tasks["referrers.email_send"]
    monkeypatch.setattr(email, "apply_async", lambda kwargs: sent.append(kwargs))
    letter = app.tasks["entitlements.letter_render"]
    monkeypatch.setattr(letter, "apply_async", lambda kwargs: sent.append(kwargs))
    OutboxMessage.objects.all().delete()  # what setting the world up queued

    with time_machine.travel(at(DAY, 2), tick=False):
        result = run_controls(on=DAY, batch_size=4)

    assert result.count == 8 + 12 and result.errors == []
    messages = list(OutboxMessage.objects.order_by("id"))
    assert messages and all(m.sent_at is None for m in messages)
    assert published_one_by_one == []  # nothing published message by message
    # One nudge per batch that committed messages (and none for a batch that wrote nothing).
    assert 1 <= len(nudges) <= 12

    # The worker's sweep publishes each committed message once.
    assert outbox.outbox_send_pending() == len(messages)
    assert len(sent) == len(messages)
    assert outbox.outbox_send_pending() == 0


@pytest.mark.django_db
def test_a_dry_run_hands_nothing_over(monkeypatch):
    import time_machine

    world = build_world()
    lapsed(world, 0, 2)
    nudges = []
    monkeypatch.setattr(
        app.tasks["referrers.outbox_send"], "apply_async", lambda *a, **k: nudges.append(1)
    )
    before = OutboxMessage.objects.count()
    with time_machine.travel(at(DAY, 2), tick=False):
        result = run_controls(on=DAY, dry_run=True)
    assert result.count == 8 + 4
    assert OutboxMessage.objects.count() == before
    assert nudges == []
