"""The nightly RIS exports of an organisation: listed with their checksums, and downloaded.

For the organisation's delegates and governance leads (and its IR(ME)R practitioners): anyone
holding `view_register` there, checked by `OrganisationMixin` through the access selector.
An export is found through `selectors.integration.ris_export_at`, so another organisation's
is a 404. A stored file that no longer matches its SHA-256 is never served.
"""

import hashlib
import logging

from django.http import FileResponse
from django.shortcuts import render
from django.urls import path
from django.utils.cache import add_never_cache_headers
from django.views import View
from django.views.generic import TemplateView

from referrers.views.mixins import OrganisationMixin, paginate

from ..selectors.integration import ris_export_at, ris_exports_of
from ..services.ris_export import export_file_name

logger = logging.getLogger(__name__)

org = "organisations/<str:ods_code>/"
CHUNK = 1024 * 1024


def _private(response):
    response["X-Content-Type-Options"] = "nosniff"
    add_never_cache_headers(response)
    return response


class RisExportsView(OrganisationMixin, TemplateView):
    permission = "view_register"
    title = "RIS exports"
    template_name = "entitlements/ris_exports/list.jinja"

    def get_context_data(self, **kwargs):
        page, pagination = paginate(self.request, ris_exports_of(self.organisation))
        return super().get_context_data(page=page, pagination=pagination, **kwargs)


class RisExportDownloadView(OrganisationMixin, View):
    permission = "view_register"

    def get(self, request, *args, pk: int, **kwargs):
        export = ris_export_at(self.organisation, pk)
        digest = hashlib.sha256()
        with export.file.open("rb") as file:
            for chunk in iter(lambda: file.read(CHUNK), b""):
                digest.update(chunk)
        if digest.hexdigest() != export.sha256:
            logger.error("%s: the stored file %s does not match its SHA-256", export, export.file)
            return _private(
                render(
                    request,
                    "entitlements/ris_exports/mismatch.jinja",
                    {
                        "organisation": self.organisation,
                        "export": export,
                        "title": "This export cannot be downloaded",
                    },
                    status=500,
                )
            )
        response = FileResponse(
            export.file.open("rb"),
            as_attachment=True,
            filename=export_file_name(self.organisation, export.for_date),
            content_type="text/csv; charset=utf-8",
        )
        return _private(response)


urlpatterns = [
    path(f"{org}register/ris-exports/", RisExportsView.as_view(), name="ris_exports"),
    path(
        f"{org}register/ris-exports/<int:pk>/download/",
        RisExportDownloadView.as_view(),
        name="ris_export_download",
    ),
]
