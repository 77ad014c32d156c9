"""Letters: download (access checked), progress while rendering, verification by code.

PLACEHOLDER: the views are still to be written; every route answers 501."""

from django.http import HttpResponse
from django.urls import path

org = "organisations/<str:ods_code>/"


def _pending(request, *args, **kwargs):
    return HttpResponse("Not built yet", status=501)


urlpatterns = [
    path("letters/<int:pk>/", _pending, name="letter_download"),
    path("letters/<int:pk>/status/", _pending, name="letter_status"),
    path("letters/verify/", _pending, name="letter_verify"),
]
