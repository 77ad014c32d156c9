"""`GET /api/v1/entitlement-check`: may this referrer request this examination?

Authenticated by the client's Bearer token, rate limited per client, and scoped to the
client's organisation: it asks only that organisation's register (which includes referrers
of other employers it entitled under shared-responsibility agreements), and says nothing
about a referrer who is not on it. Every answered question is recorded (channel "api", the
client; through the Redis lookup queue when it is on, see services.register); a refused one
(400, 401, 403, 429) is not. One database statement a lookup on PostgreSQL (two queries
elsewhere; docs/performance.md, bench/analysis.md). A database failure answers 503 and never
`entitled: true`.
"""

import dataclasses

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import LookupChannel
from ..selectors.integration import referrer_visible_to
from ..selectors.register import CheckAnswer, entitlement_check
from ..services.register import register_lookup_queue
from .authentication import client_of
from .serializers import (
    EntitlementCheckAnswer,
    EntitlementCheckQuery,
    ErrorAnswer,
    InvalidParametersAnswer,
    check_answer_data,
    first_messages,
    quick_validated,
)

YES_EXAMPLE = {
    "entitled": True,
    "reasons": [
        "Priya Shah may request XR Chest (XCHES) under entitlement ENT-000001 from Dorset Coast "
        "Hospitals NHS Trust (its own scope item), granted by Dana Delegate under RDZ "
        "procedure v1.",
        "The patient's age (40) is within the range allowed (16 years and over) and emergency "
        "department is an allowed setting.",
    ],
    "registration": "NMC:71A2998E",
    "examination_code": "XCHES",
    "employer": "RDZ",
    "patient_age": 40,
    "setting": "ED",
    "as_of": None,
    "referrer": {"name": "Priya Shah", "profession": "nurse", "registration": "NMC:71A2998E"},
    "examination": {"code": "XCHES", "name": "XR Chest", "modality": "XR"},
    "entitlement": {
        "id": 1,
        "reference": "ENT-000001",
        "state": "active",
        "review_due_on": "2028-03-02",
        "decided_by": "Dana Delegate",
        "procedure_version": "RDZ procedure v1",
        "letter_code": "ABCD-EFGH-JKLM",
    },
    "scope_item": {
        "id": 1,
        "subject": "XR Chest (XCHES)",
        "state": "active",
        "conditions": {
            "age_min": 16,
            "age_max": None,
            "settings": ["ED", "MIU"],
            "clinical_indications": "Suspected fracture or as iRefer",
            "exclusions": "No pregnancy-possible patients",
        },
    },
    "checked_at": "2026-03-02T12:00:00Z",
}


def not_on_register(answer: CheckAnswer, *, organisation, registration: str) -> CheckAnswer:
    """The answer for a referrer who is not on `organisation`'s register: a no that says
    nothing about them (who they are, where they work, their registration's state)."""
    return dataclasses.replace(
        answer,
        entitled=False,
        reasons=[
            f"No referrer with {registration.replace(':', ' registration number ', 1)} is on "
            f"the register of {organisation.name}."
        ],
        referrer=None,
        entitlement=None,
        scope_item=None,
        conditions=None,
        decided_by="",
        procedure_version="",
        letter_code="",
    )


def on_register(answer: CheckAnswer, organisation) -> bool:
    """Whether the answer's referrer is on `organisation`'s register: read with the referrer
    by `entitlement_check` (now), or asked of the database (as of a past date)."""
    known = answer.referrer.__dict__.get("on_register")
    if known is not None:
        return bool(known)
    return referrer_visible_to(organisation, answer.referrer, answer.entitlement)


class EntitlementCheckView(APIView):
    @extend_schema(
        operation_id="entitlement_check",
        summary="May this referrer request this examination?",
        description=(
            "Answers from the client's own organisation's register, now or as of a past "
            "date. `entitled` is true only when every condition is met; `reasons` says why "
            "in plain sentences. Any status other than 200 means: do not treat the referrer "
            "as entitled."
        ),
        parameters=[EntitlementCheckQuery],
        responses={
            200: EntitlementCheckAnswer,
            400: OpenApiResponse(InvalidParametersAnswer, description="Bad parameters."),
            401: OpenApiResponse(ErrorAnswer, description="No token, or a bad or revoked one."),
            403: OpenApiResponse(ErrorAnswer, description="Another organisation's register."),
            429: OpenApiResponse(ErrorAnswer, description="Over the client's rate limit."),
            503: OpenApiResponse(ErrorAnswer, description="The register cannot be reached."),
        },
        examples=[OpenApiExample("Entitled", value=YES_EXAMPLE, response_only=True)],
        tags=["entitlement check"],
    )
    def get(self, request):
        client = client_of(request)
        data = quick_validated(request.query_params)
        if data is None:  # not plainly valid: the serializer decides, and says why
            query = EntitlementCheckQuery(data=request.query_params)
            if not query.is_valid():
                return Response(
                    {
                        "entitled": False,
                        "message": "Some parameters are missing or not valid",
                        "errors": first_messages(query.errors),
                    },
                    status=400,
                )
            data = query.validated_data
        organisation = client.organisation
        if data["employer"] != organisation.ods_code:
            raise PermissionDenied(
                f"This client can ask only the register of {organisation.name} "
                f"({organisation.ods_code}), not {data['employer']}"
            )
        registration = data["registration"]
        asked = f"{registration['regulator']}:{registration['registration_number']}"
        answer = entitlement_check(
            organisation=organisation,
            regulator=registration["regulator"],
            registration_number=registration["registration_number"],
            examination_code=data["examination"],
            patient_age=data["patient_age"],
            setting=data["setting"],
            as_of=data.get("as_of"),
        )
        if answer.referrer is not None and not on_register(answer, organisation):
            answer = not_on_register(answer, organisation=organisation, registration=asked)
        # Through the Redis queue when it is on (services.register): no database round trip.
        register_lookup_queue(
            organisation=organisation,
            answer=answer,
            registration=asked,
            examination_code=data["examination"],
            patient_age=data["patient_age"],
            setting=data["setting"],
            as_of=data.get("as_of"),
            channel=LookupChannel.API,
            api_client=client,
        )
        return Response(check_answer_data(answer, query=data))
