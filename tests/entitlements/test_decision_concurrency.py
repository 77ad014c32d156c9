"""Two delegates deciding the same application at the same moment yield exactly one decision.

Real threads, each with its own PostgreSQL connection, start `application_decide` together
behind a barrier. The first to lock the application row holds it until the second is seen
waiting for that lock (in pg_stat_activity), so the two really overlap; the second then
finds the application decided and is told so. Without the row lock both would read "under
review" and the loser would fail on a database constraint instead (or, without the
constraint, a second decision would be saved). SQLite has no row locks, so this needs
PostgreSQL.
"""

import datetime
import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from entitlements import selectors, services
from entitlements.models import Application, ApplicationStatus, Decision, Entitlement
from referrers import services as people_services
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL row locks: set DATABASE_URL",
    ),
    pytest.mark.django_db(transaction=True),
]

WAIT_SECONDS = 10


@pytest.fixture
def second_delegate(trust, org_admin):
    user = UserFactory(email="second.delegate@example.nhs.uk", full_name="Sol Second")
    people_services.delegate_appointment_create(
        organisation=trust,
        delegate=user,
        valid_from=datetime.date(2025, 1, 1),
        document_reference="Board paper 2025/02",
        by=org_admin,
    )
    return user


def _someone_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock' "
            "AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


@pytest.fixture
def hold_first_lock(monkeypatch):
    """Whoever checks authority first (inside the row lock) waits there until another
    connection is blocked on a lock, then carries on. Returns what it saw."""
    original = selectors.decision_authority
    first = threading.Lock()
    seen = {"waiter": False, "held": False}

    def slow_authority(*args, **kwargs):
        authority = original(*args, **kwargs)
        if first.acquire(blocking=False):
            seen["held"] = True
            deadline = time.monotonic() + WAIT_SECONDS
            while time.monotonic() < deadline:
                if _someone_waits_for_a_lock():
                    seen["waiter"] = True
                    break
                time.sleep(0.01)
        return authority

    monkeypatch.setattr(selectors, "decision_authority", slow_authority)
    return seen


def decide_together(application, attempts: list[tuple]) -> list[tuple]:
    """Run each (delegate, outcome) attempt in its own thread, released together."""
    barrier = threading.Barrier(len(attempts))
    results: list[tuple] = []

    def attempt(delegate, outcome):
        try:
            barrier.wait(timeout=WAIT_SECONDS)
            decision = services.application_decide(
                application=application,
                by=delegate,
                outcome=outcome,
                rationale=f"{delegate.full_name} decides: {outcome}",
            )
            results.append(("decided", delegate, decision.pk))
        except ValidationError as error:
            results.append(("refused", delegate, " ".join(error.messages)))
        except Exception as error:  # noqa: BLE001 - reported by the assertions below
            results.append(("failed", delegate, repr(error)))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=pair) for pair in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=2 * WAIT_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    return results


def assert_exactly_one_decision(application, results, hold_first_lock) -> tuple:
    assert hold_first_lock["held"] and hold_first_lock["waiter"], (
        "the second delegate never waited for the first one's lock"
    )
    assert sorted(r[0] for r in results) == ["decided", "refused"], results
    (winner,) = [r for r in results if r[0] == "decided"]
    (loser,) = [r for r in results if r[0] == "refused"]
    decision = Decision.objects.get(application=application)
    assert decision.pk == winner[2]
    assert decision.delegate == winner[1]
    status = Application.objects.get(pk=application.pk).get_status_display().lower()
    assert loser[2] == (
        f"Application {application.reference} is {status}, so it cannot be decided now"
    )
    return decision, winner, loser


def test_two_delegates_granting_at_once_make_one_decision(
    endorsed_application, delegate, second_delegate, hold_first_lock
):
    results = decide_together(
        endorsed_application, [(delegate, "granted"), (second_delegate, "granted")]
    )
    decision, winner, _ = assert_exactly_one_decision(
        endorsed_application, results, hold_first_lock
    )
    assert decision.outcome == "granted"
    entitlement = Entitlement.objects.get()
    assert entitlement.decision == decision
    assert entitlement.granted_by == winner[1]
    assert Application.objects.get(pk=endorsed_application.pk).status == ApplicationStatus.GRANTED


def test_a_grant_and_a_decline_at_once_make_one_decision(
    endorsed_application, delegate, second_delegate, hold_first_lock
):
    results = decide_together(
        endorsed_application, [(delegate, "granted"), (second_delegate, "declined")]
    )
    decision, _, _ = assert_exactly_one_decision(endorsed_application, results, hold_first_lock)
    status = Application.objects.get(pk=endorsed_application.pk).status
    if decision.outcome == "granted":
        assert status == ApplicationStatus.GRANTED
        assert Entitlement.objects.get().decision == decision
    else:
        assert decision.outcome == "declined"
        assert status == ApplicationStatus.DECLINED
        assert not Entitlement.objects.exists()
