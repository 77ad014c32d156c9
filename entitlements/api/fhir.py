"""FHIR R4 PractitionerRole for the register: who may request which examinations.

`GET /api/fhir/PractitionerRole?identifier=<system>|<value>` (a searchset Bundle) and
`GET /api/fhir/PractitionerRole/<id>`, with the same Bearer tokens, rate limits and
organisation scoping as the entitlement check. One PractitionerRole per referral entitlement
under which the referrer may request examinations today (see
`selectors.integration.requestable_entitlements`); its id is the entitlement's reference
(ENT-000012). Errors are OperationOutcome resources. The mapping is in docs/api.md.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from referrers.regulators import (
    Regulator,
    normalise_registration_number,
    validate_registration,
)

from ..models import Entitlement, LookupChannel
from ..selectors.integration import (
    examinations_of_items,
    practitioner_role_at,
    practitioner_roles_of,
)
from ..selectors.register import CheckAnswer
from ..services.register import register_lookup_record
from .authentication import client_of
from .errors import FhirError, fhir_exception_handler

FHIR_VERSION = "4.0.1"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
UK_CORE_SYSTEMS = {
    Regulator.GMC: "https://fhir.hl7.org.uk/Id/gmc-number",
    Regulator.NMC: "https://fhir.hl7.org.uk/Id/nmc-number",
    Regulator.HCPC: "https://fhir.hl7.org.uk/Id/hcpc-number",
    Regulator.GPHC: "https://fhir.hl7.org.uk/Id/gphc-number",
}
REFERENCE = re.compile(r"ENT-(\d{1,12})")


def system_base() -> str:
    """Where this service's own identifier and code systems live: <SITE_URL>/fhir."""
    return f"{settings.SITE_URL.rstrip('/')}/fhir"


def practitioner_systems() -> dict[str, str]:
    """The identifier system of each regulator's registration numbers: the UK Core ones
    where UK Core has one, ours (<SITE_URL>/fhir/Id/<regulator>-number) for the others."""
    base = system_base()
    return {
        regulator: UK_CORE_SYSTEMS.get(regulator, f"{base}/Id/{regulator.lower()}-number")
        for regulator in Regulator.values
    }


def entitlement_system() -> str:
    return f"{system_base()}/Id/entitlement"


def role_system() -> str:
    return f"{system_base()}/CodeSystem/entitlement-kind"


def examination_system(ods_code: str) -> str:
    """Examination codes are each employer's own catalogue codes: one code system each."""
    return f"{system_base()}/CodeSystem/examination/{ods_code}"


class FhirJSONRenderer(JSONRenderer):
    media_type = "application/fhir+json"
    format = "fhir"


def practitioner_role(entitlement: Entitlement) -> dict:
    """The PractitionerRole resource of one requestable entitlement (loaded by
    `requestable_entitlements`, so this reads nothing more)."""
    referrer = entitlement.referrer
    organisation = entitlement.organisation
    examinations = examinations_of_items(entitlement.active_items)
    return {
        "resourceType": "PractitionerRole",
        "id": entitlement.reference,
        "meta": {"lastUpdated": entitlement.state_changed_at.isoformat()},
        "identifier": [{"system": entitlement_system(), "value": entitlement.reference}],
        "active": True,
        "period": {
            "start": timezone.localtime(entitlement.granted_at).date().isoformat(),
            "end": entitlement.review_due_on.isoformat(),
        },
        "practitioner": {
            "identifier": {
                "system": practitioner_systems()[referrer.regulator],
                "value": referrer.registration_number,
            },
            "display": referrer.user.full_name,
        },
        "organization": {
            "identifier": {"system": ODS_SYSTEM, "value": organisation.ods_code},
            "display": organisation.name,
        },
        "code": [
            {
                "coding": [
                    {
                        "system": role_system(),
                        "code": "referral",
                        "display": "Entitled to refer for medical imaging (IR(ME)R)",
                    }
                ],
                "text": "Entitled referrer",
            }
        ],
        "specialty": [
            {
                "coding": [
                    {
                        "system": examination_system(organisation.ods_code),
                        "code": examination.code,
                        "display": examination.name,
                    }
                ],
                "text": examination.name,
            }
            for examination in examinations
        ],
    }


class FhirView(APIView):
    renderer_classes = [FhirJSONRenderer, JSONRenderer]

    def get_exception_handler(self):
        return fhir_exception_handler

    def resource_url(self, entitlement: Entitlement) -> str:
        return self.request.build_absolute_uri(
            reverse("fhir_practitioner_role", args=[entitlement.reference])
        )

    def record(self, client, *, registration: str, found: list[Entitlement], about: str):
        """Put the lookup on record, like every register lookup (channel "fhir")."""
        first = found[0] if found else None
        count = len(found)
        answer = CheckAnswer(
            entitled=bool(found),
            reasons=[
                f"FHIR PractitionerRole {about}: {count} active entitlement"
                f"{'' if count == 1 else 's'} returned."
            ],
            referrer=first.referrer if first else None,
            examination=None,
            entitlement=first,
            scope_item=None,
            conditions=None,
            decided_by="",
            procedure_version="",
            letter_code="",
            as_of=None,
            checked_at=timezone.now(),
        )
        register_lookup_record(
            organisation=client.organisation,
            answer=answer,
            registration=registration,
            examination_code="",
            patient_age=None,
            setting="",
            as_of=None,
            channel=LookupChannel.FHIR,
            api_client=client,
        )


@extend_schema(exclude=True)
class PractitionerRoleSearchView(FhirView):
    def get(self, request):
        client = client_of(request)
        organisation = client.organisation
        values = request.query_params.getlist("identifier")
        if len(values) != 1 or "|" not in values[0]:
            raise FhirError(
                "Search by one identifier, given as system|value, like "
                f"{UK_CORE_SYSTEMS[Regulator.NMC]}|71A2998E"
            )
        system, _, value = values[0].partition("|")
        value = value.strip()
        if not value:
            raise FhirError("Give the identifier's value after the |")
        by_system = {url: regulator for regulator, url in practitioner_systems().items()}
        if system == entitlement_system():
            match = REFERENCE.fullmatch(value.upper())
            found = []
            if match:
                try:
                    found = [practitioner_role_at(organisation, int(match.group(1)))]
                except Http404:  # nothing matches: an empty searchset
                    found = []
            registration = found[0].referrer.registration if found else value[:24]
        elif system in by_system:
            regulator = by_system[system]
            try:
                number = validate_registration(regulator, normalise_registration_number(value))
            except ValidationError as error:
                raise FhirError(next(iter(error.message_dict.values()))[0]) from None
            found = practitioner_roles_of(
                organisation, regulator=regulator, registration_number=number
            )
            registration = f"{regulator}:{number}"
        else:
            known = ", ".join([*practitioner_systems().values(), entitlement_system()])
            raise FhirError(f"Unknown identifier system {system!r}. Known systems: {known}")
        self.record(client, registration=registration, found=found, about="search")
        return Response(
            {
                "resourceType": "Bundle",
                "type": "searchset",
                "timestamp": timezone.now().isoformat(),
                "total": len(found),
                "link": [{"relation": "self", "url": request.build_absolute_uri()}],
                "entry": [
                    {
                        "fullUrl": self.resource_url(entitlement),
                        "resource": practitioner_role(entitlement),
                        "search": {"mode": "match"},
                    }
                    for entitlement in found
                ],
            }
        )


@extend_schema(exclude=True)
class PractitionerRoleReadView(FhirView):
    def get(self, request, resource_id: str):
        client = client_of(request)
        match = REFERENCE.fullmatch(resource_id)
        if not match:
            raise FhirError(
                f"No PractitionerRole has the id {resource_id!r}: ids look like ENT-000012",
                status=404,
            )
        entitlement = practitioner_role_at(client.organisation, int(match.group(1)))
        self.record(
            client,
            registration=entitlement.referrer.registration,
            found=[entitlement],
            about=f"read {entitlement.reference}",
        )
        return Response(practitioner_role(entitlement))


@extend_schema(exclude=True)
class CapabilityStatementView(FhirView):
    """What this FHIR endpoint supports (public: it holds no data)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    def get(self, request):
        systems = ", ".join([*practitioner_systems().values(), entitlement_system()])
        return Response(
            {
                "resourceType": "CapabilityStatement",
                "status": "active",
                "date": timezone.localdate().isoformat(),
                "kind": "instance",
                "software": {"name": settings.SITE_NAME},
                "implementation": {
                    "description": f"{settings.SITE_NAME}: the register as PractitionerRole",
                    "url": request.build_absolute_uri(reverse("fhir_metadata")).removesuffix(
                        "metadata"
                    ),
                },
                "fhirVersion": FHIR_VERSION,
                "format": ["application/fhir+json"],
                "rest": [
                    {
                        "mode": "server",
                        "security": {
                            "description": "Authorization: Bearer <token> issued per client "
                            "by the organisation; see docs/api.md"
                        },
                        "resource": [
                            {
                                "type": "PractitionerRole",
                                "interaction": [{"code": "read"}, {"code": "search-type"}],
                                "searchParam": [
                                    {
                                        "name": "identifier",
                                        "type": "token",
                                        "documentation": "system|value, the system one of: "
                                        + systems,
                                    }
                                ],
                            }
                        ],
                    }
                ],
            }
        )
