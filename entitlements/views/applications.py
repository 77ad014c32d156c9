"""The referrer's application journey (principle 2): steps, check your answers, evidence.

PLACEHOLDER: the views are still to be written; every route answers 501."""

from django.http import HttpResponse
from django.urls import path

org = "organisations/<str:ods_code>/"


def _pending(request, *args, **kwargs):
    return HttpResponse("Not built yet", status=501)


urlpatterns = [
    path("applications/", _pending, name="applications"),
    path("applications/new/", _pending, name="application_start"),
    path("applications/<int:pk>/", _pending, name="application"),
    path("applications/<int:pk>/employment/", _pending, name="application_employment"),
    path("applications/<int:pk>/service-need/", _pending, name="application_service_need"),
    path("applications/<int:pk>/scope/", _pending, name="application_scope"),
    path("applications/<int:pk>/scope/add/", _pending, name="application_scope_add"),
    path("applications/<int:pk>/scope/<int:item_pk>/", _pending, name="application_scope_edit"),
    path(
        "applications/<int:pk>/scope/<int:item_pk>/remove/",
        _pending,
        name="application_scope_remove",
    ),
    path("applications/<int:pk>/supervision/", _pending, name="application_supervision"),
    path("applications/<int:pk>/evidence/", _pending, name="application_evidence"),
    path(
        "applications/<int:pk>/evidence/<int:evidence_pk>/remove/", _pending, name="evidence_remove"
    ),
    path("applications/<int:pk>/check/", _pending, name="application_check"),
    path("applications/<int:pk>/withdraw/", _pending, name="application_withdraw"),
    path("evidence/<int:pk>/", _pending, name="evidence_download"),
    path("employments/add/", _pending, name="employment_add"),
]
