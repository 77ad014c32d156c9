"""A referrer's registration; delegate appointments and shared-responsibility agreements."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.views.generic import FormView, TemplateView

from .. import selectors, services
from ..forms import (
    AgreementForm,
    DelegateAppointmentEndForm,
    DelegateAppointmentForm,
    RegistrationForm,
)
from .mixins import OrganisationMixin, ServiceFormMixin, paginate


class RegistrationEditView(ServiceFormMixin, LoginRequiredMixin, FormView):
    """A person records their professional registration, which makes them a referrer."""

    form_class = RegistrationForm
    template_name = "referrers/registration_form.jinja"

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["user"] = self.request.user
        profile = selectors.referrer_profile_of(self.request.user)
        if profile and self.request.method == "GET":
            kwargs["initial"] = {
                "profession": profile.profession,
                "regulator": profile.regulator,
                "registration_number": profile.registration_number,
                "registration_expires_on": profile.registration_expires_on,
            }
        return kwargs

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            title="Your professional registration",
            back_url=reverse("referrer_home"),
            **kwargs,
        )

    def perform(self, form):
        data = form.cleaned_data
        services.referrer_profile_save(
            user=self.request.user,
            profession=data["profession"],
            regulator=data["regulator"],
            registration_number=data["registration_number"],
            registration_expires_on=data["registration_expires_on"],
            by=self.request.user,
        )
        message = "Your registration details have been saved"
        return message, reverse("referrer_home")


class AppointmentsMixin(OrganisationMixin):
    permission = "manage_appointments"

    def get_breadcrumbs(self):
        return [
            *super().get_breadcrumbs(),
            {
                "href": reverse("administration_home", args=[self.organisation.ods_code]),
                "text": "Organisation administration",
            },
        ]


class DelegateAppointmentListView(AppointmentsMixin, TemplateView):
    template_name = "referrers/delegate_appointments.jinja"
    title = "Delegate appointments"

    def get_context_data(self, **kwargs):
        page, pagination = paginate(
            self.request, selectors.delegate_appointments_at(self.organisation)
        )
        return super().get_context_data(
            page=page, pagination=pagination, today=timezone.localdate(), **kwargs
        )


class DelegateAppointmentCreateView(ServiceFormMixin, AppointmentsMixin, FormView):
    form_class = DelegateAppointmentForm
    template_name = "referrers/form_page.jinja"
    title = "Appoint an entitlement delegate"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "organisation": self.organisation}

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            submit_text="Appoint delegate",
            lede="Principle 1: the employer names each person who may grant entitlement, "
            "and the scope of their delegation.",
            **kwargs,
        )

    def perform(self, form):
        data = form.cleaned_data
        appointment = services.delegate_appointment_create(
            organisation=self.organisation,
            delegate=data["delegate"],
            all_modalities=data["all_modalities"],
            modalities=data["modalities"],
            departments=data["departments"],
            valid_from=data["valid_from"],
            valid_to=data["valid_to"],
            document_reference=data["document_reference"],
            by=self.request.user,
        )
        message = f"{appointment.delegate.full_name} has been appointed"
        return message, reverse("delegate_appointments", args=[self.organisation.ods_code])


class DelegateAppointmentEndView(ServiceFormMixin, AppointmentsMixin, FormView):
    form_class = DelegateAppointmentEndForm
    template_name = "referrers/form_page.jinja"
    title = "End a delegate appointment"

    @cached_property
    def appointment(self):
        # Read once, when the form or the page's lede first needs it (a GET builds the
        # context before the form).
        appointment = (
            selectors.delegate_appointments_at(self.organisation)
            .filter(pk=self.kwargs["pk"])
            .first()
        )
        if appointment is None:
            raise Http404("No such appointment at this organisation")
        return appointment

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "appointment": self.appointment}

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            submit_text="End appointment",
            lede=f"{self.appointment.delegate.full_name}, appointed from "
            f"{self.appointment.valid_from:%-d %B %Y} ({self.appointment.document_reference}). "
            "Decisions they have already made stay on record.",
            **kwargs,
        )

    def perform(self, form):
        services.delegate_appointment_end(
            appointment=self.appointment,
            ends_on=form.cleaned_data["ends_on"],
            by=self.request.user,
        )
        message = "The appointment has been ended"
        return message, reverse("delegate_appointments", args=[self.organisation.ods_code])


class AgreementListView(AppointmentsMixin, TemplateView):
    template_name = "referrers/agreements.jinja"
    title = "Shared-responsibility agreements"

    def get_context_data(self, **kwargs):
        page, pagination = paginate(self.request, selectors.agreements_of(self.organisation))
        return super().get_context_data(
            page=page, pagination=pagination, today=timezone.localdate(), **kwargs
        )


class AgreementCreateView(ServiceFormMixin, AppointmentsMixin, FormView):
    form_class = AgreementForm
    template_name = "referrers/form_page.jinja"
    title = "Record a shared-responsibility agreement"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "organisation": self.organisation}

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            submit_text="Record agreement",
            lede=f"{self.organisation.name} is the imaging provider. Referrers employed by the "
            "referring organisation may then apply here for entitlement (IR(ME)R 2024).",
            **kwargs,
        )

    def perform(self, form):
        data = form.cleaned_data
        services.agreement_create(
            imaging_provider=self.organisation,
            referring_organisation=data["referring_organisation"],
            valid_from=data["valid_from"],
            valid_to=data["valid_to"],
            document_reference=data["document_reference"],
            by=self.request.user,
        )
        message = "The agreement has been recorded"
        return message, reverse("agreements", args=[self.organisation.ods_code])
