"""An organisation administrator's pages for people's roles and the departments."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import FormView, TemplateView

from .. import selectors, services
from ..forms import DepartmentForm, RoleGrantForm
from ..invitations import password_link_send
from ..models import Role, User
from ..roles import GRANTABLE_ROLES
from .mixins import ServiceFormMixin, paginate
from .people import AppointmentsMixin


class PeopleView(AppointmentsMixin, TemplateView):
    template_name = "referrers/people.jinja"
    title = "People and roles"

    def get_context_data(self, **kwargs):
        roles = selectors.roles_at(self.organisation).order_by("user__full_name", "role", "id")
        page, pagination = paginate(self.request, roles)
        return super().get_context_data(
            page=page,
            pagination=pagination,
            grantable=set(GRANTABLE_ROLES),
            **kwargs,
        )


class PeopleCrumbMixin(AppointmentsMixin):
    def get_breadcrumbs(self):
        people = reverse("people", args=[self.organisation.ods_code])
        return [*super().get_breadcrumbs(), {"href": people, "text": "People and roles"}]


class RoleGrantView(ServiceFormMixin, PeopleCrumbMixin, FormView):
    form_class = RoleGrantForm
    template_name = "referrers/form_page.jinja"
    title = "Give someone a role"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            submit_text="Give role",
            lede="If the person has no account yet, one is made and they are e-mailed a link "
            "to set their password. Entitlement delegates are appointed on the delegate "
            "appointments page; referrers come from their employment.",
            **kwargs,
        )

    def perform(self, form):
        data = form.cleaned_data
        is_new = not User.objects.filter(email__iexact=data["email"]).exists()
        organisation_role = services.role_grant(
            organisation=self.organisation,
            email=data["email"],
            full_name=data["full_name"],
            role=data["role"],
            by=self.request.user,
        )
        person = organisation_role.user
        if is_new:
            password_link_send(
                user=person,
                base_url=self.request.build_absolute_uri("/"),
                invited_by=self.request.user,
            )
        message = f"{person.full_name} is now {organisation_role.get_role_display().lower()}" + (
            " and has been e-mailed a link to set their password" if is_new else ""
        )
        return message, reverse("people", args=[self.organisation.ods_code])


class RoleRemoveView(PeopleCrumbMixin, TemplateView):
    """GET asks to confirm; POST removes the role."""

    template_name = "referrers/role_remove.jinja"
    title = "Remove a role"

    def get_role(self):
        organisation_role = (
            selectors.roles_at(self.organisation).filter(pk=self.kwargs["pk"]).first()
        )
        if organisation_role is None or organisation_role.role not in GRANTABLE_ROLES:
            raise Http404("No such role here")
        return organisation_role

    def get_context_data(self, **kwargs):
        return super().get_context_data(organisation_role=self.get_role(), **kwargs)

    def post(self, request, *args, **kwargs):
        organisation_role = self.get_role()
        try:
            services.role_remove(
                user=organisation_role.user,
                organisation=self.organisation,
                role=organisation_role.role,
                by=request.user,
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("people", self.organisation.ods_code)
        messages.success(
            request,
            f"{organisation_role.user.full_name} is no longer "
            f"{Role(organisation_role.role).label.lower()}",
        )
        return redirect("people", self.organisation.ods_code)


class DepartmentsView(ServiceFormMixin, AppointmentsMixin, FormView):
    """The departments, with a form to add one beneath the list."""

    form_class = DepartmentForm
    template_name = "referrers/departments.jinja"
    title = "Departments"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "organisation": self.organisation}

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            departments=self.organisation.departments.order_by("name"), **kwargs
        )

    def perform(self, form):
        department = services.department_create(
            organisation=self.organisation,
            name=form.cleaned_data["name"],
            site_ods_code=form.cleaned_data["site_ods_code"],
            by=self.request.user,
        )
        message = f"{department.name} has been added"
        return message, reverse("departments", args=[self.organisation.ods_code])
