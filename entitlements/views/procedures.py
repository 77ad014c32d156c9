"""The written procedure's versions: list, detail, new draft, change a draft, publish."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.views.generic import FormView, TemplateView

from referrers.selectors import has_permission
from referrers.views.mixins import OrganisationMixin, ServiceFormMixin, paginate

from .. import selectors, services
from ..forms.catalogue import ProcedureVersionForm, procedure_version_initial
from ..models import TrainingKind


class ProceduresMixin(OrganisationMixin):
    def get_breadcrumbs(self):
        crumbs = super().get_breadcrumbs()
        if has_permission(self.request.user, "manage_procedures", self.organisation):
            crumbs.append(
                {
                    "href": reverse("administration_home", args=[self.organisation.ods_code]),
                    "text": "Organisation administration",
                }
            )
        return crumbs

    def can_manage(self) -> bool:
        return has_permission(self.request.user, "manage_procedures", self.organisation)


class ProcedureChildMixin(ProceduresMixin):
    def get_breadcrumbs(self):
        return [
            *super().get_breadcrumbs(),
            {
                "href": reverse("procedure_versions", args=[self.organisation.ods_code]),
                "text": "Procedure versions",
            },
        ]


class VersionMixin(ProcedureChildMixin):
    """A page about one version, looked up inside the organisation (another's is a 404)."""

    def get_version(self):
        if not hasattr(self, "version"):
            self.version = selectors.procedure_version_of(self.organisation, self.kwargs["number"])
        return self.version


class ProcedureVersionListView(ProceduresMixin, TemplateView):
    permission = "view_organisation"
    template_name = "entitlements/procedure_versions.jinja"
    title = "Procedure versions"

    def get_context_data(self, **kwargs):
        page, pagination = paginate(
            self.request, selectors.procedure_versions_of(self.organisation)
        )
        in_force = selectors.procedure_version_in_force(self.organisation)
        return super().get_context_data(
            procedure=selectors.procedure_of(self.organisation),
            page=page,
            pagination=pagination,
            in_force_id=in_force.pk if in_force else None,
            can_manage=self.can_manage(),
            **kwargs,
        )


class ProcedureVersionDetailView(VersionMixin, TemplateView):
    permission = "view_organisation"
    template_name = "entitlements/procedure_version.jinja"

    def get_title(self):
        return f"Version {self.get_version().number}"

    def get_context_data(self, **kwargs):
        version = self.get_version()
        in_force = selectors.procedure_version_in_force(self.organisation)
        return super().get_context_data(
            version=version,
            training_rules=list(version.training_rules.all()),
            training_kinds=TrainingKind,
            in_force=in_force is not None and in_force.pk == version.pk,
            can_manage=self.can_manage(),
            today=timezone.localdate(),
            **kwargs,
        )


class ProcedureVersionFormMixin:
    form_class = ProcedureVersionForm
    template_name = "entitlements/procedure_version_form.jinja"

    def get_form_kwargs(self):
        return {
            **super().get_form_kwargs(),
            "organisation": self.organisation,
            "needs_title": self.procedure is None,
        }

    def get_context_data(self, **kwargs):
        return super().get_context_data(procedure=self.procedure, **kwargs)


class ProcedureVersionAddView(
    ServiceFormMixin, ProcedureVersionFormMixin, ProcedureChildMixin, FormView
):
    """A new draft, starting from the latest version's rules when there is one."""

    permission = "manage_procedures"
    title = "New draft procedure version"

    @cached_property
    def procedure(self):
        return selectors.procedure_of(self.organisation)

    @cached_property
    def latest(self):
        return selectors.latest_procedure_version(self.organisation)

    def get_initial(self):
        return procedure_version_initial(self.latest, copy=True)

    def get_context_data(self, **kwargs):
        return super().get_context_data(copied_from=self.latest, submit_text="Save draft", **kwargs)

    def perform(self, form):
        version = services.procedure_version_create_draft(
            organisation=self.organisation,
            rules=form.rules(),
            training_rules=form.training_rules(),
            procedure_title=form.cleaned_data.get("procedure_title", ""),
            by=self.request.user,
        )
        message = (
            f"Version {version.number} has been saved as a draft. It is not in force until "
            f"you publish it"
        )
        return message, reverse(
            "procedure_version", args=[self.organisation.ods_code, version.number]
        )


class PublishedVersionRefusalMixin:
    """A published version never changes: its edit and publish pages say so instead."""

    refusal_template = "entitlements/procedure_version_published.jinja"

    def refuse_if_published(self):
        version = self.get_version()
        if not version.is_published:
            return None
        return self.response_class(
            request=self.request,
            template=[self.refusal_template],
            context=self.get_refusal_context(version),
            using=self.template_engine,
            status=409 if self.request.method == "POST" else 200,
        )

    def get_refusal_context(self, version):
        return {
            "organisation": self.organisation,
            "version": version,
            "title": f"Version {version.number} is published",
            "breadcrumbs": self.get_breadcrumbs(),
            "can_manage": True,
        }

    def get(self, request, *args, **kwargs):
        return self.refuse_if_published() or super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        return self.refuse_if_published() or super().post(request, *args, **kwargs)


class ProcedureVersionEditView(
    ServiceFormMixin,
    PublishedVersionRefusalMixin,
    ProcedureVersionFormMixin,
    VersionMixin,
    FormView,
):
    permission = "manage_procedures"

    def get_title(self):
        return f"Change draft version {self.get_version().number}"

    @cached_property
    def procedure(self):
        return self.get_version().procedure

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "version": self.get_version()}

    def get_initial(self):
        return procedure_version_initial(self.get_version(), copy=False)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            version=self.get_version(), submit_text="Save draft", **kwargs
        )

    def perform(self, form):
        version = services.procedure_version_update_draft(
            version=self.get_version(),
            rules=form.rules(),
            training_rules=form.training_rules(),
            by=self.request.user,
        )
        message = f"Draft version {version.number} has been saved"
        return message, reverse(
            "procedure_version", args=[self.organisation.ods_code, version.number]
        )


class ProcedureVersionPublishView(PublishedVersionRefusalMixin, VersionMixin, TemplateView):
    """Check, then publish: from its start date the version is the one in force."""

    permission = "manage_procedures"
    template_name = "entitlements/procedure_version_publish.jinja"

    def get_title(self):
        return f"Publish version {self.get_version().number}"

    def get_context_data(self, **kwargs):
        version = self.get_version()
        problems = kwargs.pop("problems", None)
        if problems is None:
            problems = services.procedure_version_publish_problems(version)
        return super().get_context_data(
            problems=problems,
            problem_items=[{"text": p} for p in problems],
            version=version,
            latest_published=selectors.latest_published_procedure_version(self.organisation),
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        refusal = self.refuse_if_published()
        if refusal:
            return refusal
        try:
            version = services.procedure_version_publish(
                version=self.get_version(), by=request.user
            )
        except ValidationError as error:
            return self.render_to_response(self.get_context_data(problems=error.messages))
        messages.success(
            request,
            f"Version {version.number} has been published. It is in force from "
            f"{version.effective_from.strftime('%-d %B %Y')}",
        )
        return redirect("procedure_version", self.organisation.ods_code, version.number)
