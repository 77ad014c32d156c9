"""Exactly once: the same date twice, a dry run, a worker killed mid-run, a failing action,
and the command's output.

The seeded trusts are first run on 1 October 2025, having never run before (a catch-up
after a long outage): eight actions are due at once. Dev's registration expired on 30
September: suspended at both his employers. Ada's, Ben's and Eve's training lapsed more than
the 30-day grace period ago: each lapse is recorded and suspended, then revoked, as the
nightly runs would have done by then.
"""

import datetime
import io

import pytest
import time_machine
from django.core.management import CommandError, call_command

from entitlements import services as entitlement_services
from entitlements.models import Entitlement, EntitlementEvent, Letter, ScopeItem
from referrers.models import Notification
from training.controls import run_controls
from training.models import ControlAction, TrainingLapse
from training.services import lapses as lapse_services

from .conftest import at

DAY = datetime.date(2025, 10, 1)
DUE = [
    ("RDZ", "registration.lapse", "suspended", "Dev"),
    ("RDZ", "training.lapse", "items_suspended", "Ada"),
    ("RDZ", "training.grace", "revoked", "Ada"),
    ("RDZ", "training.lapse", "items_suspended", "Ben"),
    ("RDZ", "training.grace", "revoked", "Ben"),
    ("RDZ", "training.lapse", "items_suspended", "Eve"),
    ("RDZ", "training.grace", "revoked", "Eve"),
    ("RX9", "registration.lapse", "suspended", "Dev"),
]
TOUCHED = (
    ControlAction,
    TrainingLapse,
    EntitlementEvent,
    Letter,
    Notification,
    Entitlement.history.model,
    ScopeItem.history.model,
    TrainingLapse.history.model,
)


@pytest.fixture
def night():
    with time_machine.travel(at(DAY, 2), tick=False):
        yield DAY


def rows() -> dict:
    """How many rows each table the run writes has, and every state it may change."""
    counts = {model.__name__: model.objects.count() for model in TOUCHED}
    counts["states"] = sorted(Entitlement.objects.values_list("pk", "state"))
    counts["items"] = sorted(ScopeItem.objects.values_list("pk", "state"))
    return counts


def ledger(world) -> list[tuple]:
    names = world.referrer_names()
    return [
        (a.organisation.ods_code, a.rule, a.action, names[a.referrer_id])
        for a in ControlAction.objects.select_related("organisation").order_by("id")
    ]


def command(*args) -> list[str]:
    out = io.StringIO()
    call_command("run_controls", *args, stdout=out)
    return out.getvalue().splitlines()


def test_the_same_date_twice_does_everything_once(world, night):
    first = run_controls(on=night)
    assert [(a.organisation, a.rule, a.action) for a in first.actions] == [d[:3] for d in DUE]
    assert ledger(world) == DUE
    after_first = rows()

    second = run_controls(on=night)

    assert second.count == 0 and second.errors == []
    assert rows() == after_first
    # Every entitlement change carries its ledger key, once.
    for action in ControlAction.objects.all():
        assert EntitlementEvent.objects.filter(idempotency_key=action.idempotency_key).count() == 1


def test_a_dry_run_changes_nothing_and_says_what_the_run_will_do(world, night):
    before = rows()

    dry = command("--date", night.isoformat(), "--dry-run")

    assert rows() == before
    assert dry[-1] == "actions: 8"
    real = command("--date", night.isoformat())
    assert real[-1] == "actions: 8"
    assert dry[:-1] == [f"would {line}" for line in real[:-1]]
    assert real[1] == (
        f"RDZ training.lapse items_suspended {world.entitlements['Ada'].reference} (Ada "
        "Contrast): Contrast safety training lapsed on 11 May 2025: the verified record expired "
        "on 10 May 2025; suspended CT Head with contrast (CHEAC)"
    )
    assert command("--date", night.isoformat()) == ["actions: 0"]


def test_the_command_runs_one_organisation_and_refuses_what_it_cannot_read(world, night):
    lines = command("--date", night.isoformat(), "--organisation", "rx9")
    assert lines == [
        f"RX9 registration.lapse suspended {world.entitlements['Dev@second'].reference} (Dev "
        "Registration): Professional registration "
        f"{world.profile('Dev').registration} expired on 30 September 2025; suspended the "
        "entitlement",
        "actions: 1",
    ]
    with pytest.raises(CommandError, match="Give the date as YYYY-MM-DD, not 1/10/2025"):
        command("--date", "1/10/2025")
    with pytest.raises(CommandError, match="No organisation has the ODS code ZZZ"):
        command("--organisation", "ZZZ")


def test_the_command_runs_today_by_default(world, night):
    assert command()[-1] == "actions: 8"
    assert set(ControlAction.objects.values_list("run_date", flat=True)) == {night}


class WorkerKilled(BaseException):
    """What a killed worker looks like from inside: nothing after it runs."""


def test_a_worker_killed_mid_action_leaves_nothing_half_done(world, night, monkeypatch):
    real_open = lapse_services.lapse_open
    opened = []

    def killed_on_the_second(**kwargs):
        # The entitlement has already been suspended (event, letter, notifications) by now.
        if len(opened) == 1:
            raise WorkerKilled
        opened.append(kwargs["entitlement"].pk)
        return real_open(**kwargs)

    monkeypatch.setattr(lapse_services, "lapse_open", killed_on_the_second)
    with pytest.raises(WorkerKilled):
        run_controls(on=night)

    # Dev's suspension and Ada's lapse and revocation were done whole; Ben's lapse was not
    # done at all.
    assert ledger(world) == DUE[:3]
    ben = world.entitlements["Ben"]
    assert not EntitlementEvent.objects.filter(entitlement=ben).exclude(action="granted").exists()
    assert not TrainingLapse.objects.filter(entitlement=ben).exists()
    assert set(ScopeItem.objects.filter(entitlement=ben).values_list("state", flat=True)) == {
        "active"
    }

    monkeypatch.setattr(lapse_services, "lapse_open", real_open)
    rerun = run_controls(on=night)

    assert [(a.organisation, a.rule, a.action) for a in rerun.actions] == [d[:3] for d in DUE[3:]]
    assert ledger(world) == DUE
    for action in ControlAction.objects.all():
        assert EntitlementEvent.objects.filter(idempotency_key=action.idempotency_key).count() == 1
    assert TrainingLapse.objects.count() == 3


def test_a_failing_action_is_reported_and_the_others_are_still_taken(world, night, monkeypatch):
    real_suspend = entitlement_services.entitlement_suspend
    ben = world.entitlements["Ben"]

    def fails_for_ben(*, entitlement, **kwargs):
        if entitlement.pk == ben.pk:
            raise ValueError("the letter template is broken")
        return real_suspend(entitlement=entitlement, **kwargs)

    monkeypatch.setattr(entitlement_services, "entitlement_suspend", fails_for_ben)
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 action"):
        call_command("run_controls", "--date", night.isoformat(), stdout=out, stderr=out)

    assert "actions: 6" in out.getvalue()
    assert "the letter template is broken" in out.getvalue()
    assert ledger(world) == [d for d in DUE if d[3] != "Ben"]

    monkeypatch.setattr(entitlement_services, "entitlement_suspend", real_suspend)
    rerun = run_controls(on=night)
    assert [(a.rule, a.subject) for a in rerun.actions] == [
        ("training.lapse", f"{ben.reference} (Ben Never)"),
        ("training.grace", f"{ben.reference} (Ben Never)"),
    ]
