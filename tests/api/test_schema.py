"""The OpenAPI 3 schema at /api/v1/schema, its docs page, and every kind of answer of the
entitlement check validated against it (openapi-core)."""

import datetime
import json
from zoneinfo import ZoneInfo

import pytest
import time_machine
from openapi_core import OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIRequest, DjangoOpenAPIResponse
from openapi_spec_validator import validate

from .helpers import ask, database_failing


@pytest.fixture
def schema(client, db) -> dict:
    response = client.get("/api/v1/schema", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


@pytest.fixture
def openapi(schema) -> OpenAPI:
    return OpenAPI.from_dict(schema)


def valid(openapi: OpenAPI, response) -> dict:
    """Raise unless `response` (and the request that made it) is valid against the schema."""
    request = DjangoOpenAPIRequest(response.wsgi_request)
    openapi.validate_response(request, DjangoOpenAPIResponse(response))
    return response.json()


def test_the_schema_is_valid_openapi_3_and_describes_the_check(schema):
    validate(schema)
    assert schema["openapi"].startswith("3.")
    operation = schema["paths"]["/api/v1/entitlement-check"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {
        "registration",
        "examination",
        "employer",
        "patient_age",
        "setting",
        "as_of",
    }
    assert {"200", "400", "401", "403", "429", "503"} <= set(operation["responses"])
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_the_schema_and_docs_need_no_token_and_no_internet(client, db):
    assert client.get("/api/v1/schema").status_code == 200
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    for cdn in ("cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com"):
        assert cdn not in html
    assert (
        client.get(
            "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
        ).status_code
        == 200
    )


def test_a_yes_is_valid_against_the_schema(client, trust, entitlement, make_client, openapi):
    _, token = make_client(trust)
    body = valid(openapi, ask(client, token))
    assert body["entitled"] is True


@pytest.mark.parametrize(
    "params",
    [
        {"examination": "MKNEE"},
        {"examination": "NOSUCH"},
        {"registration": "NMC:99Z9999Z"},
        {"patient_age": "3", "setting": "COMMUNITY"},
        {"as_of": (datetime.date.today() - datetime.timedelta(days=1)).isoformat()},
    ],
)
def test_a_no_is_valid_against_the_schema(client, trust, entitlement, make_client, openapi, params):
    _, token = make_client(trust)
    body = valid(openapi, ask(client, token, **params))
    assert body["entitled"] is False


def test_every_error_is_valid_against_the_schema(
    client, trust, other_trust, entitlement, make_client, openapi
):
    api_client, token = make_client(trust, rate_limit=2)

    bad = ask(client, token, patient_age="old", setting="WARD")
    assert bad.status_code == 400
    assert valid(openapi, bad)["errors"]["setting"]

    refused = ask(client, token, employer="RX9")
    assert refused.status_code == 403
    valid(openapi, refused)

    with time_machine.travel(datetime.datetime(2026, 3, 2, 9, 0, 5, tzinfo=ZoneInfo("UTC"))):
        ask(client, token)
        ask(client, token)
        limited = ask(client, token)
    assert limited.status_code == 429
    valid(openapi, limited)

    # An hour on, inside the rate limit: the client is known from the token cache, and the
    # register itself cannot be read.
    with (
        time_machine.travel(datetime.datetime(2026, 3, 2, 10, 0, 5, tzinfo=ZoneInfo("UTC"))),
        database_failing(),
    ):
        unavailable = ask(client, token)
    assert unavailable.status_code == 503
    assert valid(openapi, unavailable)["entitled"] is False

    anonymous = ask(client, None)
    assert anonymous.status_code == 401
    valid(openapi, anonymous)


def test_a_response_that_broke_the_schema_would_be_caught(
    client, trust, entitlement, make_client, openapi
):
    """The validation above can fail: an answer missing `entitled` is refused."""
    _, token = make_client(trust)
    response = ask(client, token)
    body = response.json()
    del body["entitled"]
    response.content = json.dumps(body).encode()
    with pytest.raises(Exception, match="entitled"):
        valid(openapi, response)
