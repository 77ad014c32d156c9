"""GET /api/v1/entitlement-check: the answer, its reasons, bad parameters, failing closed.

Priya Shah (NMC 71A2998E) is entitled by Dorset Coast (RDZ) to request XR chest and CT head
for patients 16 and over from ED and MIU (the `entitlement` fixture); the RIS of RDZ asks.
"""

import datetime

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.db.utils import OperationalError
from django.test.utils import CaptureQueriesContext

from entitlements import services
from entitlements.models import LookupChannel, RegisterLookup

from .helpers import CHECK_URL, ask, bearer, clone_entitlements, database_failing


@pytest.fixture(autouse=True)
def empty_lookup_queue():
    """Lookups queued by one test belong to its rolled-back database: none outlive it."""
    from entitlements.services import register

    def empty():
        if django_settings.REDIS_URL:
            import redis

            redis.Redis.from_url(django_settings.REDIS_URL).delete(register._keys()[0])

    empty()
    yield
    empty()


# --- Yes and no --------------------------------------------------------------------------------


def test_inside_scope_is_a_yes_with_the_scope_item_and_its_conditions(
    client, trust, entitlement, make_client
):
    api_client, token = make_client(trust)

    response = ask(client, token)

    assert response.status_code == 200
    body = response.json()
    assert body["entitled"] is True
    assert body["reasons"][0].startswith(
        f"Priya Shah may request XR Chest (XCHES) under entitlement {entitlement.reference}"
    )
    assert body["entitlement"]["id"] == entitlement.pk
    assert body["entitlement"]["reference"] == entitlement.reference
    assert body["entitlement"]["state"] == "active"
    assert body["entitlement"]["decided_by"] == "Dana Delegate"
    assert body["scope_item"]["subject"] == "XR Chest (XCHES)"
    assert body["scope_item"]["conditions"]["age_min"] == 16
    assert body["scope_item"]["conditions"]["age_max"] is None
    assert body["scope_item"]["conditions"]["settings"] == ["ED", "MIU"]
    assert body["referrer"] == {
        "name": "Priya Shah",
        "profession": "nurse",
        "registration": "NMC:71A2998E",
    }
    assert body["examination"]["code"] == "XCHES"
    assert body["checked_at"]

    lookup = RegisterLookup.objects.get()
    assert lookup.channel == LookupChannel.API
    assert lookup.api_client == api_client
    assert lookup.asked_by is None
    assert lookup.organisation == trust
    assert lookup.entitled is True
    assert lookup.registration == "NMC:71A2998E"
    assert lookup.examination_code == "XCHES"
    assert lookup.patient_age == 40
    assert lookup.setting == "ED"
    assert lookup.entitlement == entitlement


def test_parameters_are_read_the_way_systems_send_them(client, trust, entitlement, make_client):
    _, token = make_client(trust)
    response = ask(
        client,
        token,
        registration="nmc:71a 2998e",
        examination="xches",
        employer="rdz",
        setting="ed",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["entitled"] is True
    assert response.json()["registration"] == "NMC:71A2998E"


def test_outside_scope_is_a_no_with_reasons(client, trust, entitlement, make_client):
    _, token = make_client(trust)

    response = ask(client, token, examination="MKNEE")

    body = response.json()
    assert response.status_code == 200
    assert body["entitled"] is False
    assert (
        f"MR Knee (MKNEE) is outside the scope of Priya Shah's entitlement {entitlement.reference}."
        in body["reasons"]
    )
    assert RegisterLookup.objects.get().entitled is False


def test_a_setting_and_an_age_outside_the_item_are_a_no_saying_both(
    client, trust, entitlement, make_client
):
    _, token = make_client(trust)

    body = ask(client, token, patient_age="12", setting="OUTPATIENT").json()

    assert body["entitled"] is False
    said = " ".join(body["reasons"])
    assert "The patient is 12" in said
    assert "may not be requested from outpatients" in said
    assert body["scope_item"]["subject"] == "XR Chest (XCHES)"


def test_a_suspended_entitlement_is_a_no(client, trust, entitlement, delegate, make_client):
    services.entitlement_suspend(entitlement=entitlement, by=delegate, reason="Under review")
    _, token = make_client(trust)

    body = ask(client, token).json()

    assert body["entitled"] is False
    assert body["entitlement"]["state"] == "suspended"


def test_as_of_a_past_date_answers_as_the_register_stood(client, trust, entitlement, make_client):
    _, token = make_client(trust)
    today = datetime.date.today()

    body = ask(client, token, as_of=today.isoformat()).json()

    assert body["entitled"] is True
    assert body["as_of"] == today.isoformat()
    assert RegisterLookup.objects.get().as_of == today


def test_an_unknown_registration_is_a_no(client, trust, entitlement, make_client):
    _, token = make_client(trust)
    body = ask(client, token, registration="NMC:99Z9999Z").json()
    assert body["entitled"] is False
    assert body["referrer"] is None
    assert RegisterLookup.objects.get().entitled is False


# --- Bad parameters: 400, one message each, nothing recorded -----------------------------------

TOMORROW = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("registration", None, "Enter the referrer's registration as REGULATOR:NUMBER"),
        ("registration", "", "Enter the referrer's registration as REGULATOR:NUMBER"),
        ("registration", "71A2998E", "Enter the registration as REGULATOR:NUMBER"),
        ("registration", "XYZ:71A2998E", "where the regulator is HCPC, NMC, GPhC"),
        ("registration", "NMC:12345", "Enter an NMC registration number in the correct format"),
        ("registration", "GMC:12AB", "Enter a GMC registration number in the correct format"),
        ("examination", None, "Enter the examination code"),
        ("examination", "X CHES", "Enter the examination code without spaces"),
        ("examination", "X" * 17, "16 characters or fewer"),
        ("employer", None, "Enter the ODS code of the employer"),
        ("employer", "R!Z", "Enter an ODS code of 3 to 6 letters or digits"),
        ("patient_age", None, "Enter the patient's age in whole years, from 0 to 130"),
        ("patient_age", "forty", "Enter the patient's age in whole years, from 0 to 130"),
        ("patient_age", "-1", "Enter the patient's age in whole years, from 0 to 130"),
        ("patient_age", "131", "Enter the patient's age in whole years, from 0 to 130"),
        ("patient_age", "40.5", "Enter the patient's age in whole years, from 0 to 130"),
        ("setting", None, "Enter the care setting: ED, MIU, OUTPATIENT, COMMUNITY or INPATIENT"),
        ("setting", "WARD", "Enter the care setting: ED, MIU, OUTPATIENT, COMMUNITY or INPATIENT"),
        ("as_of", "2026-13-01", "Enter the date as YYYY-MM-DD"),
        ("as_of", "1/3/2026", "Enter the date as YYYY-MM-DD"),
        ("as_of", TOMORROW, "The date must be today or in the past"),
    ],
)
def test_each_bad_parameter_is_a_400_with_its_own_message_and_nothing_recorded(
    client, trust, entitlement, make_client, name, value, message
):
    _, token = make_client(trust)

    response = ask(client, token, **{name: value})

    assert response.status_code == 400
    body = response.json()
    assert body["entitled"] is False
    assert list(body["errors"]) == [name]
    assert message in body["errors"][name]
    assert not RegisterLookup.objects.exists()


def test_every_bad_parameter_gets_a_message_at_once(client, trust, make_client):
    _, token = make_client(trust)

    response = client.get(CHECK_URL, {"patient_age": "old"}, **bearer(token))

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"registration", "examination", "employer", "patient_age", "setting"}
    assert all(isinstance(message, str) and message for message in errors.values())
    assert not RegisterLookup.objects.exists()


def test_another_employers_register_is_refused_and_nothing_recorded(
    client, trust, other_trust, entitlement, make_client
):
    _, token = make_client(trust)

    response = ask(client, token, employer="RX9")

    assert response.status_code == 403
    assert response.json() == {
        "entitled": False,
        "message": "This client can ask only the register of Dorset Coast Hospitals NHS Trust "
        "(RDZ), not RX9",
    }
    assert not RegisterLookup.objects.exists()


# --- Failing closed: the database cannot be reached ---------------------------------------------


def test_database_unreachable_is_a_503_never_entitled(client, trust, entitlement, make_client):
    _, token = make_client(trust)

    with database_failing():
        response = ask(client, token)

    assert response.status_code == 503
    assert response.json()["entitled"] is False
    assert "cannot be reached" in response.json()["message"]
    assert response["Retry-After"] == "30"


def test_database_lost_after_authenticating_is_a_503_never_entitled(
    client, trust, entitlement, make_client
):
    """The token is read (and last used noted); every read of the register then fails."""
    _, token = make_client(trust)
    seen = []

    def fail_after_the_token(execute, sql, params, many, context):
        seen.append(sql)
        if "apiclient" in sql.lower():
            return execute(sql, params, many, context)
        raise OperationalError("server closed the connection unexpectedly")

    with database_failing(fail_after_the_token):
        response = ask(client, token)

    assert response.status_code == 503
    assert response.json()["entitled"] is False
    assert any("apiclient" in sql.lower() for sql in seen)
    assert any("apiclient" not in sql.lower() for sql in seen)  # the register was asked
    assert not RegisterLookup.objects.exists()


def test_database_failing_while_recording_is_a_503_never_entitled(
    client, trust, entitlement, make_client
):
    """An answer that cannot be put on record is not given."""
    _, token = make_client(trust)

    def fail_the_record(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("INSERT") and "registerlookup" in sql.lower():
            raise OperationalError("could not write")
        return execute(sql, params, many, context)

    with database_failing(fail_the_record):
        response = ask(client, token)

    assert response.status_code == 503
    assert response.json()["entitled"] is False


@pytest.mark.django_db(transaction=True)
def test_database_at_a_closed_port_is_a_503_never_entitled(client, trust, entitlement, make_client):
    """The real thing: the connection points at a port where nothing listens."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite has no server to point at a closed port (PostgreSQL runs this)")
    _, token = make_client(trust)
    assert ask(client, token).json()["entitled"] is True
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["HOST"] = "127.0.0.1"
    connection.settings_dict["PORT"] = "1"
    try:
        response = ask(client, token)
    finally:
        connection.close()
        connection.settings_dict.update(saved)
    assert response.status_code == 503
    assert response.json()["entitled"] is False
    assert ask(client, token).json()["entitled"] is True  # and back once it is reachable


# --- Reads ---------------------------------------------------------------------------------------


def _reads() -> int:
    """Statements a lookup reads with: one prepared statement on PostgreSQL (the referrer,
    the examination and the scope items together), two ORM queries elsewhere."""
    return 1 if connection.vendor == "postgresql" else 2


def _queue_on(settings) -> bool:
    """The lookup queue, on where there is Redis to queue in (as in production)."""
    settings.REGISTER_LOOKUP_QUEUE = bool(settings.REDIS_URL)
    return settings.REGISTER_LOOKUP_QUEUE


@pytest.mark.parametrize("rows", [10, 1000])
def test_a_check_costs_one_statement_on_postgresql_whatever_the_size_of_the_register(
    client, trust, entitlement, make_client, settings, rows
):
    """The referrer (with the examination and whether they are on this register) and the
    scope items: one statement on PostgreSQL, two queries elsewhere. The token's client comes
    from the cache after the first call and, with Redis, the record goes through the lookup
    queue; without Redis it is written at once (a savepoint, the INSERT and its release
    inside the test's transaction)."""
    clone_entitlements(entitlement, rows - 1)
    queued = _queue_on(settings)
    _, token = make_client(trust)
    ask(client, token)  # the client is cached, and its last use noted, on the first call

    with CaptureQueriesContext(connection) as queries:
        response = ask(client, token, registration="NMC:71A2998E")

    assert response.json()["entitled"] is True
    reads = [
        q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("SELECT", "EXECUTE"))
    ]
    assert len(reads) == _reads()
    assert len(queries) == _reads() + (0 if queued else 3)
    if queued:
        assert services.register_lookups_flush() == 2
    assert RegisterLookup.objects.filter(entitled=True).count() == 2


def test_a_referrer_of_another_register_costs_no_extra_query(
    client, trust, other_trust, entitlement, make_client, settings
):
    """Asking about someone the client's organisation neither entitled nor employs: a no that
    says nothing about them, in no more reads than any lookup (whether they are on the
    register rides on the referrer's row)."""
    from referrers.models import Employment

    Employment.objects.filter(referrer=entitlement.referrer).update(organisation=other_trust)
    entitlement.__class__.objects.filter(pk=entitlement.pk).update(organisation=other_trust)
    queued = _queue_on(settings)
    _, token = make_client(trust)
    ask(client, token)

    with CaptureQueriesContext(connection) as queries:
        body = ask(client, token).json()

    assert body["entitled"] is False
    assert body["referrer"] is None
    assert "is on the register of Dorset Coast" in body["reasons"][0]
    assert len(queries) == _reads() + (0 if queued else 3)


# --- The lookup queue (Redis) ----------------------------------------------------------------

needs_redis = pytest.mark.skipif(
    not django_settings.REDIS_URL, reason="the lookup queue is in Redis: set REDIS_URL"
)


@needs_redis
def test_a_queued_lookup_is_recorded_once_by_the_flush(
    client, trust, entitlement, make_client, settings
):
    settings.REGISTER_LOOKUP_QUEUE = True
    api_client, token = make_client(trust)

    assert ask(client, token).json()["entitled"] is True
    ask(client, token, examination="CHEAD", patient_age="10")

    assert not RegisterLookup.objects.exists()  # on its way, not yet in the database
    assert services.register_lookups_flush() == 2
    assert services.register_lookups_flush() == 0
    lookups = list(RegisterLookup.objects.order_by("asked_at", "id"))
    assert [lookup.entitled for lookup in lookups] == [True, False]
    first = lookups[0]
    assert (first.api_client, first.channel, first.registration) == (
        api_client,
        LookupChannel.API,
        "NMC:71A2998E",
    )
    assert first.referrer == entitlement.referrer
    assert first.entitlement == entitlement
    assert first.reasons and first.queue_key is not None
    assert lookups[1].patient_age == 10


@needs_redis
def test_a_flush_that_dies_before_trimming_the_queue_loses_and_doubles_nothing(
    client, trust, entitlement, make_client, settings, monkeypatch
):
    """The batch is committed, then the process dies before taking it off the list: the next
    flush inserts the same lookups again, and their keys make that a no-op."""
    from entitlements.services import register

    settings.REGISTER_LOOKUP_QUEUE = True
    _, token = make_client(trust)
    for age in ("20", "30", "40"):
        ask(client, token, patient_age=age)
    real = register._redis()

    class DiesBeforeTrimming:
        def __getattr__(self, name):
            if name == "ltrim":
                raise ConnectionError("the worker was killed")
            return getattr(real, name)

    monkeypatch.setattr(register, "_redis", DiesBeforeTrimming)
    with pytest.raises(ConnectionError):
        services.register_lookups_flush()
    assert RegisterLookup.objects.count() == 3
    monkeypatch.setattr(register, "_redis", lambda: real)

    services.register_lookups_flush()

    assert sorted(RegisterLookup.objects.values_list("patient_age", flat=True)) == [20, 30, 40]
    assert register.register_lookups_queued() == 0


def test_a_lookup_that_cannot_be_queued_is_written_at_once(
    client, trust, entitlement, make_client, settings, monkeypatch
):
    from entitlements.services import register

    settings.REGISTER_LOOKUP_QUEUE = True
    settings.REDIS_URL = settings.REDIS_URL or "redis://127.0.0.1:1/0"

    class Down:
        def rpush(self, *args):
            raise ConnectionError("Redis is down")

    monkeypatch.setattr(register, "_redis", Down)
    _, token = make_client(trust)

    assert ask(client, token).json()["entitled"] is True

    lookup = RegisterLookup.objects.get()
    assert lookup.entitled is True
    assert lookup.queue_key is None
