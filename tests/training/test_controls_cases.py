"""The control run in the cases between the rules: shared suspensions, suspensions by hand,
variations, revocations by hand, registration, review, queued renewals, whole-entitlement
lapses. Each test runs the nights that matter on the seeded trusts (conftest.py)."""

import datetime

from entitlements import services as entitlement_services
from entitlements.models import Entitlement, EntitlementEvent, ScopeItem
from referrers import services as people_services
from referrers.models import Notification
from tests.journeys import pdf_upload
from training import services as training_services
from training.models import ControlAction, LapseState, TrainingLapse

from .conftest import CARA_GRANTED, CONTRAST, RP, add_person, build_world, done_for

D = datetime.date


def mark_lapsed(world, profile):
    people_services.registration_mark_lapsed(
        referrer=profile, by=world.delegate, reason="Not on the NMC register today"
    )
    profile.refresh_from_db()


def unmark_lapsed(world, profile):
    people_services.registration_confirm_renewed(
        referrer=profile,
        by=world.delegate,
        renewal_due_on=profile.registration_expires_on + datetime.timedelta(days=730),
        reason="On the NMC register again",
    )
    profile.refresh_from_db()


def items(entitlement) -> dict[str, str]:
    return dict(
        ScopeItem.objects.filter(entitlement=entitlement).values_list("examination__code", "state")
    )


def state(entitlement) -> str:
    return Entitlement.objects.get(pk=entitlement.pk).state


def renew(world, name, kind, completed_on, **extra):
    return training_services.training_record_add(
        referrer=world.profile(name),
        by=world.delegate,
        kind=kind,
        provider="Trust training",
        completed_on=completed_on,
        verify=True,
        **extra,
    )


def lapse_of(entitlement, kind) -> TrainingLapse:
    return TrainingLapse.objects.get(entitlement=entitlement, training_kind=kind)


# --- Items ---------------------------------------------------------------------------------------


def test_an_item_two_lapses_suspended_comes_back_when_both_are_renewed(world, clock):
    xr, ct = world.catalogue["xr_chest"], world.catalogue["ct_head"]
    fay = add_person(
        world, "Fay", "Twice", [xr, ct], completed={RP: D(2022, 6, 1), CONTRAST: D(2023, 6, 10)}
    )

    # Radiation protection lapses: both items need it (both are ionising).
    assert done_for(clock.run(D(2025, 6, 2)), fay) == [("training.lapse", "items_suspended")]
    assert items(fay) == {"XCHES": "suspended", "CHEAC": "suspended"}
    # Contrast safety lapses: the CT item is already suspended, and now held by both.
    assert done_for(clock.run(D(2025, 6, 11)), fay) == [("training.lapse", "flagged")]
    ct_item = ScopeItem.objects.get(entitlement=fay, examination=ct)
    assert lapse_of(fay, CONTRAST).scope_item_ids == [ct_item.pk]

    clock.daytime(D(2025, 6, 15))
    renew(world, "Fay", RP, D(2025, 6, 14))
    assert done_for(clock.run(D(2025, 6, 16)), fay) == [("training.renewal", "items_reinstated")]
    assert items(fay) == {"XCHES": "active", "CHEAC": "suspended"}

    clock.daytime(D(2025, 6, 20))
    renew(world, "Fay", CONTRAST, D(2025, 6, 19))
    assert done_for(clock.run(D(2025, 6, 21)), fay) == [("training.renewal", "items_reinstated")]
    assert items(fay) == {"XCHES": "active", "CHEAC": "active"}
    assert set(TrainingLapse.objects.filter(entitlement=fay).values_list("state", flat=True)) == {
        LapseState.REINSTATED
    }


def test_an_item_a_delegate_suspended_is_left_to_the_delegate(world, clock):
    ada = world.entitlements["Ada"]
    ct_item = ScopeItem.objects.get(entitlement=ada, examination__code="CHEAC")
    clock.daytime(D(2025, 5, 1))
    entitlement_services.entitlement_suspend(
        entitlement=ada, by=world.delegate, reason="Audit of CT requests", scope_items=[ct_item]
    )

    assert done_for(clock.run(D(2025, 5, 11)), "Ada") == [("training.lapse", "flagged")]
    assert lapse_of(ada, CONTRAST).scope_item_ids == []
    # Past the grace period, nothing she may still request needs the lapsed training.
    assert done_for(clock.run(D(2025, 6, 11)), "Ada") == []

    clock.daytime(D(2025, 6, 12))
    renew(world, "Ada", CONTRAST, D(2025, 6, 12))
    assert done_for(clock.run(D(2025, 6, 13)), "Ada") == [("training.renewal", "resolved")]
    assert items(ada) == {"XCHES": "active", "CHEAC": "suspended"}
    assert ScopeItem.objects.get(pk=ct_item.pk).suspended_reason == "Audit of CT requests"


def test_a_lapse_while_suspended_by_hand_suspends_once_a_delegate_reinstates(world, clock):
    ada = world.entitlements["Ada"]
    clock.daytime(D(2025, 5, 1))
    entitlement_services.entitlement_suspend(entitlement=ada, by=world.delegate, reason="Leave")

    assert done_for(clock.run(D(2025, 5, 11)), ada) == [("training.lapse", "flagged")]
    clock.daytime(D(2025, 5, 20))
    entitlement_services.entitlement_reinstate(entitlement=ada, by=world.delegate, reason="Back")
    assert done_for(clock.run(D(2025, 5, 21)), ada) == [("training.lapse", "items_suspended")]
    assert items(ada) == {"XCHES": "active", "CHEAC": "suspended"}
    lapse = lapse_of(ada, CONTRAST)
    assert ControlAction.objects.get(
        idempotency_key=f"training.lapse:l{lapse.pk}:items:{lapse.scope_item_ids[0]}"
    ).run_date == D(2025, 5, 21)

    clock.daytime(D(2025, 6, 5))
    renew(world, "Ada", CONTRAST, D(2025, 6, 2))
    assert done_for(clock.run(D(2025, 6, 6)), ada) == [("training.renewal", "items_reinstated")]
    assert (state(ada), items(ada)) == ("active", {"XCHES": "active", "CHEAC": "active"})


def test_items_a_delegate_reinstates_by_hand_are_not_suspended_again(world, clock):
    ada = world.entitlements["Ada"]
    clock.run(D(2025, 5, 11))
    clock.daytime(D(2025, 5, 12))
    ct_item = ScopeItem.objects.get(entitlement=ada, examination__code="CHEAC")
    entitlement_services.entitlement_reinstate(
        entitlement=ada, by=world.delegate, reason="Course booked", scope_items=[ct_item]
    )
    assert done_for(clock.run(D(2025, 5, 13)), ada) == []
    # With nothing of it suspended any more, the grace period revokes nothing.
    assert done_for(clock.run(D(2025, 6, 11)), ada) == []
    assert state(ada) == "active"


# --- Entitlements ending ------------------------------------------------------------------------


def vary(world, name) -> Entitlement:
    """The referrer asks for the same scope again as a variation; a delegate grants it."""
    entitlement = world.entitlements[name]
    user = world.user(name)
    application = entitlement_services.variation_start(entitlement=entitlement, by=user)
    entitlement_services.evidence_add(
        application=application,
        by=user,
        upload=pdf_upload(),
        kind="competency",
    )
    entitlement_services.application_submit(application=application, by=user)
    entitlement_services.application_endorse(
        application=application, by=world.supervisor, outcome="endorsed"
    )
    decision = entitlement_services.application_decide(
        application=application, by=world.delegate, outcome="granted", rationale="Varied."
    )
    return decision.entitlement


def test_a_variation_takes_over_the_lapse_and_its_grace_period(world, clock):
    ada = world.entitlements["Ada"]
    clock.run(D(2025, 5, 11))
    clock.daytime(D(2025, 5, 15))
    successor = vary(world, "Ada")
    assert items(successor) == {"XCHES": "active", "CHEAC": "suspended"}  # the grant carries it

    assert done_for(clock.run(D(2025, 5, 16)), ada) == [("training.lapse", "carried")]
    old, new = lapse_of(ada, CONTRAST), lapse_of(successor, CONTRAST)
    assert (old.state, new.state) == (LapseState.CLOSED, LapseState.OPEN)
    assert new.lapsed_on == old.lapsed_on == D(2025, 5, 11)
    assert new.suspended_at == old.suspended_at
    assert new.scope_item_ids == [
        ScopeItem.objects.get(entitlement=successor, examination__code="CHEAC").pk
    ]
    # The grace period runs on from the original lapse: revoked on the same night.
    assert done_for(clock.run(D(2025, 6, 11)), successor) == [("training.grace", "revoked")]


def test_a_variation_s_carried_items_come_back_on_renewal(world, clock):
    clock.run(D(2025, 5, 11))
    clock.daytime(D(2025, 5, 15))
    successor = vary(world, "Ada")
    clock.run(D(2025, 5, 16))
    clock.daytime(D(2025, 6, 5))
    renew(world, "Ada", CONTRAST, D(2025, 6, 2))
    assert done_for(clock.run(D(2025, 6, 6)), successor) == [
        ("training.renewal", "items_reinstated")
    ]
    assert items(successor) == {"XCHES": "active", "CHEAC": "active"}


def test_an_entitlement_revoked_by_hand_closes_its_lapse(world, clock):
    ben = world.entitlements["Ben"]
    clock.run(D(2025, 7, 21))
    clock.daytime(D(2025, 7, 25))
    entitlement_services.entitlement_revoke(entitlement=ben, by=world.delegate, reason="Left")
    assert done_for(clock.run(D(2025, 7, 26)), ben) == [("training.lapse", "closed")]
    assert lapse_of(ben, CONTRAST).state == LapseState.CLOSED
    assert done_for(clock.run(D(2025, 8, 21)), ben) == []


# --- Registration -------------------------------------------------------------------------------


def test_a_registration_marked_lapsed_suspends_at_every_employer_and_renewal_is_queued(
    world, clock
):
    dev, dev_second = world.entitlements["Dev"], world.entitlements["Dev@second"]
    clock.daytime(D(2025, 3, 5))
    entitlement_services.entitlement_suspend(
        entitlement=dev_second, by=world.second_delegate, reason="Rota gap"
    )
    profile = world.profile("Dev")
    mark_lapsed(world, profile)

    night = clock.run(D(2025, 3, 6))
    assert done_for(night, dev) == [("registration.lapse", "suspended")]
    assert done_for(night, dev_second) == [("registration.lapse", "held")]
    assert "was marked lapsed by a delegate" in night.actions[0].detail
    assert done_for(clock.run(D(2025, 3, 7)), "Dev") == []

    clock.daytime(D(2025, 3, 10))
    unmark_lapsed(world, profile)
    night = clock.run(D(2025, 3, 11))
    assert done_for(night, dev) == [("registration.lapse", "queued")]
    assert done_for(night, dev_second) == [("registration.lapse", "cleared")]
    # Not reinstated: a delegate checks the register first, and is asked to.
    assert state(dev) == state(dev_second) == "suspended"
    assert Notification.objects.filter(
        user=world.delegate, subject__endswith="registration renewed: check and reinstate"
    ).exists()

    # A second lapse later is a new episode, acted on again.
    clock.daytime(D(2025, 3, 12))
    entitlement_services.entitlement_reinstate(entitlement=dev, by=world.delegate, reason="OK")
    mark_lapsed(world, profile)
    assert done_for(clock.run(D(2025, 3, 13)), dev) == [("registration.lapse", "suspended")]
    keys = ControlAction.objects.filter(entitlement=dev).values_list("idempotency_key", flat=True)
    assert sorted(keys) == [
        f"registration.lapse:e{dev.pk}#1",
        f"registration.lapse:e{dev.pk}#1:renewed",
        f"registration.lapse:e{dev.pk}#2",
    ]


def test_a_renewal_after_the_registration_also_lapsed_goes_to_a_delegate(db, clock):
    world = build_world(lapse_action="suspend_entitlement")
    ada = world.entitlements["Ada"]
    assert done_for(clock.run(D(2025, 5, 11)), ada) == [("training.lapse", "suspended")]
    clock.daytime(D(2025, 5, 20))
    profile = world.profile("Ada")
    mark_lapsed(world, profile)
    assert done_for(clock.run(D(2025, 5, 21)), ada) == [("registration.lapse", "held")]

    clock.daytime(D(2025, 6, 5))
    renew(world, "Ada", CONTRAST, D(2025, 6, 2))
    assert done_for(clock.run(D(2025, 6, 6)), ada) == []  # waits: the registration lapsed
    clock.daytime(D(2025, 6, 8))
    unmark_lapsed(world, profile)
    assert done_for(clock.run(D(2025, 6, 9)), ada) == [
        ("registration.lapse", "cleared"),
        ("training.renewal", "queued"),
    ]
    assert state(ada) == "suspended"
    assert lapse_of(ada, CONTRAST).state == LapseState.QUEUED


# --- Review -------------------------------------------------------------------------------------


def test_an_overdue_review_expires_when_the_procedure_says_so_and_closes_lapses(db, clock):
    world = build_world(review_overdue_action="expire", grace_days=None)
    xr, ct = world.catalogue["xr_chest"], world.catalogue["ct_head"]
    gus = add_person(
        world,
        "Gus",
        "Late",
        [xr, ct],
        granted=CARA_GRANTED,
        completed={CONTRAST: D(2023, 5, 10)},
    )
    assert done_for(clock.run(D(2025, 5, 11)), gus) == [("training.lapse", "items_suspended")]
    assert done_for(clock.run(D(2025, 9, 1)), gus) == []  # no grace period: never revoked
    night = clock.run(D(2025, 12, 5))
    assert done_for(night, gus) == [("review.overdue", "expired")]
    assert state(gus) == "expired"
    assert lapse_of(gus, CONTRAST).state == LapseState.CLOSED
    event = EntitlementEvent.objects.get(entitlement=gus, action="expired")
    assert (event.rule, event.procedure_version) == ("review.overdue", world.version)


def test_an_overdue_review_of_a_suspended_entitlement_is_recorded_once(world, clock):
    cara = world.entitlements["Cara"]
    clock.daytime(D(2025, 11, 1))
    entitlement_services.entitlement_suspend(entitlement=cara, by=world.delegate, reason="Leave")
    assert done_for(clock.run(D(2025, 12, 5)), cara) == [("review.overdue", "held")]
    clock.daytime(D(2025, 12, 6))
    entitlement_services.entitlement_reinstate(
        entitlement=cara, by=world.delegate, reason="Reviewed"
    )
    # The delegate's decision for that review date stands.
    assert done_for(clock.run(D(2025, 12, 7)), cara) == []
    assert state(cara) == "active"


# --- The whole entitlement -----------------------------------------------------------------------


def test_a_whole_entitlement_two_lapses_suspended_comes_back_after_both(db, clock):
    world = build_world(lapse_action="suspend_entitlement")
    xr, ct = world.catalogue["xr_chest"], world.catalogue["ct_head"]
    fay = add_person(
        world, "Fay", "Twice", [xr, ct], completed={RP: D(2022, 6, 1), CONTRAST: D(2023, 6, 10)}
    )
    assert done_for(clock.run(D(2025, 6, 2)), fay) == [("training.lapse", "suspended")]
    assert done_for(clock.run(D(2025, 6, 11)), fay) == [("training.lapse", "flagged")]
    assert lapse_of(fay, CONTRAST).suspended_whole

    clock.daytime(D(2025, 6, 15))
    renew(world, "Fay", RP, D(2025, 6, 14))
    assert done_for(clock.run(D(2025, 6, 16)), fay) == [("training.renewal", "resolved")]
    assert state(fay) == "suspended"

    clock.daytime(D(2025, 6, 20))
    renew(world, "Fay", CONTRAST, D(2025, 6, 19))
    assert done_for(clock.run(D(2025, 6, 21)), fay) == [("training.renewal", "reinstated")]
    assert state(fay) == "active"
    event = EntitlementEvent.objects.get(entitlement=fay, action="reinstated")
    assert (event.rule, event.actor) == ("training.renewal", None)
