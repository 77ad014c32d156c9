"""Entitlements: the referrer's own, and the employer's view (suspend, reinstate, revoke,
timeline).

PLACEHOLDER: the views are still to be written; every route answers 501."""

from django.http import HttpResponse
from django.urls import path

org = "organisations/<str:ods_code>/"


def _pending(request, *args, **kwargs):
    return HttpResponse("Not built yet", status=501)


urlpatterns = [
    path("entitlements/", _pending, name="entitlements"),
    path("entitlements/<int:pk>/", _pending, name="entitlement"),
    path("entitlements/<int:pk>/timeline/", _pending, name="entitlement_timeline"),
    path("entitlements/<int:pk>/change/", _pending, name="change_notify"),
    path("entitlements/<int:pk>/vary/", _pending, name="variation_start"),
    path(f"{org}entitlements/", _pending, name="entitlements_at"),
    path(f"{org}entitlements/<int:pk>/", _pending, name="entitlement_manage"),
    path(f"{org}entitlements/<int:pk>/timeline/", _pending, name="entitlement_history"),
    path(f"{org}entitlements/<int:pk>/suspend/", _pending, name="entitlement_suspend"),
    path(f"{org}entitlements/<int:pk>/reinstate/", _pending, name="entitlement_reinstate"),
    path(f"{org}entitlements/<int:pk>/revoke/", _pending, name="entitlement_revoke"),
    path(f"{org}changes/<int:pk>/acknowledge/", _pending, name="change_notice_acknowledge"),
]
