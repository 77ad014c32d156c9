from django.urls import path

from .views import (
    applications,
    catalogue,
    decisions,
    letter_bundles,
    letters,
    procedures,
    records,
    register,
    ris_exports,
    verify,
)

org = "organisations/<str:ods_code>/"

urlpatterns = [
    path(f"{org}catalogue/", catalogue.CatalogueView.as_view(), name="catalogue"),
    path(f"{org}catalogue/add/", catalogue.ExaminationAddView.as_view(), name="examination_add"),
    path(
        f"{org}catalogue/<int:pk>/edit/",
        catalogue.ExaminationEditView.as_view(),
        name="examination_edit",
    ),
    path(
        f"{org}catalogue/import/",
        catalogue.CatalogueImportView.as_view(),
        name="catalogue_import",
    ),
    path(
        f"{org}procedure/",
        procedures.ProcedureVersionListView.as_view(),
        name="procedure_versions",
    ),
    path(
        f"{org}procedure/new/",
        procedures.ProcedureVersionAddView.as_view(),
        name="procedure_version_add",
    ),
    path(
        f"{org}procedure/<int:number>/",
        procedures.ProcedureVersionDetailView.as_view(),
        name="procedure_version",
    ),
    path(
        f"{org}procedure/<int:number>/edit/",
        procedures.ProcedureVersionEditView.as_view(),
        name="procedure_version_edit",
    ),
    path(
        f"{org}procedure/<int:number>/publish/",
        procedures.ProcedureVersionPublishView.as_view(),
        name="procedure_version_publish",
    ),
    *applications.urlpatterns,
    *decisions.urlpatterns,
    *records.urlpatterns,
    *letters.urlpatterns,
    *letter_bundles.urlpatterns,
    *verify.urlpatterns,
    *register.urlpatterns,
    *ris_exports.urlpatterns,
]
