"""Requests that no page can answer sensibly, refused before any view sees them."""

from django.http import HttpResponseBadRequest, JsonResponse
from django.template.loader import render_to_string

MESSAGE = "The request contained a character that is not allowed (NUL). Remove it and try again."


def _has_nul(query) -> bool:
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in query.lists())


class RejectNulCharactersMiddleware:
    """A NUL character in a query or form value (or a path) is a 400, never a 500.

    PostgreSQL cannot store or even compare text containing NUL, so a view that looks a
    typed value up (`filter(ods_code=...)`) would fail with a 500. Django's form fields refuse
    NUL already; this covers every other read of `request.GET`/`request.POST`. Found by
    tests/security/test_properties.py.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or _has_nul(request.GET) or _has_nul(request.POST):
            if request.path.startswith("/api/"):
                return JsonResponse({"entitled": False, "message": MESSAGE}, status=400)
            page = render_to_string(
                "500.html",
                {"title": "Sorry, that cannot be read", "paragraphs": [MESSAGE], "retry_url": "/"},
            )
            return HttpResponseBadRequest(page)
        return self.get_response(request)
