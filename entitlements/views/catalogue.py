"""The examination catalogue: list, add, edit, and import from a CSV file."""

from django.urls import reverse
from django.views.generic import FormView, TemplateView

from referrers.selectors import has_permission
from referrers.views.mixins import OrganisationMixin, ServiceFormMixin, paginate

from .. import selectors, services
from ..csv_import import COLUMNS, MAX_FILE_BYTES, NO, YES
from ..forms.catalogue import CatalogueImportForm, ExaminationForm
from ..modalities import Modality


class CatalogueMixin(OrganisationMixin):
    def get_breadcrumbs(self):
        crumbs = super().get_breadcrumbs()
        if has_permission(self.request.user, "manage_catalogue", self.organisation):
            crumbs.append(
                {
                    "href": reverse("administration_home", args=[self.organisation.ods_code]),
                    "text": "Organisation administration",
                }
            )
        return crumbs


class CatalogueChildMixin(CatalogueMixin):
    permission = "manage_catalogue"

    def get_breadcrumbs(self):
        return [
            *super().get_breadcrumbs(),
            {
                "href": reverse("catalogue", args=[self.organisation.ods_code]),
                "text": "Examination catalogue",
            },
        ]


class CatalogueView(CatalogueMixin, TemplateView):
    """Everyone working with the organisation can read its catalogue; administrators change it."""

    permission = "view_organisation"
    template_name = "entitlements/catalogue.jinja"
    title = "Examination catalogue"

    def get_context_data(self, **kwargs):
        modality = self.request.GET.get("modality", "")
        if modality not in Modality.values:
            modality = ""
        search = self.request.GET.get("q", "").strip()
        page, pagination = paginate(
            self.request,
            selectors.examinations_of(self.organisation, modality=modality, search=search),
        )
        return super().get_context_data(
            page=page,
            pagination=pagination,
            modality=modality,
            modality_items=[
                {"value": "", "text": "All modalities", "selected": not modality},
                *(
                    {"value": value, "text": label, "selected": value == modality}
                    for value, label in Modality.choices
                ),
            ],
            search=search,
            can_manage=has_permission(self.request.user, "manage_catalogue", self.organisation),
            **kwargs,
        )


class ExaminationAddView(ServiceFormMixin, CatalogueChildMixin, FormView):
    form_class = ExaminationForm
    template_name = "entitlements/examination_form.jinja"
    title = "Add an examination"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "organisation": self.organisation}

    def perform(self, form):
        examination = services.examination_create(
            organisation=self.organisation, by=self.request.user, **form.cleaned_data
        )
        message = f"{examination.name} ({examination.code}) has been added"
        return message, reverse("catalogue", args=[self.organisation.ods_code])


class ExaminationEditView(ServiceFormMixin, CatalogueChildMixin, FormView):
    form_class = ExaminationForm
    template_name = "entitlements/examination_form.jinja"

    def get_examination(self):
        # Looked up inside the organisation the user may manage, so another's id is a 404.
        if not hasattr(self, "examination"):
            self.examination = selectors.examination_of(self.organisation, self.kwargs["pk"])
        return self.examination

    def get_title(self):
        return f"Change {self.get_examination().name}"

    def get_form_kwargs(self):
        return {
            **super().get_form_kwargs(),
            "organisation": self.organisation,
            "examination": self.get_examination(),
        }

    def perform(self, form):
        examination = services.examination_update(
            examination=self.get_examination(), by=self.request.user, **form.cleaned_data
        )
        message = f"{examination.name} ({examination.code}) has been saved"
        return message, reverse("catalogue", args=[self.organisation.ods_code])


class CatalogueImportView(ServiceFormMixin, CatalogueChildMixin, FormView):
    """Upload a whole catalogue. Nothing is written unless every line of the file is good."""

    form_class = CatalogueImportForm
    template_name = "entitlements/catalogue_import.jinja"
    title = "Import examinations from a CSV file"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            columns=COLUMNS,
            yes=sorted(YES),
            no=sorted(NO),
            max_mb=MAX_FILE_BYTES // (1024 * 1024),
            modalities=Modality.choices,
            **kwargs,
        )

    def perform(self, form):
        result = services.catalogue_import(
            organisation=self.organisation, rows=form.parsed.rows, by=self.request.user
        )
        message = (
            f"The file has been imported: {result.created} examination"
            f"{'' if result.created == 1 else 's'} added, {result.updated} changed and "
            f"{result.unchanged} already up to date"
        )
        return message, reverse("catalogue", args=[self.organisation.ods_code])
