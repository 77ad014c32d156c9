"""Endorsement by the clinical supervisor and decisions by delegates (principle 1).

PLACEHOLDER: the views are still to be written; every route answers 501."""

from django.http import HttpResponse
from django.urls import path

org = "organisations/<str:ods_code>/"


def _pending(request, *args, **kwargs):
    return HttpResponse("Not built yet", status=501)


urlpatterns = [
    path("supervision/applications/<int:pk>/", _pending, name="endorsement"),
    path(f"{org}applications/", _pending, name="application_queue"),
    path(f"{org}applications/<int:pk>/", _pending, name="application_review"),
    path(f"{org}applications/<int:pk>/decide/", _pending, name="application_decide"),
    path(f"{org}applications/<int:pk>/narrow/", _pending, name="application_narrow"),
]
