"""When the procedure queues renewals for a delegate: the run queues the case, and a
delegate reinstates it with `training.services.lapse_reinstate`, which refuses, changing
nothing, whatever it should not do."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from entitlements.models import EntitlementEvent, EventAction, ScopeItem
from referrers import services as people_services
from referrers.models import Notification
from training import services as training_services
from training.models import LapseState, TrainingLapse

from .conftest import CONTRAST, build_world, done_for

D = datetime.date


def mark_lapsed(world, profile):
    people_services.registration_mark_lapsed(
        referrer=profile, by=world.delegate, reason="Not on the NMC register today"
    )
    profile.refresh_from_db()


@pytest.fixture
def queued(db, clock):
    """Ada's contrast safety lapsed on 11 May 2025 (CT item suspended); a renewal verified on
    5 June is queued by the next night's run."""
    world = build_world(renewal_action="queue")
    clock.run(D(2025, 5, 11))
    clock.daytime(D(2025, 6, 5))
    record = training_services.training_record_add(
        referrer=world.profile("Ada"),
        by=world.delegate,
        kind=CONTRAST,
        provider="Trust contrast course",
        completed_on=D(2025, 6, 2),
        certificate_expires_on=D(2025, 6, 30),
        verify=True,
    )
    night = clock.run(D(2025, 6, 6))
    # (The new certificate runs out on 30 June: within a lead time, so she is warned too.)
    assert done_for(night, "Ada") == [
        ("training.renewal", "queued"),
        ("training.warning", "warned"),
    ]
    clock.daytime(D(2025, 6, 6))
    lapse = TrainingLapse.objects.get(entitlement=world.entitlements["Ada"])
    return world, lapse, record


def ct_state(world) -> str:
    return ScopeItem.objects.get(
        entitlement=world.entitlements["Ada"], examination__code="CHEAC"
    ).state


def test_a_queued_renewal_waits_for_a_delegate_who_is_told(queued, clock):
    world, lapse, record = queued
    assert (lapse.state, lapse.renewed_by_record) == (LapseState.QUEUED, record)
    assert ct_state(world) == "suspended"
    assert Notification.objects.filter(
        user=world.delegate, subject__endswith="training renewed: reinstate from the queue"
    ).exists()
    # Queued cases are the delegate's: later nights neither reinstate nor revoke them.
    assert done_for(clock.run(D(2025, 6, 20)), "Ada") == []
    assert ct_state(world) == "suspended"


def test_a_delegate_reinstates_what_the_lapse_suspended(queued):
    world, lapse, record = queued
    ada = world.entitlements["Ada"]

    training_services.lapse_reinstate(lapse=lapse, by=world.delegate, reason="Certificate seen")

    lapse.refresh_from_db()
    assert (lapse.state, lapse.resolved_by, lapse.renewed_by_record) == (
        LapseState.REINSTATED,
        world.delegate,
        record,
    )
    assert ct_state(world) == "active"
    event = EntitlementEvent.objects.get(entitlement=ada, action=EventAction.ITEM_REINSTATED)
    assert (event.actor, event.rule, event.reason) == (world.delegate, "", "Certificate seen")
    assert lapse.history.first().history_user == world.delegate


@pytest.mark.parametrize(
    "who, error, message",
    [
        ("Ada", PermissionDenied, "Only an entitlement delegate of Coast Hospitals RDZ"),
        ("Omar", PermissionDenied, "Only an entitlement delegate of Coast Hospitals RDZ"),
        ("Dana", ValidationError, "Enter the reason"),
    ],
)
def test_only_a_delegate_of_the_employer_with_a_reason_can_reinstate(queued, who, error, message):
    world, lapse, _ = queued
    by = {"Ada": world.user("Ada"), "Omar": world.second_delegate, "Dana": world.delegate}[who]
    reason = "" if who == "Dana" else "Looks fine"
    with pytest.raises(error, match=message):
        training_services.lapse_reinstate(lapse=lapse, by=by, reason=reason)
    lapse.refresh_from_db()
    assert lapse.state == LapseState.QUEUED
    assert ct_state(world) == "suspended"


def test_a_case_is_reinstated_once(queued):
    world, lapse, _ = queued
    training_services.lapse_reinstate(lapse=lapse, by=world.delegate, reason="Seen")
    with pytest.raises(ValidationError, match="not waiting for a delegate: it is reinstated"):
        training_services.lapse_reinstate(lapse=lapse, by=world.delegate, reason="Seen again")
    assert EntitlementEvent.objects.filter(action=EventAction.ITEM_REINSTATED).count() == 1


def test_training_that_lapsed_again_cannot_be_reinstated(queued, clock):
    world, lapse, _ = queued
    clock.daytime(D(2025, 7, 2))  # the certificate's own expiry, 30 June, has passed
    with pytest.raises(ValidationError, match="Contrast safety training is not valid today"):
        training_services.lapse_reinstate(lapse=lapse, by=world.delegate, reason="Seen")
    assert ct_state(world) == "suspended"


def test_a_lapsed_registration_cannot_be_reinstated(queued):
    world, lapse, _ = queued
    profile = world.profile("Ada")
    mark_lapsed(world, profile)
    with pytest.raises(ValidationError, match="professional registration has lapsed"):
        training_services.lapse_reinstate(lapse=lapse, by=world.delegate, reason="Seen")
    assert TrainingLapse.objects.get(pk=lapse.pk).state == LapseState.QUEUED
