"""A year in the life: the control run every night for 400 days over the seeded trusts
(tests/training/conftest.py), and the exact actions each named referrer gets, worked out
from the procedure's own numbers. Then the same 400 days with six 10-day outages: the same
end state and the same actions.

Things happen in the daytime (a renewed record verified, a registration renewed); the run
happens at 02:00 and sees what happened the day before.
"""

import datetime
import re

import time_machine
from dateutil.relativedelta import relativedelta

from entitlements.models import Entitlement, EntitlementEvent, EventAction, Letter, ScopeItem
from referrers import services as people_services
from referrers.models import Notification
from training import services as training_services
from training.controls import run_controls
from training.models import ControlAction, LapseState, TrainingLapse, TrainingRecord

from .conftest import CARA_GRANTED, CONTRAST, GUIDELINES, START, VALIDITY, at, build_world

DAYS = 400
DAY = datetime.timedelta(days=1)
ADA_RENEWS = datetime.date(2025, 6, 5)  # verified in the daytime; completed 2 June
EVE_RENEWS = datetime.date(2025, 7, 28)
DEV_RENEWS = datetime.date(2025, 11, 15)


def daytime_events(world) -> dict[datetime.date, callable]:
    def ada_renews():
        training_services.training_record_add(
            referrer=world.profile("Ada"),
            by=world.delegate,
            kind=CONTRAST,
            provider="Trust contrast course",
            completed_on=datetime.date(2025, 6, 2),
            verify=True,
        )

    def eve_renews():
        training_services.training_record_add(
            referrer=world.profile("Eve"),
            by=world.delegate,
            kind=GUIDELINES,
            provider="iRefer e-learning",
            completed_on=EVE_RENEWS,
            verify=True,
        )

    def dev_renews():
        profile = world.profile("Dev")
        people_services.referrer_profile_save(
            user=profile.user,
            profession=profile.profession,
            regulator=profile.regulator,
            registration_number=profile.registration_number,
            registration_expires_on=datetime.date(2027, 9, 30),
            by=profile.user,
        )

    return {ADA_RENEWS: ada_renews, EVE_RENEWS: eve_renews, DEV_RENEWS: dev_renews}


def live_the_year(world, *, skip=(), organisations=None):
    """Each day: the 02:00 run (at every trust, or only `organisations`) unless the day is
    in `skip`, then that day's events."""
    events = daytime_events(world)
    with time_machine.travel(at(START, 2), tick=False) as traveller:
        for offset in range(DAYS):
            day = START + offset * DAY
            traveller.move_to(at(day, 2))
            if day not in skip:
                for organisation in organisations or [None]:
                    assert run_controls(on=day, organisation=organisation).errors == []
            traveller.move_to(at(day, 12))
            if day in events:
                events[day]()


def actions_of(world, name: str) -> list[tuple]:
    profile = world.profile(name)
    return [
        (a.run_date, a.organisation.ods_code, a.rule, a.action)
        for a in ControlAction.objects.filter(referrer=profile)
        .select_related("organisation")
        .order_by("run_date", "organisation__ods_code", "id")
    ]


def expected_actions(world) -> dict[str, list[tuple]]:
    """What the procedure's numbers say each referrer gets, and when."""
    version = world.version
    grace = datetime.timedelta(days=version.grace_days)
    leads = sorted(version.warning_lead_days, reverse=True)
    main, second = world.organisation.ods_code, world.second.ods_code

    def warnings(expiry):
        return [
            (expiry - datetime.timedelta(days=lead), main, "training.warning", "warned")
            for lead in leads
        ]

    validity = relativedelta(months=VALIDITY[CONTRAST])
    ada_expiry = datetime.date(2023, 5, 10) + validity
    ada_lapsed = ada_expiry + DAY
    assert ada_lapsed + grace >= ADA_RENEWS + DAY  # renewed within the grace period
    ben_expiry = datetime.date(2023, 7, 20) + validity
    ben_lapsed = ben_expiry + DAY
    eve_expiry = datetime.date(2023, 8, 1) + relativedelta(months=VALIDITY[GUIDELINES])
    assert eve_expiry >= EVE_RENEWS  # renewed before it lapsed
    review_due = CARA_GRANTED + relativedelta(months=version.review_interval_months)
    registration_expired = world.profile("Dev").history.earliest().registration_expires_on
    return {
        "Ada": warnings(ada_expiry)
        + [
            (ada_lapsed, main, "training.lapse", "items_suspended"),
            (ADA_RENEWS + DAY, main, "training.renewal", "items_reinstated"),
        ],
        "Ben": warnings(ben_expiry)
        + [
            (ben_lapsed, main, "training.lapse", "items_suspended"),
            (ben_lapsed + grace + DAY, main, "training.grace", "revoked"),
        ],
        "Cara": [(review_due + DAY, main, "review.overdue", "suspended")],
        "Dev": [
            (registration_expired + DAY, main, "registration.lapse", "suspended"),
            (registration_expired + DAY, second, "registration.lapse", "suspended"),
            (DEV_RENEWS + DAY, main, "registration.lapse", "queued"),
            (DEV_RENEWS + DAY, second, "registration.lapse", "queued"),
        ],
        "Eve": warnings(eve_expiry),
    }


def test_a_year_in_the_life(world):
    live_the_year(world)

    expected = expected_actions(world)
    assert expected["Ada"][0][0] == datetime.date(2025, 3, 11)  # the numbers, spelled out once
    assert expected["Ben"][-1][0] == datetime.date(2025, 8, 21)
    for name, actions in expected.items():
        assert actions_of(world, name) == actions, name

    ada, ben, cara = (world.entitlements[n] for n in ("Ada", "Ben", "Cara"))
    for entitlement in (ada, ben, cara):
        entitlement.refresh_from_db()
    # Ada: only the CT item (it needs contrast safety) was suspended, and it came back.
    assert ada.state == "active"
    item_events = EntitlementEvent.objects.filter(entitlement=ada, scope_item__isnull=False)
    assert [
        (e.action, e.scope_item.examination.code, e.rule, e.procedure_version)
        for e in item_events.exclude(action=EventAction.GRANTED)
    ] == [
        (EventAction.ITEM_SUSPENDED, "CHEAC", "training.lapse", world.version),
        (EventAction.ITEM_REINSTATED, "CHEAC", "training.renewal", world.version),
    ]
    assert set(ScopeItem.objects.filter(entitlement=ada).values_list("state", flat=True)) == {
        "active"
    }
    lapse = TrainingLapse.objects.get(entitlement=ada)
    assert lapse.state == LapseState.REINSTATED
    assert lapse.renewed_by_record == TrainingRecord.objects.get(
        referrer=world.profile("Ada"), kind=CONTRAST, completed_on=datetime.date(2025, 6, 2)
    )
    # Each automatic change carries its ledger key, names version and rule, and has a letter.
    for action in ControlAction.objects.filter(rule__in=["training.lapse", "training.renewal"]):
        event = EntitlementEvent.objects.get(idempotency_key=action.idempotency_key)
        assert (event.procedure_version, event.rule) == (action.procedure_version, action.rule)
        assert Letter.objects.filter(event=event).exists()
    # Ben: revoked after the grace period, by rule; his lapse says so.
    assert ben.state == "revoked"
    revoked = EntitlementEvent.objects.get(entitlement=ben, action=EventAction.REVOKED)
    assert (revoked.rule, revoked.procedure_version, revoked.actor) == (
        "training.grace",
        world.version,
        None,
    )
    assert TrainingLapse.objects.get(entitlement=ben).state == LapseState.REVOKED
    assert cara.state == "suspended"
    # Dev: suspended at both employers, each citing its own procedure; queued, not reinstated.
    for key, version in (("Dev", world.version), ("Dev@second", world.second_version)):
        dev = Entitlement.objects.get(pk=world.entitlements[key].pk)
        assert dev.state == "suspended"
        event = EntitlementEvent.objects.get(entitlement=dev, action=EventAction.SUSPENDED)
        assert (event.rule, event.procedure_version) == ("registration.lapse", version)
    # Eve: three warnings, to her and her supervisor, and nothing else.
    subject = "Your referral guidelines (such as iRefer) training expires on 1 August 2025"
    assert Notification.objects.filter(user=world.user("Eve"), subject=subject).count() == 3
    assert (
        Notification.objects.filter(user=world.supervisor, subject=f"Eve Fine: {subject}").count()
        == 3
    )
    assert Entitlement.objects.get(pk=world.entitlements["Eve"].pk).state == "active"
    # Delegates heard of every change and every queued case.
    dana = Notification.objects.filter(user=world.delegate)
    assert dana.filter(subject__endswith="contrast safety training lapsed").count() == 2
    assert dana.filter(subject__endswith="reinstated after renewal").count() == 1
    assert dana.filter(subject__endswith=": revoked").count() == 1
    assert dana.filter(subject__endswith="registration renewed: check and reinstate").count() == 1


# --- Outages ------------------------------------------------------------------------------------

# Six 10-day outages, each over something due: Ada's lapse, Eve's 30-day warning, Ben's
# revocation, Dev's registration lapse and renewal, Cara's review. (An outage that swallowed a
# whole warning window would lose that warning: the lapse that follows it is not lost.)
OUTAGES = [
    datetime.date(2025, 5, 8),
    datetime.date(2025, 6, 26),
    datetime.date(2025, 8, 15),
    datetime.date(2025, 9, 28),
    datetime.date(2025, 11, 12),
    datetime.date(2025, 12, 1),
]
SKIPPED = {start + n * DAY for start in OUTAGES for n in range(10)}
ID = re.compile(r"(?<=[:#])([eolrc])(\d+)")


def end_state(world) -> dict:
    """Everything the run decides, with ids replaced by the names they stand for."""
    names = world.referrer_names()
    entitlements = {e.pk: name for name, e in world.entitlements.items()}
    lapses = {
        lapse.pk: (entitlements[lapse.entitlement_id], lapse.training_kind, lapse.lapsed_on)
        for lapse in TrainingLapse.objects.filter(entitlement_id__in=entitlements)
    }
    records = {
        r.pk: (names[r.referrer_id], r.kind, r.completed_on)
        for r in TrainingRecord.objects.filter(referrer_id__in=names)
    }
    organisations = {world.organisation.pk: "main", world.second.pk: "second"}
    table = {"e": entitlements, "l": lapses, "r": names, "c": records, "o": organisations}

    def named(key: str) -> str:
        return ID.sub(lambda m: repr(table[m.group(1)][int(m.group(2))]), key)

    items = ScopeItem.objects.filter(entitlement_id__in=entitlements).select_related("examination")
    return {
        "entitlements": {
            entitlements[e.pk]: e.state for e in Entitlement.objects.filter(pk__in=entitlements)
        },
        "items": sorted(
            (entitlements[i.entitlement_id], i.examination.code, i.state) for i in items
        ),
        "lapses": sorted(
            (*lapses[lapse.pk], lapse.state, lapse.suspended_whole, len(lapse.scope_item_ids))
            for lapse in TrainingLapse.objects.filter(entitlement_id__in=entitlements)
        ),
        "actions": sorted(
            named(key)
            for key in ControlAction.objects.filter(
                organisation__in=[world.organisation, world.second]
            ).values_list("idempotency_key", flat=True)
        ),
    }


def test_ten_days_skipped_then_run_ends_as_every_night_does(db):
    nightly = build_world(("RA1", "RA2"), "-nightly")
    outages = build_world(("RB1", "RB2"), "-outages")
    # Only the main trust runs here (the year test covers the second): half the work.
    live_the_year(nightly, organisations=[nightly.organisation])
    live_the_year(outages, skip=SKIPPED, organisations=[outages.organisation])

    expected = end_state(nightly)
    assert len(expected["actions"]) == 16
    assert end_state(outages) == expected
    # The catch-up happened on the first night after each outage, not on the due day.
    ben = outages.profile("Ben")
    revoked = ControlAction.objects.get(referrer=ben, rule="training.grace")
    assert revoked.run_date == datetime.date(2025, 8, 25)
