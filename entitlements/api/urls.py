"""/api/v1/ (the entitlement check, its OpenAPI schema and docs) and /api/fhir/."""

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import fhir, views

urlpatterns = [
    path(
        "v1/entitlement-check",
        views.EntitlementCheckView.as_view(),
        name="api_entitlement_check",
    ),
    path("v1/schema", SpectacularAPIView.as_view(), name="api_schema"),
    path(
        "v1/docs",
        # The split view serves Swagger UI's start-up script as a file (?script), so the
        # page has no inline script (Content-Security-Policy); its inline <style> is allowed.
        csp_update({"style-src": [UNSAFE_INLINE]})(
            SpectacularSwaggerSplitView.as_view(url_name="api_schema")
        ),
        name="api_docs",
    ),
    path("fhir/metadata", fhir.CapabilityStatementView.as_view(), name="fhir_metadata"),
    path(
        "fhir/PractitionerRole",
        fhir.PractitionerRoleSearchView.as_view(),
        name="fhir_practitioner_roles",
    ),
    path(
        "fhir/PractitionerRole/<str:resource_id>",
        fhir.PractitionerRoleReadView.as_view(),
        name="fhir_practitioner_role",
    ),
]
