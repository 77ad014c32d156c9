"""Per-client API tokens: made once, stored as a hash, scoped to one organisation's
register, revocable, and rate limited."""

import datetime
import hashlib
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from entitlements import services
from entitlements.models import ApiClient, RegisterLookup
from referrers import services as people
from tests.factories import OrganisationFactory, UserFactory
from tests.journeys import apply, catalogue_at, grant, procedure_at

from .helpers import ask, bearer, entitled_referrer, fhir_search, nmc

LONDON = ZoneInfo("Europe/London")

# --- Making a client ---------------------------------------------------------------------------


def test_create_api_client_prints_the_token_once_and_keeps_only_its_hash(
    client, trust, entitlement, capsys
):
    call_command(
        "create_api_client", "--organisation", "rdz", "--name", "CRIS", "--rate-limit", "120"
    )

    out = capsys.readouterr().out
    token = next(line for line in out.splitlines() if line.startswith("ent_"))
    assert "will not be shown again" in out
    stored = ApiClient.objects.get()
    assert stored.organisation == trust
    assert stored.name == "CRIS"
    assert stored.rate_limit_per_minute == 120
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert stored.token_prefix == token[:12]
    # The token itself is nowhere in the database row or its history.
    for row in [stored, *stored.history.all()]:
        assert token not in repr(row.__dict__)
    assert ask(client, token).json()["entitled"] is True


def test_create_api_client_refuses_a_second_live_client_of_the_same_name(trust):
    call_command("create_api_client", "--organisation", "RDZ", "--name", "CRIS")
    with pytest.raises(CommandError, match="already has a client called CRIS"):
        call_command("create_api_client", "--organisation", "RDZ", "--name", "CRIS")
    with pytest.raises(CommandError, match="No organisation has the ODS code ZZZ"):
        call_command("create_api_client", "--organisation", "ZZZ", "--name", "CRIS")
    with pytest.raises(CommandError, match="The rate limit must be from 1"):
        call_command(
            "create_api_client", "--organisation", "RDZ", "--name", "PACS", "--rate-limit", "0"
        )


def test_each_token_is_different(trust, make_client):
    tokens = {make_client(trust, name=f"System {i}")[1] for i in range(5)}
    assert len(tokens) == 5
    assert all(token.startswith("ent_") and len(token) > 40 for token in tokens)


# --- Authentication -------------------------------------------------------------------------------


def test_no_token_is_a_401_asking_for_a_bearer_token(client, trust, entitlement):
    response = ask(client, None)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["entitled"] is False
    assert not RegisterLookup.objects.exists()


@pytest.mark.parametrize(
    "header",
    [
        "Bearer ent_not-a-real-token",
        "Bearer",
        "Bearer two parts",
        "Basic dXNlcjpwYXNz",
        "Token ent_abc",
    ],
)
def test_a_bad_token_or_header_is_a_401(client, trust, entitlement, make_client, header):
    make_client(trust)
    response = client.get(
        "/api/v1/entitlement-check", {"registration": "NMC:71A2998E"}, HTTP_AUTHORIZATION=header
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["entitled"] is False
    assert not RegisterLookup.objects.exists()


def test_a_revoked_token_is_refused(client, trust, entitlement, make_client, org_admin):
    api_client, token = make_client(trust)
    assert ask(client, token).status_code == 200

    services.api_client_revoke(client=api_client, by=org_admin)

    response = ask(client, token)
    assert response.status_code == 401
    assert response.json() == {
        "entitled": False,
        "message": "This token has been revoked. Ask the organisation for a new one",
    }
    assert fhir_search(client, token, nmc("71A2998E")).status_code == 401
    api_client.refresh_from_db()
    assert api_client.revoked_by == org_admin
    assert api_client.history.first().history_change_reason == "API client revoked"
    with pytest.raises(ValidationError, match="already revoked"):
        services.api_client_revoke(client=api_client, by=org_admin)


def test_revoke_api_client_command_refuses_the_token_and_frees_the_name(
    client, trust, entitlement, make_client, capsys
):
    _, token = make_client(trust, name="CRIS")

    call_command("revoke_api_client", "--organisation", "RDZ", "--name", "CRIS")

    assert "revoked" in capsys.readouterr().out
    assert ask(client, token).status_code == 401
    _, new_token = make_client(trust, name="CRIS")
    assert ask(client, new_token).status_code == 200
    with pytest.raises(CommandError, match="has no API client called PACS"):
        call_command("revoke_api_client", "--organisation", "RDZ", "--name", "PACS")


def test_last_used_is_noted_at_most_once_a_minute(client, trust, entitlement, make_client):
    api_client, token = make_client(trust)
    start = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=LONDON)
    with time_machine.travel(start, tick=False):
        ask(client, token)
    api_client.refresh_from_db()
    assert api_client.last_used_at == start
    with time_machine.travel(start + datetime.timedelta(seconds=30), tick=False):
        ask(client, token)
    api_client.refresh_from_db()
    assert api_client.last_used_at == start
    with time_machine.travel(start + datetime.timedelta(minutes=2), tick=False):
        ask(client, token)
    api_client.refresh_from_db()
    assert api_client.last_used_at == start + datetime.timedelta(minutes=2)


# --- Scoping: a client sees only its organisation's register ----------------------------------


@pytest.fixture
def other_entitlement(other_trust, other_referrer, other_trust_delegate, other_trust_admin):
    """Sam Other (NMC 82B1234C), entitled by Other Valley (RX9) to XR chest."""
    catalogue = catalogue_at(other_trust)
    procedure_at(other_trust, by=other_trust_admin)
    employment = other_referrer.referrer_profile.employments.get()
    supervisor = UserFactory(email="other.sup@example.nhs.uk", full_name="Olive Supervisor")
    employment.clinical_supervisor = supervisor
    employment.save()
    application = apply(
        other_referrer,
        other_trust,
        [catalogue["xr_chest"]],
        supervisor=supervisor,
        until="endorsed",
    )
    return grant(application, other_trust_delegate)


def test_one_organisations_token_cannot_see_another_organisations_referrer(
    client, trust, other_trust, entitlement, other_entitlement, make_client
):
    _, rdz_token = make_client(trust)
    _, rx9_token = make_client(other_trust)

    # The other trust's own client sees Sam entitled.
    assert ask(client, rx9_token, registration="NMC:82B1234C", employer="RX9").json()["entitled"]

    # Dorset Coast's client asking its own register learns nothing about Sam.
    body = ask(client, rdz_token, registration="NMC:82B1234C").json()
    assert body["entitled"] is False
    assert body["referrer"] is None
    assert body["entitlement"] is None
    assert body["reasons"] == [
        "No referrer with NMC registration number 82B1234C is on the register of "
        "Dorset Coast Hospitals NHS Trust."
    ]
    assert "Sam Other" not in str(body)
    recorded = RegisterLookup.objects.filter(organisation=trust).get()
    assert recorded.referrer is None
    assert "Sam Other" not in str(recorded.reasons)

    # ...and cannot ask the other trust's register at all.
    response = ask(client, rdz_token, registration="NMC:82B1234C", employer="RX9")
    assert response.status_code == 403
    assert "Sam Other" not in response.content.decode()

    # Nor through FHIR.
    bundle = fhir_search(client, rdz_token, nmc("82B1234C")).json()
    assert bundle["total"] == 0
    assert bundle["entry"] == []
    role = f"/api/fhir/PractitionerRole/{other_entitlement.reference}"
    assert client.get(role, **bearer(rdz_token)).status_code == 404
    assert client.get(role, **bearer(rx9_token)).status_code == 200


def test_a_referrer_entitled_under_a_shared_responsibility_agreement_is_on_the_providers_register(
    client, trust, delegate, procedure, catalogue, org_admin, make_client
):
    practice = OrganisationFactory(ods_code="Y01234", name="Harbour Surgery", kind="gp_practice")
    people.agreement_create(
        imaging_provider=trust,
        referring_organisation=practice,
        valid_from=datetime.date(2025, 1, 1),
        document_reference="SRA-2025-01",
        by=org_admin,
    )
    entitled_referrer(
        trust,
        [catalogue["xr_chest"]],
        delegate=delegate,
        name="Gale Practice",
        email="gale@example.nhs.uk",
        registration_number="12B3456C",
        employer=practice,
    )
    _, rdz_token = make_client(trust)
    _, practice_token = make_client(practice)

    body = ask(client, rdz_token, registration="NMC:12B3456C").json()
    assert body["entitled"] is True
    assert body["referrer"]["name"] == "Gale Practice"

    # The practice's own register holds no entitlement of hers, but she works there.
    body = ask(client, practice_token, registration="NMC:12B3456C", employer="Y01234").json()
    assert body["entitled"] is False
    assert body["referrer"]["name"] == "Gale Practice"


# --- Rate limits ---------------------------------------------------------------------------


def test_over_the_clients_limit_is_a_429_with_retry_after(client, trust, entitlement, make_client):
    _, token = make_client(trust, name="Busy", rate_limit=3)
    _, other_token = make_client(trust, name="Quiet", rate_limit=3)
    start = datetime.datetime(2026, 3, 2, 9, 0, 10, tzinfo=LONDON)

    with time_machine.travel(start, tick=False):
        assert [ask(client, token).status_code for _ in range(3)] == [200, 200, 200]
        response = ask(client, token)
        assert response.status_code == 429
        assert response.json()["entitled"] is False
        assert response.json()["message"].startswith("Too many requests for this client")
        assert int(response["Retry-After"]) >= 50
        # One client's limit is its own.
        assert ask(client, other_token).status_code == 200
        assert fhir_search(client, token, nmc("71A2998E")).status_code == 429
    assert RegisterLookup.objects.filter(api_client__name="Busy").count() == 3

    with time_machine.travel(start + datetime.timedelta(minutes=3), tick=False):
        assert ask(client, token).status_code == 200


def test_the_limit_slides_rather_than_resetting_on_the_minute(
    client, trust, entitlement, make_client
):
    _, token = make_client(trust, rate_limit=4)
    end_of_minute = datetime.datetime(2026, 3, 2, 9, 0, 55, tzinfo=LONDON)
    with time_machine.travel(end_of_minute, tick=False):
        assert [ask(client, token).status_code for _ in range(4)] == [200] * 4
    # Ten seconds later, in a new minute, the four just made still count (most of them).
    with time_machine.travel(end_of_minute + datetime.timedelta(seconds=10), tick=False):
        response = ask(client, token)
        assert response.status_code == 429
        assert int(response["Retry-After"]) >= 1


@pytest.mark.skipif(
    not django_settings.REDIS_URL,
    reason="the shared round trip is Redis's; with another cache (REDIS_URL unset) it is two",
)
def test_the_token_and_its_rate_count_are_one_round_trip_and_unknown_tokens_count_nothing(
    client, trust, entitlement, make_client, monkeypatch
):
    from django.core.cache import caches

    from entitlements.api.cache_client import redis_client

    _, token = make_client(trust)
    with time_machine.travel(datetime.datetime(2026, 3, 2, 12, 0, 10, tzinfo=datetime.UTC)):
        ask(client, token)  # the client is cached, and its last use noted
        redis = redis_client(caches["default"])
        sent = []
        original = redis.execute_command

        def counting(*args, **kwargs):
            sent.append(args[0])
            return original(*args, **kwargs)

        monkeypatch.setattr(redis, "execute_command", counting)
        assert ask(client, token).status_code == 200
        assert sent == ["EVALSHA"]  # the client and the count together; nothing else
        counted = set(redis.keys("*api-rate*"))
        assert ask(client, "ent_" + "x" * 40).status_code == 401
        assert set(redis.keys("*api-rate*")) == counted


@pytest.mark.skipif(
    not django_settings.REDIS_URL, reason="Redis failing needs Redis (REDIS_URL unset)"
)
def test_with_redis_failing_the_database_knows_the_token_and_the_limit_lets_it_through(
    client, trust, entitlement, make_client, monkeypatch
):
    from entitlements.api import throttling, token_cache

    _, token = make_client(trust, rate_limit=1)
    assert ask(client, token).status_code == 200  # cached, and counted

    def down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(token_cache, "script", lambda *args: down)
    monkeypatch.setattr(throttling, "redis_client", down)
    for _ in range(3):  # over the limit of 1, but the limit cannot be counted: allowed
        assert ask(client, token).json()["entitled"] is True
