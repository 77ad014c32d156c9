"""FHIR R4 PractitionerRole: search by practitioner identifier and read by id, validated with
the fhir.resources R4B models (PractitionerRole is the same in R4 and R4B)."""

import pytest
from django.urls import reverse
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.practitionerrole import PractitionerRole

from entitlements import services
from entitlements.models import LookupChannel, RegisterLookup

from .helpers import (
    bearer,
    clone_entitlements,
    database_failing,
    entitled_referrer,
    fhir_search,
    grant_requests,
    nmc,
)

ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
EXAMINATIONS = "http://127.0.0.1:8000/fhir/CodeSystem/examination/RDZ"


def role_url(entitlement) -> str:
    return reverse("fhir_practitioner_role", args=[entitlement.reference])


def outcome(response) -> OperationOutcome:
    assert response["Content-Type"].startswith("application/fhir+json")
    return OperationOutcome.model_validate(response.json())


def test_search_by_nmc_number_is_a_valid_searchset_of_practitioner_roles(
    client, trust, entitlement, make_client
):
    api_client, token = make_client(trust)

    response = fhir_search(client, token, nmc("71A2998E"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate(response.json())
    assert bundle.type == "searchset"
    assert bundle.total == 1
    entry = bundle.entry[0]
    assert entry.search.mode == "match"
    assert entry.fullUrl == f"http://testserver{role_url(entitlement)}"
    role = PractitionerRole.model_validate(entry.resource.model_dump())
    assert role.id == entitlement.reference
    assert role.active is True
    assert role.practitioner.identifier.system == "https://fhir.hl7.org.uk/Id/nmc-number"
    assert role.practitioner.identifier.value == "71A2998E"
    assert role.practitioner.display == "Priya Shah"
    assert role.organization.identifier.system == ODS
    assert role.organization.identifier.value == "RDZ"
    assert str(role.period.end) == entitlement.review_due_on.isoformat()
    assert role.period.start is not None
    codes = [(c.coding[0].system, c.coding[0].code) for c in role.specialty]
    assert codes == [(EXAMINATIONS, "CHEAC"), (EXAMINATIONS, "XCHES")]
    assert role.code[0].coding[0].code == "referral"
    lookup = RegisterLookup.objects.get()
    assert lookup.channel == LookupChannel.FHIR
    assert lookup.api_client == api_client
    assert lookup.registration == "NMC:71A2998E"
    assert lookup.entitlement == entitlement


def test_read_by_id_is_a_valid_practitioner_role(client, trust, entitlement, make_client):
    _, token = make_client(trust)

    response = client.get(role_url(entitlement), **bearer(token))

    assert response.status_code == 200
    role = PractitionerRole.model_validate(response.json())
    assert role.id == entitlement.reference
    assert {c.coding[0].code for c in role.specialty} == {"XCHES", "CHEAC"}


@pytest.mark.parametrize(
    ("regulator", "profession", "number", "system"),
    [
        ("GMC", "doctor", "1234567", "https://fhir.hl7.org.uk/Id/gmc-number"),
        ("HCPC", "physiotherapist", "PH12345", "https://fhir.hl7.org.uk/Id/hcpc-number"),
        ("GPhC", "pharmacist", "2012345", "https://fhir.hl7.org.uk/Id/gphc-number"),
        ("GDC", "dentist", "123456", "http://127.0.0.1:8000/fhir/Id/gdc-number"),
    ],
)
def test_each_regulator_has_its_identifier_system(
    client,
    trust,
    delegate,
    procedure,
    catalogue,
    make_client,
    regulator,
    profession,
    number,
    system,
):
    entitled_referrer(
        trust,
        [catalogue["mr_knee"]],
        delegate=delegate,
        name="Rene Registrant",
        email="rene@example.nhs.uk",
        registration_number=number,
        regulator=regulator,
        profession=profession,
    )
    _, token = make_client(trust)

    bundle = Bundle.model_validate(fhir_search(client, token, f"{system}|{number}").json())

    assert bundle.total == 1
    role = PractitionerRole.model_validate(bundle.entry[0].resource.model_dump())
    assert role.practitioner.identifier.system == system
    assert role.practitioner.identifier.value == number
    assert [c.coding[0].code for c in role.specialty] == ["MKNEE"]
    # The same number under another regulator's system is someone else.
    other = "https://fhir.hl7.org.uk/Id/nmc-number" if regulator != "NMC" else system
    assert fhir_search(client, token, f"{other}|71A2998E").json()["total"] == 0


def test_search_by_the_entitlement_identifier(client, trust, entitlement, make_client):
    _, token = make_client(trust)
    system = "http://127.0.0.1:8000/fhir/Id/entitlement"
    bundle = Bundle.model_validate(
        fhir_search(client, token, f"{system}|{entitlement.reference}").json()
    )
    assert [e.resource.id for e in bundle.entry] == [entitlement.reference]
    assert fhir_search(client, token, f"{system}|ENT-999999").json()["total"] == 0


def test_a_suspended_scope_item_is_not_a_permitted_examination(
    client, trust, entitlement, delegate, make_client
):
    ct_head = entitlement.scope_items.get(examination__code="CHEAC")
    services.entitlement_suspend(
        entitlement=entitlement, by=delegate, reason="Contrast training", scope_items=[ct_head]
    )
    _, token = make_client(trust)

    role = PractitionerRole.model_validate(
        client.get(role_url(entitlement), **bearer(token)).json()
    )

    assert [c.coding[0].code for c in role.specialty] == ["XCHES"]


def test_a_suspended_or_revoked_entitlement_is_not_returned(
    client, trust, entitlement, delegate, make_client
):
    _, token = make_client(trust)
    services.entitlement_suspend(entitlement=entitlement, by=delegate, reason="Under review")

    assert fhir_search(client, token, nmc("71A2998E")).json()["total"] == 0
    response = client.get(role_url(entitlement), **bearer(token))
    assert response.status_code == 404
    assert outcome(response).issue[0].code == "not-found"


def test_a_group_stands_for_each_of_its_examinations(
    client, trust, referrer, supervisor, delegate, procedure, catalogue, org_admin, make_client
):
    group = services.examination_group_create(
        organisation=trust,
        name="Plain film and MR knee",
        examinations=[catalogue["xr_chest"], catalogue["mr_knee"]],
        by=org_admin,
    )
    entitlement = grant_requests(
        referrer,
        trust,
        [services.ScopeRequest(group=group, age_min=18, settings=("ED",))],
        supervisor=supervisor,
        delegate=delegate,
    )
    _, token = make_client(trust)

    role = PractitionerRole.model_validate(
        client.get(role_url(entitlement), **bearer(token)).json()
    )

    assert [c.coding[0].code for c in role.specialty] == ["MKNEE", "XCHES"]


@pytest.mark.parametrize(
    ("identifier", "status", "says"),
    [
        ("https://example.org/Id/staff|123", 400, "Unknown identifier system"),
        ("71A2998E", 400, "Search by one identifier, given as system|value"),
        ("https://fhir.hl7.org.uk/Id/nmc-number|", 400, "Give the identifier's value"),
        ("https://fhir.hl7.org.uk/Id/nmc-number|12345", 400, "Enter an NMC registration number"),
    ],
)
def test_a_bad_search_is_an_operation_outcome(
    client, trust, entitlement, make_client, identifier, status, says
):
    _, token = make_client(trust)
    response = fhir_search(client, token, identifier)
    assert response.status_code == status
    result = outcome(response)
    assert result.issue[0].severity == "error"
    assert result.issue[0].code == "invalid"
    assert says in result.issue[0].diagnostics
    assert not RegisterLookup.objects.exists()


def test_an_unknown_id_and_no_token_are_operation_outcomes(client, trust, entitlement, make_client):
    _, token = make_client(trust)
    missing = client.get("/api/fhir/PractitionerRole/ENT-999999", **bearer(token))
    assert missing.status_code == 404
    assert outcome(missing).issue[0].code == "not-found"
    assert client.get("/api/fhir/PractitionerRole/banana", **bearer(token)).status_code == 404

    anonymous = client.get(role_url(entitlement))
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    assert outcome(anonymous).issue[0].code == "login"


def test_database_unreachable_is_a_503_operation_outcome(client, trust, entitlement, make_client):
    _, token = make_client(trust)

    with database_failing():
        response = fhir_search(client, token, nmc("71A2998E"))

    assert response.status_code == 503
    assert outcome(response).issue[0].code == "transient"
    assert "PractitionerRole" not in response.content.decode()


def test_the_capability_statement_is_valid(client, db):
    response = client.get(reverse("fhir_metadata"))
    assert response.status_code == 200
    statement = CapabilityStatement.model_validate(response.json())
    assert statement.fhirVersion == "4.0.1"
    assert statement.rest[0].resource[0].type == "PractitionerRole"


@pytest.mark.parametrize("extra", [0, 200])
def test_search_reads_the_same_whatever_the_size_of_the_register(
    client, trust, entitlement, make_client, django_assert_max_num_queries, extra
):
    clone_entitlements(entitlement, extra)
    _, token = make_client(trust)
    fhir_search(client, token, nmc("71A2998E"))  # last_used_at is noted once a minute

    # The token; the entitlements; their scope items; groups' examinations; the record.
    with django_assert_max_num_queries(7):
        response = fhir_search(client, token, nmc("71A2998E"))

    assert response.json()["total"] == 1
