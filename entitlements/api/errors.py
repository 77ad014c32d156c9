"""How the API says something went wrong.

Entitlement check (`/api/v1/`): JSON `{"entitled": false, "message": ..., "errors": {...}}`,
so a client that reads only `entitled` still fails closed. FHIR (`/api/fhir/`): an
OperationOutcome. Any database error while answering is a 503 that never says entitled.
"""

import logging

from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

logger = logging.getLogger(__name__)

UNAVAILABLE_MESSAGE = (
    "The register cannot be reached just now, so no answer can be given. Treat the referrer "
    "as not entitled and try again in a minute."
)
RETRY_AFTER_UNAVAILABLE = "30"


def _message(exc: exceptions.APIException) -> str:
    detail = exc.detail
    if isinstance(detail, dict | list):
        return str(exc.default_detail)
    return str(detail)


def _headers(exc: exceptions.APIException) -> dict:
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    return headers


def _as_api_exception(exc):
    if isinstance(exc, Http404):
        return exceptions.NotFound(*exc.args)
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied(*exc.args)
    return exc


def exception_handler(exc, context):
    """The JSON API's errors: every body says `entitled: false`."""
    if isinstance(exc, DatabaseError):
        logger.exception("Entitlement API: the database failed while answering")
        set_rollback()
        return Response(
            {"entitled": False, "message": UNAVAILABLE_MESSAGE},
            status=503,
            headers={"Retry-After": RETRY_AFTER_UNAVAILABLE},
        )
    exc = _as_api_exception(exc)
    if not isinstance(exc, exceptions.APIException):
        return drf_exception_handler(exc, context)
    if isinstance(exc, exceptions.Throttled):
        message = (
            "Too many requests for this client: try again in "
            f"{int(exc.wait or 1)} second{'s' if int(exc.wait or 1) != 1 else ''}"
        )
    else:
        message = _message(exc)
    set_rollback()
    return Response(
        {"entitled": False, "message": message}, status=exc.status_code, headers=_headers(exc)
    )


# FHIR OperationOutcome issue codes (http://hl7.org/fhir/R4/valueset-issue-type.html).
FHIR_ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    429: "throttled",
    503: "transient",
}


def operation_outcome(message: str, *, code: str, severity: str = "error") -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": message}],
    }


class FhirError(exceptions.APIException):
    """A FHIR request we refuse, with the status and the message to put in the outcome."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.status_code = status


def fhir_exception_handler(exc, context):
    """The FHIR API's errors, as OperationOutcome resources."""
    if isinstance(exc, DatabaseError):
        logger.exception("FHIR API: the database failed while answering")
        set_rollback()
        return Response(
            operation_outcome(UNAVAILABLE_MESSAGE, code="transient"),
            status=503,
            headers={"Retry-After": RETRY_AFTER_UNAVAILABLE},
        )
    exc = _as_api_exception(exc)
    if not isinstance(exc, exceptions.APIException):
        return drf_exception_handler(exc, context)
    if isinstance(exc, exceptions.Throttled):
        message = f"Too many requests for this client: try again in {int(exc.wait or 1)} seconds"
    else:
        message = _message(exc)
    set_rollback()
    return Response(
        operation_outcome(message, code=FHIR_ISSUE_CODES.get(exc.status_code, "processing")),
        status=exc.status_code,
        headers=_headers(exc),
    )
