"""The page (or, under /api/, the JSON) shown when a request fails unexpectedly.

Django calls `server_error` for any exception a view or middleware did not handle. When the
database cannot be reached (a connection error, not a bug such as an integrity error) the
answer is 503 with `Retry-After`, saying so in plain words; anything else is a 500. Neither
page touches the database or the session, so it renders while the database is down. The API
answers JSON that says `entitled: false` (its own handler already does for errors inside its
views; this covers a failure before the view, e.g. in a middleware).
"""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

RETRY_AFTER = "30"

UNAVAILABLE = {
    "title": "Sorry, the service is unavailable",
    "paragraphs": [
        "The service cannot reach its database just now. Nothing you did caused this.",
        "If you were saving something, it has not been saved: try again in a few minutes.",
        "If you need to know whether a referrer may request an examination and cannot wait, "
        "follow your department's downtime procedure and treat them as not entitled.",
    ],
}
PROBLEM = {
    "title": "Sorry, there is a problem with the service",
    "paragraphs": [
        "Something went wrong and we have been told about it. Nothing you did caused this.",
        "If you were saving something, it may not have been saved: check, then try again.",
    ],
}


def database_unavailable(exc: BaseException | None) -> bool:
    return isinstance(exc, OperationalError | InterfaceError)


def server_error(request, *args, **kwargs):
    exc = sys.exc_info()[1]
    unavailable = database_unavailable(exc)
    status = 503 if unavailable else 500
    if request.path.startswith("/api/"):
        from entitlements.api.errors import UNAVAILABLE_MESSAGE, operation_outcome

        message = UNAVAILABLE_MESSAGE if unavailable else "The service failed to answer."
        if request.path.startswith("/api/fhir/"):
            code = "transient" if unavailable else "exception"
            body = operation_outcome(message, code=code)
        else:
            body = {"entitled": False, "message": message}
        response = JsonResponse(body, status=status)
    else:
        context = {**(UNAVAILABLE if unavailable else PROBLEM), "retry_url": request.path}
        page = render_to_string("503.html" if unavailable else "500.html", context)
        response = HttpResponse(page, status=status)
    if unavailable:
        response["Retry-After"] = RETRY_AFTER
    return response
