"""The register pages: searching the register (now and as of a date) and the answer page.

Delegates, governance leads and IR(ME)R practitioners of the employer see them; nobody else.
Every answer the page gives is recorded (who asked, about whom, what, and the answer); a form
with mistakes answers nothing and records nothing.
"""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from entitlements import services
from entitlements.models import (
    EntitlementKind,
    Letter,
    LookupChannel,
    RegisterLookup,
)
from entitlements.services import ScopeItemData
from tests.factories import (
    DepartmentFactory,
    EmploymentFactory,
    ReferrerProfileFactory,
    UserFactory,
)

LONDON = ZoneInfo("Europe/London")


def text(response) -> str:
    body = response.content.decode()
    main = re.search(r"<main.*?</main>", body, re.S).group(0)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main)).replace("&#39;", "'")


def one_h1(response) -> None:
    assert response.content.decode().count("<h1") == 1


def register(ods="RDZ", **query):
    return reverse("register", args=[ods]), query


def ask(**overrides) -> dict:
    query = {
        "ask": "1",
        "regulator": "NMC",
        "registration_number": "71A2998E",
        "examination": "XCHES",
        "patient_age": "40",
        "setting": "ED",
    }
    query.update(overrides)
    return {key: value for key, value in query.items() if value is not None}


def check_url(ods="RDZ"):
    return reverse("register_check", args=[ods])


# --- Who may see the pages ------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["delegate", "governance_lead", "practitioner"])
def test_delegates_governance_leads_and_practitioners_see_both_pages(
    client, request, persona, entitlement
):
    client.force_login(request.getfixturevalue(persona))
    for url in (reverse("register", args=["RDZ"]), check_url()):
        response = client.get(url)
        assert response.status_code == 200, url
        one_h1(response)


@pytest.mark.parametrize(
    "persona", ["other_trust_delegate", "other_trust_governance_lead", "referrer", "org_admin"]
)
def test_anyone_else_is_refused_and_nothing_is_recorded(
    client, request, persona, entitlement, other_trust
):
    client.force_login(request.getfixturevalue(persona))
    for url, query in (
        (reverse("register", args=["RDZ"]), {}),
        (check_url(), {}),
        (check_url(), ask()),
    ):
        response = client.get(url, query)
        assert response.status_code in (403, 404), (persona, url)
        assert "Priya Shah" not in response.content.decode()
    assert RegisterLookup.objects.count() == 0


def test_signed_out_people_are_sent_to_sign_in(client, entitlement):
    response = client.get(check_url(), ask())
    assert response.status_code == 302
    assert RegisterLookup.objects.count() == 0


def test_an_unknown_organisation_is_a_404(client, delegate):
    client.force_login(delegate)
    assert client.get(reverse("register", args=["ZZZ"])).status_code == 404


def test_the_home_pages_link_to_the_register(
    client, delegate, governance_lead, practitioner, trust
):
    register_url = reverse("register", args=["RDZ"])
    for user, name in (
        (delegate, "delegate_home"),
        (governance_lead, "governance_home"),
        (practitioner, "practitioner_home"),
    ):
        client.force_login(user)
        response = client.get(reverse(name, args=["RDZ"]))
        assert response.status_code == 200
        assert register_url in response.content.decode(), name
        assert check_url() in response.content.decode(), name


# --- The answer page ------------------------------------------------------------------------


def test_a_yes_shows_the_conditions_who_decided_the_letter_and_is_recorded(
    client, practitioner, entitlement, trust
):
    client.force_login(practitioner)
    with time_machine.travel(datetime.datetime(2026, 3, 4, 3, 7, tzinfo=LONDON), tick=False):
        response = client.get(check_url(), ask())
    assert response.status_code == 200
    one_h1(response)
    page = text(response)
    assert "Yes, Priya Shah can request XR Chest (XCHES)" in page
    assert "Entitled" in page
    assert "For a patient aged 40, requested from emergency department." in page
    assert "Suspected fracture or as iRefer" in page and "No pregnancy-possible patients" in page
    assert "clinical indications cannot be checked here" in page
    assert "Dana Delegate" in page
    assert f"RDZ procedure v{entitlement.procedure_version.number}" in page
    letter = Letter.objects.get(entitlement=entitlement)
    assert letter.verification_code in page
    body = response.content.decode()
    assert reverse("letter_check_code", args=[letter.verification_code]) in body
    assert reverse("entitlement_manage", args=["RDZ", entitlement.pk]) in body
    assert "4 Mar 2026, 03:07" in page  # the time of the check, in London
    lookup = RegisterLookup.objects.get()
    assert lookup.asked_by == practitioner
    assert lookup.channel == LookupChannel.PAGE
    assert lookup.organisation == trust
    assert lookup.registration == "NMC:71A2998E"
    assert lookup.referrer == entitlement.referrer
    assert lookup.examination_code == "XCHES"
    assert lookup.examination.code == "XCHES"
    assert lookup.patient_age == 40 and lookup.setting == "ED" and lookup.as_of is None
    assert lookup.entitled is True
    assert lookup.entitlement == entitlement
    assert lookup.reasons[0].startswith("Priya Shah may request XR Chest (XCHES)")
    assert lookup.asked_at == datetime.datetime(2026, 3, 4, 3, 7, tzinfo=LONDON)


def test_a_no_says_why_and_is_recorded(client, practitioner, entitlement):
    client.force_login(practitioner)
    response = client.get(check_url(), ask(patient_age="12"))
    page = text(response)
    assert "No, Priya Shah cannot request XR Chest (XCHES)" in page
    assert "Not entitled" in page
    assert (
        "The patient is 12: under XR Chest (XCHES) the patient must be 16 years and over." in page
    )
    lookup = RegisterLookup.objects.get()
    assert lookup.entitled is False and lookup.patient_age == 12
    assert lookup.reasons == [
        "The patient is 12: under XR Chest (XCHES) the patient must be 16 years and over."
    ]


def test_a_suspended_referrer_is_a_no_with_since_and_why(
    client, practitioner, entitlement, delegate
):
    with time_machine.travel(datetime.datetime(2026, 3, 4, 10, tzinfo=LONDON)):
        services.entitlement_suspend(
            entitlement=entitlement, by=delegate, reason="Radiation protection training lapsed"
        )
    client.force_login(practitioner)
    page = text(client.get(check_url(), ask()))
    assert "No, Priya Shah cannot request" in page
    assert (
        "has been suspended since 4 March 2026 because radiation protection training lapsed" in page
    )


def test_an_unknown_registration_is_a_no_and_is_recorded_too(client, practitioner, entitlement):
    client.force_login(practitioner)
    page = text(client.get(check_url(), ask(registration_number="99Z9999Z")))
    assert "No, NMC 99Z9999Z cannot request XR Chest (XCHES)" in page
    assert "No referrer with NMC registration number 99Z9999Z is known to this service" in page
    lookup = RegisterLookup.objects.get()
    assert lookup.referrer is None
    assert lookup.registration == "NMC:99Z9999Z"
    assert lookup.entitled is False
    assert lookup.asked_by == practitioner


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"regulator": ""}, "regulator", "Select the referrer's professional regulator"),
        ({"regulator": "ABC"}, "regulator", "Select the referrer's professional regulator"),
        (
            {"registration_number": ""},
            "registration_number",
            "Enter the referrer's registration number",
        ),
        (
            {"registration_number": "1234"},
            "registration_number",
            "Enter an NMC registration number in the correct format",
        ),
        ({"examination": ""}, "examination", "Select the examination requested"),
        ({"examination": "NOPE"}, "examination", "Select an examination from the catalogue"),
        ({"patient_age": ""}, "patient_age", "Enter the patient's age in years"),
        ({"patient_age": "forty"}, "patient_age", "Enter the patient's age as a whole number"),
        ({"patient_age": "-1"}, "patient_age", "Enter an age from 0 to 130"),
        ({"patient_age": "131"}, "patient_age", "Enter an age from 0 to 130"),
        ({"setting": None}, "setting", "Select where the request is made from"),
        ({"setting": "BEACH"}, "setting", "Select where the request is made from"),
        (
            {"as_of_day": "1", "as_of_month": "1", "as_of_year": "2099"},
            "as_of",
            "The date must be today or in the past",
        ),
        (
            {"as_of_day": "31", "as_of_month": "2", "as_of_year": "2026"},
            "as_of",
            "Enter a real date",
        ),
        ({"as_of_day": "3", "as_of_month": "", "as_of_year": "2026"}, "as_of", "Enter a full date"),
    ],
)
def test_each_mistake_has_its_own_message_and_nothing_is_recorded(
    client, practitioner, entitlement, overrides, field, message
):
    client.force_login(practitioner)
    response = client.get(check_url(), ask(**overrides))
    assert response.status_code == 200
    body = response.content.decode()
    assert "There is a problem" in body
    assert message in text(response)
    assert f'href="#id_{field}' in body  # the error summary links to the field
    assert "<title>Error:" in body
    assert "cannot request" not in body and "can request" not in body
    assert RegisterLookup.objects.count() == 0


def test_a_link_from_the_register_fills_in_the_referrer_and_asks_nothing(
    client, practitioner, entitlement
):
    client.force_login(practitioner)
    response = client.get(check_url(), {"regulator": "NMC", "registration_number": "71A2998E"})
    body = response.content.decode()
    assert "There is a problem" not in body
    assert 'value="71A2998E"' in body
    assert RegisterLookup.objects.count() == 0


def test_the_answer_page_as_of_a_date_answers_as_then(
    client, practitioner, trust, referrer, supervisor, catalogue, procedure, delegate
):
    from tests.journeys import apply, grant

    with time_machine.travel(datetime.datetime(2026, 1, 1, 9, tzinfo=LONDON), tick=False) as clock:
        # Priya exists from before 1 January; her entitlement is granted on 5 January and
        # revoked on 20 January.
        referrer.referrer_profile.save()
        clock.move_to(datetime.datetime(2026, 1, 5, 9, tzinfo=LONDON))
        entitlement = grant(
            apply(
                referrer, trust, [catalogue["xr_chest"]], supervisor=supervisor, until="endorsed"
            ),
            delegate,
        )
        clock.move_to(datetime.datetime(2026, 1, 20, 9, tzinfo=LONDON))
        services.entitlement_revoke(entitlement=entitlement, by=delegate, reason="Left the trust")
        clock.move_to(datetime.datetime(2026, 2, 1, 9, tzinfo=LONDON))
        client.force_login(practitioner)
        then = text(
            client.get(check_url(), ask(as_of_day="10", as_of_month="1", as_of_year="2026"))
        )
        now = text(client.get(check_url(), ask()))
    assert "Yes, Priya Shah can request XR Chest (XCHES)" in then
    assert "as at the end of 10 January 2026" in then
    assert "No, Priya Shah cannot request XR Chest (XCHES)" in now
    assert "was revoked on 20 January 2026 because left the trust" in now
    first, second = RegisterLookup.objects.order_by("id")
    assert first.as_of == datetime.date(2026, 1, 10) and first.entitled is True
    assert second.as_of is None and second.entitled is False


# --- The register ---------------------------------------------------------------------------


@pytest.fixture
def many(trust, delegate, procedure, catalogue):
    """Make `n` entitlements at the trust, straight through the grant service (the
    application journey is tested elsewhere)."""
    from entitlements.models import Application, ApplicationStatus, Decision, DecisionOutcome
    from referrers.models import DelegateAppointment

    appointment = DelegateAppointment.objects.get(delegate=delegate)
    departments = [DepartmentFactory(organisation=trust, name=name) for name in ("ED", "MIU")]

    def make(n, *, start=0, profession="nurse", level="advanced", examination="xr_chest"):
        made = []
        for i in range(start, start + n):
            profile = ReferrerProfileFactory(
                user=UserFactory(full_name=f"Referrer {i:04d}"),
                registration_number=f"{i % 100:02d}C{i:04d}D",
                profession=profession,
            )
            employment = EmploymentFactory(
                referrer=profile,
                organisation=trust,
                level=level,
                department=departments[i % 2],
            )
            application = Application.objects.create(
                referrer=profile,
                employment=employment,
                organisation=trust,
                kind=EntitlementKind.REFERRAL,
                status=ApplicationStatus.GRANTED,
                service_need="Need",
            )
            decision = Decision.objects.create(
                application=application,
                delegate=delegate,
                appointment=appointment,
                outcome=DecisionOutcome.GRANTED,
                rationale="Meets the criteria",
            )
            made.append(
                services.entitlement_grant(
                    application=application,
                    decision=decision,
                    items=[
                        ScopeItemData(
                            examination_id=catalogue[examination].pk,
                            age_min=16,
                            settings=["ED"],
                        )
                    ],
                    by=delegate,
                    appointment=appointment,
                )
            )
        return made

    return make


def test_the_register_lists_live_entitlements_with_scope_and_links(
    client, governance_lead, entitlement
):
    client.force_login(governance_lead)
    response = client.get(reverse("register", args=["RDZ"]))
    assert response.status_code == 200
    one_h1(response)
    page = text(response)
    assert "1 entitlement" in page
    assert "Priya Shah" in page and "NMC:71A2998E" in page
    assert "Nurse, advanced" in page
    assert entitlement.reference in page and "Active" in page
    assert "XR Chest (XCHES); CT Head with contrast (CHEAC)" in page
    body = response.content.decode()
    assert reverse("entitlement_manage", args=["RDZ", entitlement.pk]) in body
    assert f"{check_url()}?regulator=NMC&amp;registration_number=71A2998E" in body


def test_the_register_filters(client, delegate, many, entitlement, trust):
    ordinary = many(3)
    physio = many(
        1, start=10, profession="physiotherapist", level="consultant", examination="mr_knee"
    )
    services.entitlement_revoke(entitlement=ordinary[0], by=delegate, reason="Left")
    services.entitlement_suspend(
        entitlement=ordinary[1],
        by=delegate,
        reason="Training",
        scope_items=list(ordinary[1].scope_items.all()),
    )
    client.force_login(delegate)

    def names(**query):
        response = client.get(reverse("register", args=["RDZ"]), query)
        assert response.status_code == 200
        return set(re.findall(r"Referrer \d{4}|Priya Shah", text(response)))

    assert names() == {"Priya Shah", "Referrer 0001", "Referrer 0002", "Referrer 0010"}
    assert names(name="priya") == {"Priya Shah"}
    assert names(registration="01C0001D") == {"Referrer 0001"}
    assert names(registration="nmc:01c0001d") == {"Referrer 0001"}
    assert names(registration="HCPC:01C0001D") == set()
    assert names(examination="CHEAC") == {"Priya Shah"}
    assert names(examination="head") == {"Priya Shah"}
    assert names(examination="xches") == {"Priya Shah", "Referrer 0001", "Referrer 0002"}
    assert names(modality="MR") == {"Referrer 0010"}
    assert names(modality="CT") == {"Priya Shah"}
    assert names(profession="physiotherapist") == {"Referrer 0010"}
    assert names(level="consultant") == {"Referrer 0010"}
    ed = trust.departments.get(name="ED")
    assert names(department=str(ed.pk)) == {"Referrer 0002", "Referrer 0010"}
    assert names(state="revoked") == {"Referrer 0000"}
    assert names(state="any") == {
        "Priya Shah",
        "Referrer 0000",
        "Referrer 0001",
        "Referrer 0002",
        "Referrer 0010",
    }
    assert names(state="active", name="Referrer") == {
        "Referrer 0001",
        "Referrer 0002",
        "Referrer 0010",
    }
    page = text(client.get(reverse("register", args=["RDZ"]), {"name": "0001"}))
    assert "1 suspended" in page and "XR Chest (XCHES) (suspended)" in page
    assert physio


def test_a_group_in_scope_is_found_by_its_examinations(
    client, delegate, many, catalogue, org_admin, trust
):
    made = many(1)[0]
    group = services.examination_group_create(
        organisation=trust, name="Head imaging", examinations=[catalogue["ct_head"]], by=org_admin
    )
    made.scope_items.update(examination=None, group=group)  # test data only
    client.force_login(delegate)
    page = text(client.get(reverse("register", args=["RDZ"]), {"examination": "CHEAC"}))
    assert "Referrer 0000" in page and "Head imaging (group)" in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"state": "lost"}, "Select a state from the list"),
        ({"modality": "XX"}, "Select a modality from the list"),
        ({"department": "999999"}, "Select a department from the list"),
        ({"department": "abc"}, "Select a department from the list"),
        ({"profession": "wizard"}, "Select a profession from the list"),
        ({"level": "grand"}, "Select a level of practice from the list"),
        ({"name": "x" * 201}, "Name must be 200 characters or fewer"),
        (
            {"as_of_day": "1", "as_of_month": "1", "as_of_year": "2099"},
            "The date must be today or in the past",
        ),
        ({"as_of_day": "x", "as_of_month": "1", "as_of_year": "2026"}, "Enter the day as a number"),
        (
            {"page": "1", "as_of_day": "30", "as_of_month": "2", "as_of_year": "2026"},
            "Enter a real date",
        ),
    ],
)
def test_invalid_filters_get_an_error_and_no_results(client, delegate, entitlement, query, message):
    client.force_login(delegate)
    response = client.get(reverse("register", args=["RDZ"]), query)
    assert response.status_code == 200
    page = text(response)
    assert "There is a problem" in page and message in page
    assert "Priya Shah" not in page
    assert "<title>Error:" in response.content.decode()


def test_a_page_past_the_end_shows_the_last_page(client, delegate, entitlement):
    client.force_login(delegate)
    response = client.get(reverse("register", args=["RDZ"]), {"page": "99"})
    assert response.status_code == 200
    assert "Priya Shah" in text(response)


def test_the_register_is_paginated(client, delegate, many, settings):
    settings.PAGE_SIZE = 5
    many(12)
    client.force_login(delegate)
    first = client.get(reverse("register", args=["RDZ"]), {"name": "Referrer"})
    page = text(first)
    assert "12 entitlements match your search" in page
    assert "Referrer 0000" in page and "Referrer 0005" not in page
    assert "Page 2 of 3" in page
    third = text(client.get(reverse("register", args=["RDZ"]), {"name": "Referrer", "page": "3"}))
    assert "Referrer 0010" in third and "Referrer 0011" in third and "Referrer 0004" not in third
    assert "Page 2 of 3" in third


def test_the_register_as_of_a_date_lists_what_was_live_then_as_it_was(
    client, delegate, many, trust
):
    with time_machine.travel(datetime.datetime(2026, 1, 5, 9, tzinfo=LONDON), tick=False) as clock:
        first, second = many(2)
        clock.move_to(datetime.datetime(2026, 1, 10, 9, tzinfo=LONDON))
        services.entitlement_suspend(entitlement=first, by=delegate, reason="Training")
        clock.move_to(datetime.datetime(2026, 1, 15, 9, tzinfo=LONDON))
        services.entitlement_revoke(entitlement=first, by=delegate, reason="Left")
        services.entitlement_suspend(
            entitlement=second,
            by=delegate,
            reason="Audit",
            scope_items=list(second.scope_items.all()),
        )
        third = many(1, start=2)[0]
        clock.move_to(datetime.datetime(2026, 2, 1, 9, tzinfo=LONDON))
        client.force_login(delegate)

        def page(day, month=1, **query):
            response = client.get(
                reverse("register", args=["RDZ"]),
                {"as_of_day": str(day), "as_of_month": str(month), "as_of_year": "2026", **query},
            )
            assert response.status_code == 200
            return text(response)

        before = page(4)
        assert (
            "No entitlement matching your search was in force at the end of 4 January 2026"
            in before
        )
        on_7th = page(7)
        assert "2 entitlements as at the end of 7 January 2026" in on_7th
        assert states(on_7th) == {"Referrer 0000": "Active", "Referrer 0001": "Active"}
        assert states(page(12)) == {"Referrer 0000": "Suspended", "Referrer 0001": "Active"}
        on_16th = page(16)
        assert "Referrer 0000" not in on_16th
        assert "Referrer 0001" in on_16th and "XR Chest (XCHES) (suspended)" in on_16th
        assert "Referrer 0002" in on_16th
        assert "Revoked" in page(16, state="revoked") and "Referrer 0000" in page(
            16, state="revoked"
        )
        now = text(client.get(reverse("register", args=["RDZ"])))
    assert "Referrer 0000" not in now and third.reference in now


def states(page: str) -> dict[str, str]:
    """Each referrer's entitlement state, as the register's rows show it."""
    return dict(re.findall(r"ENT-\d+ of (Referrer \d+) (Active|Suspended|Revoked|Expired)", page))


def test_register_queries_do_not_grow_with_rows(
    client, delegate, many, django_assert_max_num_queries, settings
):
    settings.PAGE_SIZE = 50
    client.force_login(delegate)
    made = many(10)
    with django_assert_max_num_queries(12) as small:
        assert client.get(reverse("register", args=["RDZ"])).status_code == 200
    made += many(190, start=10)
    for entitlement in made[::7]:
        services.entitlement_suspend(
            entitlement=entitlement,
            by=delegate,
            reason="Audit",
            scope_items=list(entitlement.scope_items.all()),
        )
    with django_assert_max_num_queries(len(small.captured_queries)) as large:
        response = client.get(reverse("register", args=["RDZ"]), {"page": "2"})
    assert "200 entitlements" in text(response)
    as_of = timezone_today()
    with django_assert_max_num_queries(len(small.captured_queries) + 2):
        response = client.get(
            reverse("register", args=["RDZ"]),
            {
                "as_of_day": as_of.day,
                "as_of_month": as_of.month,
                "as_of_year": as_of.year,
                "modality": "XR",
            },
        )
    assert "200 entitlements as at the end of" in text(response)
    assert large


def timezone_today():
    from django.utils import timezone

    return timezone.localdate()


def test_the_check_page_query_count_is_small(
    client, practitioner, entitlement, django_assert_max_num_queries
):
    client.force_login(practitioner)
    # Warm up once: the first JSON query on a connection makes SQLite check it supports JSON.
    client.get(check_url(), ask())
    with django_assert_max_num_queries(12):
        response = client.get(check_url(), ask())
    assert "Yes, Priya Shah" in text(response)
