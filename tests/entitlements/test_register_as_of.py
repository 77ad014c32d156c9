"""The register as of a past date: the answer the register would have given at the end of that
day (Europe/London), rebuilt from history, with who had decided the scope, under which
procedure version, and the letter then current.

The story (2026): Priya is granted XR chest and CT head on 1 January by Dana Delegate under
procedure v1; on 10 January a variation narrows her scope to XR chest, granted by Dev
Delegate under v2 (in force from 5 January); on 20 January XR chest is suspended; on
30 January it is reinstated; on 9 February (day 40) the entitlement is revoked.
"""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from entitlements import services
from entitlements.models import (
    Entitlement,
    EntitlementState,
    Letter,
    ScopeItemState,
)
from entitlements.selectors import entitlement_check
from referrers import services as people_services
from tests.factories import UserFactory
from tests.journeys import apply, grant, pdf_upload, procedure_at

LONDON = ZoneInfo("Europe/London")
DAY_1 = datetime.date(2026, 1, 1)
SUSPENSION = "Radiation protection training could not be verified"


def day(n: int) -> datetime.date:
    return DAY_1 + datetime.timedelta(days=n - 1)


def at(n: int, hour: int = 10) -> datetime.datetime:
    return datetime.datetime.combine(day(n), datetime.time(hour), LONDON)


@pytest.fixture(autouse=True)
def clock():
    """Everything, the people included, is made on 31 December 2025; the story moves on."""
    with time_machine.travel(at(0, 9), tick=False) as traveller:
        yield traveller


def check(organisation, n=None, *, code="XCHES", age=40, setting="ED", as_of=None):
    return entitlement_check(
        organisation=organisation,
        regulator="NMC",
        registration_number="71A2998E",
        examination_code=code,
        patient_age=age,
        setting=setting,
        as_of=as_of or (day(n) if n is not None else None),
    )


@pytest.fixture
def story(clock, trust, referrer, supervisor, catalogue, procedure, delegate, org_admin):
    """Run the story to day 45; return what the checks compare against."""
    second = UserFactory(email="dev.delegate@example.nhs.uk", full_name="Dev Delegate")
    people_services.delegate_appointment_create(
        organisation=trust,
        delegate=second,
        valid_from=datetime.date(2025, 1, 1),
        document_reference="Board paper 2025/02",
        by=org_admin,
    )
    version_2 = procedure_at(trust, by=org_admin, effective_from=day(5))

    clock.move_to(at(1))
    application = apply(
        referrer,
        trust,
        [catalogue["xr_chest"], catalogue["ct_head"]],
        supervisor=supervisor,
        until="endorsed",
    )
    first = grant(application, delegate)

    clock.move_to(at(10))
    variation = services.variation_start(entitlement=first, by=referrer)
    services.application_scope_item_remove(
        item=variation.scope_items.get(examination__code="CHEAC"), by=referrer
    )
    services.evidence_add(
        application=variation, by=referrer, upload=pdf_upload(), kind="competency"
    )
    services.application_submit(application=variation, by=referrer)
    services.application_endorse(application=variation, by=supervisor, outcome="endorsed")
    variation.refresh_from_db()
    narrowed = grant(variation, second)
    item = narrowed.scope_items.get()

    clock.move_to(at(20))
    services.entitlement_suspend(
        entitlement=narrowed, by=delegate, reason=SUSPENSION, scope_items=[item]
    )
    clock.move_to(at(30))
    services.entitlement_reinstate(
        entitlement=narrowed, by=delegate, reason="Training record verified", scope_items=[item]
    )
    clock.move_to(at(40))
    services.entitlement_revoke(
        entitlement=narrowed, by=delegate, reason="Repeated referrals outside scope"
    )
    clock.move_to(at(45))
    letters = {
        letter.event.action: letter.verification_code
        for letter in Letter.objects.filter(entitlement=narrowed).select_related("event")
    }
    return {
        "first": first,
        "narrowed": narrowed,
        "item": item,
        "v1": f"RDZ procedure v{procedure.number}",
        "v2": f"RDZ procedure v{version_2.number}",
        "letter_1": Letter.objects.get(entitlement=first).verification_code,
        "letters": letters,
    }


def test_before_the_grant_the_answer_is_no(trust, story):
    answer = check(trust, 0)
    assert answer.entitled is False
    assert answer.as_of == day(0)
    assert answer.referrer is not None
    assert answer.entitlement is None
    assert answer.letter_code == ""
    assert answer.reasons == [
        "Priya Shah was not entitled by Dorset Coast Hospitals NHS Trust to refer for imaging "
        "on 31 December 2025."
    ]


@pytest.mark.parametrize("n", [1, 5, 9])
def test_between_grant_and_variation_the_first_scope_answers(trust, story, n):
    for code in ("XCHES", "CHEAC"):
        answer = check(trust, n, code=code)
        assert answer.entitled is True, answer.reasons
        assert answer.entitlement.pk == story["first"].pk
        assert answer.entitlement.state == EntitlementState.ACTIVE  # as it was then
        assert answer.decided_by == "Dana Delegate"
        assert answer.procedure_version == story["v1"]
        assert answer.letter_code == story["letter_1"]


@pytest.mark.parametrize("n", [10, 15, 19])
def test_after_the_variation_ct_head_is_outside_scope_and_the_new_decision_answers(trust, story, n):
    answer = check(trust, n, code="CHEAC")
    assert answer.entitled is False
    assert (
        f"CT Head with contrast (CHEAC) is outside the scope of Priya Shah's entitlement "
        f"{story['narrowed'].reference}." in answer.reasons
    )
    answer = check(trust, n)
    assert answer.entitled is True
    assert answer.entitlement.pk == story["narrowed"].pk
    assert answer.decided_by == "Dev Delegate"
    assert answer.procedure_version == story["v2"]
    assert answer.letter_code == story["letters"]["granted"]


@pytest.mark.parametrize("n", [20, 25, 29])
def test_while_the_item_was_suspended_the_answer_is_no_with_since_and_why(trust, story, n):
    answer = check(trust, n)
    assert answer.entitled is False
    assert answer.scope_item.pk == story["item"].pk
    assert answer.scope_item.state == ScopeItemState.SUSPENDED
    assert answer.entitlement.state == EntitlementState.ACTIVE
    assert answer.reasons == [
        f"XR Chest (XCHES) on entitlement {story['narrowed'].reference} has been suspended "
        "since 20 January 2026 because radiation protection training could not be verified "
        "(by Dana Delegate)."
    ]
    assert answer.decided_by == "Dev Delegate"
    assert answer.letter_code == story["letters"]["item_suspended"]


@pytest.mark.parametrize("n", [30, 35, 39])
def test_after_reinstatement_the_answer_is_yes_again(trust, story, n):
    answer = check(trust, n)
    assert answer.entitled is True, answer.reasons
    assert answer.scope_item.state == ScopeItemState.ACTIVE
    assert answer.letter_code == story["letters"]["item_reinstated"]
    assert answer.procedure_version == story["v2"]


@pytest.mark.parametrize("n", [40, 44, None])
def test_after_revocation_the_answer_is_no(trust, story, n):
    answer = check(trust, n)
    assert answer.entitled is False
    assert answer.entitlement.pk == story["narrowed"].pk
    assert answer.entitlement.state == EntitlementState.REVOKED
    assert answer.reasons == [
        f"Priya Shah's entitlement {story['narrowed'].reference} was revoked on 9 February "
        "2026 because repeated referrals outside scope. A new entitlement needs a new "
        "application."
    ]
    assert answer.letter_code == story["letters"]["revoked"]


def test_the_end_of_a_day_is_midnight_in_london_not_utc(
    trust, clock, referrer, supervisor, catalogue, procedure, delegate
):
    # 23:30 on 1 July in London is 22:30 UTC: still 1 July for the register.
    clock.move_to(datetime.datetime(2026, 7, 1, 23, 30, tzinfo=LONDON))
    grant(
        apply(referrer, trust, [catalogue["xr_chest"]], supervisor=supervisor, until="endorsed"),
        delegate,
    )
    clock.move_to(datetime.datetime(2026, 7, 3, 9, 0, tzinfo=LONDON))
    assert check(trust, as_of=datetime.date(2026, 6, 30)).entitled is False
    assert check(trust, as_of=datetime.date(2026, 7, 1)).entitled is True


def test_a_registration_lapse_counts_from_the_day_it_was_recorded(trust, clock, story, referrer):
    # A new grant on day 46, then the registration is marked lapsed on day 50.
    clock.move_to(at(50))
    profile = referrer.referrer_profile
    profile.registration_lapsed = True
    profile.save()
    clock.move_to(at(52))
    assert check(trust, 35).entitled is True
    answer = check(trust, 51)
    assert answer.entitled is False
    assert "Priya Shah's NMC registration number 71A2998E has been marked as lapsed." in (
        answer.reasons
    )


def test_group_membership_is_read_as_it_was(
    trust, clock, referrer, supervisor, catalogue, procedure, delegate, org_admin
):
    from .test_register_check import apply_for

    group = services.examination_group_create(
        organisation=trust, name="Plain film", examinations=[catalogue["xr_chest"]], by=org_admin
    )
    clock.move_to(at(1))
    grant(
        apply_for(
            referrer,
            trust,
            [services.ScopeRequest(group=group, age_min=16, settings=("ED",))],
            supervisor=supervisor,
        ),
        delegate,
    )
    clock.move_to(at(5))
    group.examinations.add(catalogue["ct_head"])
    clock.move_to(at(7))
    assert check(trust, 3, code="CHEAC").entitled is False
    assert check(trust, 3, code="XCHES").entitled is True
    assert check(trust, 6, code="CHEAC").entitled is True
    assert check(trust, code="CHEAC").entitled is True


def test_an_as_of_answer_never_changes_the_current_records(trust, story):
    before = list(Entitlement.objects.values_list("id", "state"))
    check(trust, 25)
    assert list(Entitlement.objects.values_list("id", "state")) == before


def test_a_referrer_not_yet_registered_on_the_date_is_unknown_then(trust, clock, story):
    # Everyone in the story was made on 31 December 2025.
    answer = check(trust, as_of=datetime.date(2025, 12, 1))
    assert answer.entitled is False
    assert answer.referrer is None
    assert answer.reasons == [
        "No referrer with NMC registration number 71A2998E was known to this service on "
        "1 December 2025. Check the regulator and the number."
    ]
