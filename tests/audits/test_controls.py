"""`audit.overdue` and `feedback.threshold` in the nightly control run: by condition, exactly
once, citing the procedure version and rule, caught up after missed nights."""

import datetime

import pytest

from audits.models import AuditCycle, InappropriateReferral
from entitlements.models import Entitlement, EntitlementEvent, ProcedureVersion
from tests.training.conftest import add_record
from training.controls import run_controls
from training.models import ControlAction

from .conftest import at, report, schedule, time_machine

D = datetime.date
GRANTED = D(2025, 1, 6)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(at(D(2025, 1, 2)), tick=False) as traveller:
        yield traveller


@pytest.fixture
def live(clock, trust, entitlement, procedure, practitioner, delegate):
    """Priya's entitlement, granted on 6 January 2025 under RDZ procedure v1: audits every 12
    months (20 requests, 90%), 3 upheld reports in 12 months. (Its review is due in 2027.)"""
    rules_version(procedure, audit_frequency_months=12)
    for kind in ("radiation_protection", "contrast_safety", "referral_guidelines"):
        add_record(entitlement.referrer.user, kind, D(2025, 1, 3), verified_by=delegate)
    return entitlement


@pytest.fixture
def entitlement(clock, endorsed_application, delegate):
    from tests.journeys import grant

    clock.move_to(at(GRANTED))
    return grant(endorsed_application, delegate)


def run(clock, day: datetime.date):
    clock.move_to(at(day, 2))
    result = run_controls(on=day)
    assert result.errors == []
    return [(a.rule, a.action) for a in result.actions if a.rule.startswith(("audit", "feedback"))]


def rules_version(procedure: ProcedureVersion, **fields) -> None:
    ProcedureVersion.objects.filter(pk=procedure.pk).update(**fields)
    procedure.refresh_from_db()


# --- audit.overdue --------------------------------------------------------------------------


def test_the_first_audit_is_scheduled_from_the_grant_and_warned_once_when_overdue(
    clock, live, procedure
):
    assert run(clock, D(2025, 1, 7)) == []
    cycle = AuditCycle.objects.get(entitlement=live)
    assert cycle.due_on == D(2026, 1, 6) and cycle.minimum_sample == 20
    assert run(clock, D(2026, 1, 6)) == []  # due today: not yet overdue
    assert run(clock, D(2026, 1, 7)) == [("audit.overdue", "warned")]
    assert run(clock, D(2026, 1, 7)) == []
    assert run(clock, D(2026, 3, 1)) == []  # warn only: never suspended
    live.refresh_from_db()
    assert live.state == "active"
    action = ControlAction.objects.get(rule="audit.overdue")
    assert action.idempotency_key == f"audit.overdue:a{cycle.pk}:warned"
    assert action.procedure_version == procedure
    assert live.referrer.user.notifications.filter(subject__contains="audit was due").count() == 1


def test_the_procedure_that_suspends_does_so_after_its_days_exactly_once(clock, live, procedure):
    rules_version(procedure, audit_overdue_action="suspend", audit_overdue_suspend_after_days=14)
    run(clock, D(2025, 1, 7))
    assert run(clock, D(2026, 1, 7)) == [("audit.overdue", "warned")]
    assert run(clock, D(2026, 1, 20)) == []  # 14 days after the due date: not yet
    assert run(clock, D(2026, 1, 21)) == [("audit.overdue", "suspended")]
    assert run(clock, D(2026, 1, 21)) == []
    live.refresh_from_db()
    assert live.state == "suspended"
    event = EntitlementEvent.objects.get(entitlement=live, action="suspended")
    assert (event.procedure_version, event.rule) == (procedure, "audit.overdue")
    assert event.actor is None


def test_a_run_after_missed_nights_warns_and_suspends_once(clock, live, procedure):
    rules_version(procedure, audit_overdue_action="suspend", audit_overdue_suspend_after_days=14)
    run(clock, D(2025, 1, 7))
    assert run(clock, D(2026, 2, 1)) == [
        ("audit.overdue", "warned"),
        ("audit.overdue", "suspended"),
    ]
    assert run(clock, D(2026, 2, 2)) == []
    assert run(clock, D(2026, 2, 1)) == []


def test_a_submitted_audit_is_never_overdue(clock, live, procedure, referrer):
    rules_version(procedure, audit_overdue_action="suspend", audit_overdue_suspend_after_days=14)
    from django.core.files.uploadedfile import SimpleUploadedFile

    from audits import services

    run(clock, D(2025, 1, 7))
    cycle = AuditCycle.objects.get(entitlement=live)
    AuditCycle.objects.filter(pk=cycle.pk).update(minimum_sample=1)
    clock.move_to(at(D(2025, 12, 1)))
    extract = (
        "request_date,examination_code,patient_age,setting,clinical_indication,"
        "referrer_registration\n2025-03-01,XCHES,40,ED,Rib fracture?,71A2998E\n"
    )
    services.audit_extract_upload(
        cycle=cycle, by=referrer, file=SimpleUploadedFile("x.csv", extract.encode())
    )
    services.audit_cycle_submit(cycle=cycle, by=referrer, reflection="In scope throughout.")
    assert run(clock, D(2026, 3, 1)) == []
    assert AuditCycle.objects.get(entitlement=live, number=2).due_on == D(2027, 1, 6)


def test_a_variation_keeps_the_audit_due_date(clock, live, procedure, referrer, delegate):
    from .conftest import vary

    run(clock, D(2025, 1, 7))
    clock.move_to(at(D(2025, 6, 1)))
    second = vary(live, referrer=referrer, delegate=delegate)
    schedule(live.organisation, procedure)
    assert AuditCycle.objects.get(entitlement=second).due_on == D(2026, 1, 6)


# --- feedback.threshold ---------------------------------------------------------------------


@pytest.fixture
def reporting(clock, live, procedure, practitioner, delegate, referrer, catalogue):
    """Suspend at 3 upheld reports about requests within 12 months (audits out of the way)."""
    rules_version(procedure, feedback_action="suspend", audit_frequency_months=60)

    def add(referred_on: datetime.date, upheld=True):
        clock.move_to(at(max(referred_on, D(2025, 1, 7)) + datetime.timedelta(days=1)))
        return report(
            organisation=live.organisation,
            practitioner=practitioner,
            delegate=delegate,
            referrer=referrer,
            examination=catalogue["ct_head"],
            referred_on=referred_on,
            upheld=upheld,
        )

    return add


def test_the_threshold_suspends_on_the_nth_upheld_report_only(clock, live, reporting, procedure):
    reporting(D(2025, 1, 10))  # outside the window by 1 June 2026
    reporting(D(2025, 8, 1))
    reporting(D(2025, 9, 1), upheld=False)  # not upheld: never counts
    reporting(D(2025, 10, 1), upheld=None)  # not yet reviewed: never counts
    reporting(D(2026, 3, 1))
    assert run(clock, D(2026, 6, 1)) == []  # N-1 in the window
    live.refresh_from_db()
    assert live.state == "active"

    third = reporting(D(2026, 6, 2))
    assert run(clock, D(2026, 6, 3)) == [("feedback.threshold", "suspended")]
    live.refresh_from_db()
    assert live.state == "suspended"
    event = EntitlementEvent.objects.get(entitlement=live, action="suspended")
    assert (event.procedure_version, event.rule) == (procedure, "feedback.threshold")
    assert "3 upheld inappropriate-referral reports" in event.reason
    counted = InappropriateReferral.objects.exclude(counted_in="")
    assert {r.referred_on for r in counted} == {D(2025, 8, 1), D(2026, 3, 1), third.referred_on}
    assert run(clock, D(2026, 6, 3)) == []
    assert run(clock, D(2026, 6, 10)) == []


def test_reports_that_left_the_window_do_not_count(clock, live, reporting):
    reporting(D(2025, 2, 1))
    reporting(D(2025, 3, 1))
    reporting(D(2026, 2, 15))
    assert run(clock, D(2026, 3, 2)) == []  # 1 February and 1 March 2025 are over 12 months ago
    live.refresh_from_db()
    assert live.state == "active"


def test_a_run_after_missed_nights_acts_once(clock, live, reporting):
    for day in (D(2025, 5, 1), D(2025, 6, 1), D(2025, 7, 1)):
        reporting(day)
    assert run(clock, D(2025, 7, 20)) == [("feedback.threshold", "suspended")]
    assert run(clock, D(2025, 7, 20)) == []
    assert Entitlement.objects.get(pk=live.pk).state == "suspended"


def test_the_flag_policy_tells_the_delegates_and_suspends_nothing(
    clock, live, reporting, procedure, delegate
):
    rules_version(procedure, feedback_action="flag")
    for day in (D(2025, 5, 1), D(2025, 6, 1), D(2025, 7, 1)):
        reporting(day)
    assert run(clock, D(2025, 7, 20)) == [("feedback.threshold", "flagged")]
    assert Entitlement.objects.get(pk=live.pk).state == "active"
    assert delegate.notifications.filter(subject__contains="flagged for review").count() == 1
    reporting(D(2025, 8, 1))  # one more: the threshold must be reached again
    assert run(clock, D(2025, 8, 5)) == []


def test_a_dry_run_changes_nothing(clock, live, reporting):
    for day in (D(2025, 5, 1), D(2025, 6, 1), D(2025, 7, 1)):
        reporting(day)
    clock.move_to(at(D(2025, 7, 20), 2))
    result = run_controls(on=D(2025, 7, 20), dry_run=True)
    assert [
        (a.rule, a.action, a.would) for a in result.actions if a.rule == "feedback.threshold"
    ] == [("feedback.threshold", "suspended", True)]
    assert Entitlement.objects.get(pk=live.pk).state == "active"
    assert not InappropriateReferral.objects.exclude(counted_in="").exists()
    assert run(clock, D(2025, 7, 20)) == [("feedback.threshold", "suspended")]
