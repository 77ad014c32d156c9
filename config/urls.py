from django.contrib import admin
from django.urls import include, path

from .health import health


def _superusers_only(request) -> bool:
    # The admin is a superuser's tool; staff flags alone do not open it.
    return request.user.is_active and request.user.is_superuser


admin.site.has_permission = _superusers_only
admin.site.site_header = "Imaging referrer entitlement: superuser administration"

# A database that cannot be reached is a 503 page (or JSON under /api/), not a bare 500.
handler500 = "config.errors.server_error"

urlpatterns = [
    path("health", health, name="health"),
    path("django-admin/", admin.site.urls),
    path("api/", include("entitlements.api.urls")),
    path("", include("referrers.urls")),
    path("", include("referrers.urls_auth")),
    path("", include("entitlements.urls")),
    path("", include("training.urls")),
    path("", include("audits.urls")),
]
