"""The entitlement check's now-path in one prepared statement (PostgreSQL) gives the same
answers as the ORM path it replaced, which SQLite still uses.

A register of referrers in every situation the engine explains (suspended whole or in part,
by a person or by a rule; groups; lapsed or expired registration; ended employment; review
overdue; several entitlements; revoked and superseded ones; shared responsibility; another
register; unknown registration and code) is asked many questions both ways, and the answers
must agree in every field the API and the register page show.
"""

import datetime

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from entitlements import services
from entitlements.api.serializers import check_answer_data
from entitlements.models import Entitlement
from entitlements.selectors import entitlement_check, register, register_now
from entitlements.services import Rule, ScopeRequest
from referrers.models import Employment, ReferrerProfile, Role, SharedResponsibilityAgreement
from tests.api.helpers import entitled_referrer
from tests.factories import EmploymentFactory, OrganisationFactory, UserFactory, give_role
from tests.journeys import apply, catalogue_at, grant, pdf_upload

pytestmark = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="the one-statement now-path is PostgreSQL's; elsewhere the ORM path is the only one",
)

REASON = "Contrast safety training record could not be verified"
NOW = datetime.datetime(2026, 3, 2, 12, tzinfo=datetime.UTC)


def ask(organisation, registration: str, code: str, age: int, setting: str):
    regulator, _, number = registration.partition(":")
    return entitlement_check(
        organisation=organisation,
        regulator=regulator,
        registration_number=number,
        examination_code=code,
        patient_age=age,
        setting=setting,
    )


def shown(answer, organisation, registration, code, age, setting) -> dict:
    """Everything the API answers (less the time it was asked) and what the page adds."""
    regulator, _, number = registration.partition(":")
    query = {
        "registration": {"regulator": regulator, "registration_number": number},
        "examination": code,
        "employer": organisation.ods_code,
        "patient_age": age,
        "setting": setting,
    }
    data = check_answer_data(answer, query=query)
    data.pop("checked_at")
    referrer = answer.referrer
    entitlement = answer.entitlement
    item = answer.scope_item
    data["page"] = {
        "on_register": referrer.__dict__.get("on_register") if referrer else None,
        "profession": referrer.get_profession_display() if referrer else None,
        "conditions": answer.conditions,
        "decided_by": answer.decided_by,
        "entitlement": (entitlement.pk, entitlement.state, entitlement.organisation.name)
        if entitlement
        else None,
        "item": (item.pk, item.subject_label, item.age_range_label, item.settings_label)
        if item
        else None,
    }
    return data


@pytest.fixture
def register_of_every_kind(
    trust, other_trust, entitlement, referrer, supervisor, delegate, procedure, catalogue, org_admin
):
    """Referrers in every situation, by registration."""
    people = {"NMC:71A2998E": "scope item suspended by a person"}
    services.entitlement_suspend(
        entitlement=entitlement,
        by=delegate,
        reason=REASON,
        scope_items=[entitlement.scope_items.get(examination__code="CHEAC")],
    )

    def person(number, name, **kwargs):
        made = entitled_referrer(
            trust,
            kwargs.pop("examinations", [catalogue["xr_chest"], catalogue["ct_head"]]),
            delegate=delegate,
            name=name,
            email=f"{number.lower()}@example.nhs.uk",
            registration_number=number,
            **kwargs,
        )
        people[f"NMC:{number}"] = name
        return made

    services.entitlement_suspend(
        entitlement=person("10A0001A", "Whole by rule"),
        by=Rule(procedure, "training.lapse"),
        reason="Radiation protection (IR(ME)R) training expired on 1 March 2026",
    )
    services.entitlement_suspend(
        entitlement=person("10A0002A", "Whole by delegate"), by=delegate, reason=REASON
    )
    group = services.examination_group_create(
        organisation=trust,
        name="Plain film and CT head",
        examinations=[catalogue["xr_chest"], catalogue["ct_head"]],
        by=org_admin,
    )
    grouped = person(
        "10A0003A",
        "Group holder",
        examinations=[
            ScopeRequest(group=group, age_min=18, settings=("ED",), exclusions="Pregnancy"),
            ScopeRequest(examination=catalogue["mr_knee"], age_max=15, settings=("MIU",)),
        ],
    )
    services.entitlement_suspend(
        entitlement=grouped,
        by=Rule(procedure, "registration.lapse"),
        reason="NMC register shows the registration lapsed.",
        scope_items=[grouped.scope_items.get(group=group)],
    )
    person("10A0004A", "Expired registration", registration_expires_on=datetime.date(2026, 1, 1))
    person("10A0005A", "Lapsed registration", registration_lapsed=True)
    ended = person("10A0006A", "Ended employment")
    Employment.objects.filter(pk=ended.employment_id).update(ends_on=datetime.date(2026, 2, 1))
    overdue = person("10A0007A", "Review overdue")
    Entitlement.objects.filter(pk=overdue.pk).update(review_due_on=datetime.date(2026, 3, 1))
    services.entitlement_revoke(
        entitlement=person("10A0008A", "Revoked"), by=delegate, reason="Outside scope"
    )
    services.entitlement_expire(
        entitlement=person("10A0009A", "Expired"),
        by=Rule(procedure, "review.overdue"),
        reason="Review overdue",
    )

    # Several entitlements at the trust, one per employment: one suspended, one live.
    several = person("10A0010A", "Two jobs", examinations=[catalogue["xr_chest"]])
    profile = several.referrer
    second_job = EmploymentFactory(referrer=profile, organisation=trust)
    application = apply(
        profile.user,
        trust,
        [ScopeRequest(examination=catalogue["ct_head"], age_min=0, settings=("OUTPATIENT",))],
        supervisor=UserFactory(email="second.sup@example.nhs.uk", full_name="Second Sup"),
        until="endorsed",
        employment=second_job,
    )
    grant(application, delegate)
    services.entitlement_suspend(entitlement=several, by=delegate, reason=REASON)

    # A variation: the superseded entitlement must not answer.
    varied = person("10A0011A", "Varied")
    variation = services.variation_start(entitlement=varied, by=varied.referrer.user)
    services.application_scope_item_remove(
        item=variation.scope_items.get(examination__code="CHEAC"), by=varied.referrer.user
    )
    services.evidence_add(
        application=variation, by=varied.referrer.user, upload=pdf_upload(), kind="competency"
    )
    services.application_submit(application=variation, by=varied.referrer.user)
    services.application_endorse(
        application=variation, by=varied.employment.clinical_supervisor, outcome="endorsed"
    )
    grant(variation, delegate)

    # Shared responsibility: employed by a practice, entitled by the trust.
    practice = OrganisationFactory(ods_code="Y01234", name="Harbour Surgery", kind="gp_practice")
    SharedResponsibilityAgreement.objects.create(
        imaging_provider=trust,
        referring_organisation=practice,
        valid_from=datetime.date(2025, 1, 1),
        document_reference="SRA-2025-01",
        recorded_by=org_admin,
    )
    person("10A0012A", "Practice nurse", employer=practice)

    # Entitled by another trust only, and employed there.
    catalogue_at(other_trust)
    other = ReferrerProfile.objects.create(
        user=UserFactory(email="elsewhere@example.nhs.uk", full_name="Elsewhere"),
        profession="nurse",
        regulator="NMC",
        registration_number="10A0013A",
        registration_expires_on=datetime.date(2030, 1, 1),
    )
    EmploymentFactory(referrer=other, organisation=other_trust)
    give_role(other.user, other_trust, Role.REFERRER)
    people["NMC:10A0013A"] = "another register"
    people["NMC:99Z9999Z"] = "unknown"
    people["HCPC:71A2998E"] = "unknown under this regulator"
    return people


@time_machine.travel(NOW, tick=False)
def test_the_prepared_statement_and_the_orm_give_the_same_answers(
    register_of_every_kind, trust, other_trust, monkeypatch
):
    ask(trust, "NMC:71A2998E", "XCHES", 40, "ED")  # the first on a connection prepares
    compared = entitled = 0
    for registration in register_of_every_kind:
        for organisation in (trust, other_trust):
            for code in ("XCHES", "CHEAC", "MKNEE", "ZZZZZ"):
                for age, setting in ((40, "ED"), (10, "MIU"), (20, "OUTPATIENT")):
                    question = (organisation, registration, code, age, setting)
                    with CaptureQueriesContext(connection) as queries:
                        fast = ask(*question)
                    assert [q["sql"].split()[0] for q in queries] == ["EXECUTE"]
                    with monkeypatch.context() as orm:
                        orm.setattr(register, "_read_now", register._read_now_orm)
                        slow = ask(*question)
                    assert shown(fast, *question) == shown(slow, *question), question
                    compared += 1
                    entitled += fast.entitled
    assert compared == len(register_of_every_kind) * 2 * 4 * 3
    assert 0 < entitled < compared  # both kinds of answer were compared


def test_a_lookup_is_one_statement_whatever_the_scope(trust, entitlement):
    ask(trust, "NMC:71A2998E", "XCHES", 40, "ED")  # the first on a connection prepares
    with CaptureQueriesContext(connection) as queries:
        answer = ask(trust, "NMC:71A2998E", "XCHES", 40, "ED")
        unknown = ask(trust, "NMC:99Z9999Z", "XCHES", 40, "ED")
    assert answer.entitled is True
    assert unknown.referrer is None and unknown.examination.code == "XCHES"
    assert [q["sql"].split()[0] for q in queries] == ["EXECUTE", "EXECUTE"]
    # What the lookup does not read is deferred, never wrong: touching it loads it.
    assert answer.entitlement.get_deferred_fields() >= {"granted_at", "decision_line"}
    assert answer.entitlement.granted_at == entitlement.granted_at
    assert answer.entitlement.application_id == entitlement.application_id
    assert answer.entitlement.employment.job_title == entitlement.employment.job_title
    assert answer.referrer.user.email == entitlement.referrer.user.email


def test_a_new_connection_prepares_the_statement_again(trust, entitlement):
    ask(trust, "NMC:71A2998E", "XCHES", 40, "ED")
    raw = connection.connection
    assert raw in register_now._prepared
    with connection.cursor() as cursor:
        cursor.execute(f"DEALLOCATE {register_now.STATEMENT}")
    # What a pooler's DISCARD ALL would do: forgotten here, prepared again on the next use.
    register_now._prepared.discard(raw)
    with CaptureQueriesContext(connection) as queries:
        assert ask(trust, "NMC:71A2998E", "XCHES", 40, "ED").entitled is True
    assert [q["sql"].split()[0] for q in queries] == ["PREPARE", "EXECUTE"]


@pytest.mark.django_db(transaction=True)
def test_a_statement_postgresql_lost_is_prepared_again_outside_a_transaction(trust, entitlement):
    ask(trust, "NMC:71A2998E", "XCHES", 40, "ED")
    with connection.cursor() as cursor:
        cursor.execute(f"DEALLOCATE {register_now.STATEMENT}")  # as DISCARD ALL would
    with CaptureQueriesContext(connection) as queries:
        assert ask(trust, "NMC:71A2998E", "XCHES", 40, "ED").entitled is True
    assert [q["sql"].split()[0] for q in queries] == ["EXECUTE", "PREPARE", "EXECUTE"]


def test_unprepared_when_prepared_statements_are_off(trust, entitlement, settings):
    settings.REGISTER_LOOKUP_PREPARED = False
    with CaptureQueriesContext(connection) as queries:
        assert ask(trust, "NMC:71A2998E", "XCHES", 40, "ED").entitled is True
    assert len(queries) == 1 and "71A2998E" in queries[0]["sql"]


def terminate(wrapper) -> None:
    """End `wrapper`'s server process from another connection, as a database restart would."""
    import contextlib

    import psycopg2

    with contextlib.closing(psycopg2.connect(**wrapper.get_connection_params())) as other:
        other.autocommit = True
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(%s)", [wrapper.connection.get_backend_pid()]
            )


@pytest.mark.django_db(transaction=True)
def test_a_kept_connection_is_checked_by_the_lookup_itself(trust, entitlement, monkeypatch):
    """Outside a transaction, on a connection kept from an earlier request, the lookup skips
    Django's health check (a `SELECT 1` round trip) and checks the connection itself: a dead
    one (the database restarted) is replaced and the lookup answered all the same."""
    from django.db import connections

    kept = connections["default"]
    ask(trust, "NMC:71A2998E", "XCHES", 40, "ED")  # prepared on this connection
    kept.health_check_enabled = True  # CONN_HEALTH_CHECKS, as in production
    kept.health_check_done = False  # a new request on the kept connection
    checks = []
    monkeypatch.setattr(kept, "is_usable", lambda: checks.append(1) or True)
    assert ask(trust, "NMC:71A2998E", "XCHES", 40, "ED").entitled is True
    assert checks == []

    terminate(kept)
    kept.health_check_done = False  # the next request
    with CaptureQueriesContext(kept) as queries:
        assert ask(trust, "NMC:71A2998E", "XCHES", 40, "ED").entitled is True
    assert [q["sql"].split()[0] for q in queries] == ["EXECUTE", "PREPARE", "EXECUTE"]
    assert checks == []


@pytest.mark.django_db(transaction=True)
def test_a_dead_connection_in_a_checked_request_is_not_retried(trust, entitlement):
    """Where Django has already checked the connection in this request (or checks are off),
    a connection failing under the lookup is an error (the API's 503), as before."""
    from django.db import OperationalError, connections

    kept = connections["default"]
    ask(trust, "NMC:71A2998E", "XCHES", 40, "ED")
    terminate(kept)
    with pytest.raises(OperationalError):
        ask(trust, "NMC:71A2998E", "XCHES", 40, "ED")
    kept.close()
