"""The home page of each role."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import Count, Min
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.generic import TemplateView

from entitlements import selectors as entitlement_selectors

from .. import selectors
from ..models import LevelOfPractice
from ..regulators import Profession
from .mixins import OrganisationMixin, paginate


class HomeView(LoginRequiredMixin, TemplateView):
    """Where signing in lands: straight to the only home, or a choice between several."""

    template_name = "referrers/home.jinja"

    def get(self, request, *args, **kwargs):
        homes = selectors.role_homes(request.user)
        if len(homes) == 1:
            home = homes[0]
            return redirect(reverse(home.url_name, args=home.url_args))
        return self.render_to_response({"title": "What do you want to do?", "homes": homes})


class ReferrerHomeView(LoginRequiredMixin, TemplateView):
    """A referrer's own page: registration and employments."""

    template_name = "referrers/referrer_home.jinja"

    def get_context_data(self, **kwargs):
        profile = selectors.referrer_profile_of(self.request.user)
        employments = selectors.employments_of_referrer(profile) if profile else []
        today = timezone.localdate()
        # The open applications, newest first: where to continue a draft or see its status.
        open_applications = (
            entitlement_selectors.open_applications_of_referrer(self.request.user)[:5]
            if profile
            else []
        )
        return super().get_context_data(
            title="Your registration and employments",
            profile=profile,
            employments=employments,
            open_applications=open_applications,
            today=today,
            breadcrumbs=[{"href": reverse("home"), "text": "Home"}],
            **kwargs,
        )


class SupervisorHomeView(LoginRequiredMixin, TemplateView):
    template_name = "referrers/supervisor_home.jinja"

    def get_context_data(self, **kwargs):
        page, pagination = paginate(self.request, selectors.supervisees_of(self.request.user))
        return super().get_context_data(
            title="Referrers you supervise",
            to_endorse=list(entitlement_selectors.applications_to_endorse(self.request.user)),
            today=timezone.localdate(),
            page=page,
            pagination=pagination,
            breadcrumbs=[{"href": reverse("home"), "text": "Home"}],
            **kwargs,
        )


class DelegateHomeView(OrganisationMixin, TemplateView):
    permission = "decide_entitlements"
    template_name = "referrers/delegate_home.jinja"
    title = "Entitlement delegate"

    def get_context_data(self, **kwargs):
        search = self.request.GET.get("q", "")
        page, pagination = paginate(
            self.request,
            selectors.employments_at(self.request.user, self.organisation, search=search),
        )
        waiting = entitlement_selectors.application_queue(self.organisation).aggregate(
            count=Count("id"), oldest=Min("submitted_at")
        )
        today = timezone.localdate()
        return super().get_context_data(
            waiting_count=waiting["count"],
            longest_wait=(today - timezone.localdate(waiting["oldest"])).days
            if waiting["oldest"]
            else None,
            appointments=selectors.delegate_appointments_of(self.request.user, self.organisation),
            procedure_version=entitlement_selectors.procedure_version_in_force(self.organisation),
            page=page,
            pagination=pagination,
            search=search,
            today=today,
            **kwargs,
        )


class GovernanceHomeView(OrganisationMixin, TemplateView):
    permission = "view_governance"
    template_name = "referrers/governance_home.jinja"
    title = "Governance"

    def get_context_data(self, **kwargs):
        employments = selectors.employments_at(self.request.user, self.organisation)
        by_profession = (
            employments.values("referrer__profession").annotate(count=Count("id")).order_by()
        )
        by_level = employments.values("level").annotate(count=Count("id")).order_by()
        today = timezone.localdate()
        return super().get_context_data(
            referrer_count=employments.count(),
            by_profession=sorted(
                ((Profession(r["referrer__profession"]).label, r["count"]) for r in by_profession),
            ),
            by_level=[
                (LevelOfPractice(r["level"]).label, r["count"])
                for r in sorted(by_level, key=lambda r: LevelOfPractice.values.index(r["level"]))
            ],
            procedure_version=entitlement_selectors.procedure_version_in_force(self.organisation),
            appointments=[
                a
                for a in selectors.delegate_appointments_at(self.organisation)
                if a.is_current(today)
            ],
            agreements=selectors.agreements_of(self.organisation),
            entitlement_counts=entitlement_selectors.entitlement_counts_at(self.organisation),
            today=today,
            **kwargs,
        )


class PractitionerHomeView(OrganisationMixin, TemplateView):
    """An IR(ME)R practitioner finds a referrer by name or registration number."""

    permission = "view_register"
    template_name = "referrers/practitioner_home.jinja"
    title = "Find a referrer"

    def get_context_data(self, **kwargs):
        search = self.request.GET.get("q", "").strip()
        page = pagination = None
        if search:
            page, pagination = paginate(
                self.request,
                selectors.employments_at(self.request.user, self.organisation, search=search),
            )
        return super().get_context_data(
            search=search,
            page=page,
            pagination=pagination,
            can_report=selectors.has_permission(
                self.request.user, "report_referrals", self.organisation
            ),
            **kwargs,
        )


class AdministrationHomeView(OrganisationMixin, TemplateView):
    permission = "manage_catalogue"
    template_name = "referrers/administration_home.jinja"
    title = "Organisation administration"

    def get_context_data(self, **kwargs):
        today = timezone.localdate()
        return super().get_context_data(
            catalogue_counts=entitlement_selectors.examination_counts_by_modality(
                self.organisation
            ),
            procedure_version=entitlement_selectors.procedure_version_in_force(self.organisation),
            procedure_versions=entitlement_selectors.procedure_versions_of(self.organisation)[:5],
            appointments=selectors.delegate_appointments_at(self.organisation)[:10],
            agreement_count=selectors.agreements_of(self.organisation).count(),
            departments=self.organisation.departments.order_by("name"),
            today=today,
            **kwargs,
        )
