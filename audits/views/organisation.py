"""Organisation pages of the audits app: a delegate reviews audits and reports, an IR(ME)R
practitioner records inappropriate referrals, a governance lead sees the dashboard and
downloads exports. Each is an `OrganisationMixin` page (the access selector decides) and
reaches its record through an `audits.selectors` function filtered by the organisation."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.generic import FormView, TemplateView, View

from referrers.views.mixins import OrganisationMixin, ServiceFormMixin, paginate
from training import selectors as training_selectors

from .. import selectors, services
from ..csv_export import csv_response
from ..forms import AuditActionForm, AuditReviewForm, InappropriateReferralForm, ReportReviewForm
from ..models import CycleStatus, ReportStatus, Verdict

# --- Delegates -------------------------------------------------------------------------------


class DelegateMixin(OrganisationMixin):
    permission = "decide_entitlements"

    def get_breadcrumbs(self):
        ods = self.organisation.ods_code
        return [
            *super().get_breadcrumbs(),
            {"href": reverse("delegate_home", args=[ods]), "text": "Entitlement delegate"},
            {"href": reverse("training_queue", args=[ods]), "text": "Training queue"},
        ]

    def can_act(self) -> bool:
        return training_selectors.is_current_delegate(self.request.user, self.organisation)


class AuditReviewView(DelegateMixin, ServiceFormMixin, FormView):
    template_name = "audits/audit_review.jinja"
    form_class = AuditReviewForm

    def get_cycle(self):
        if not hasattr(self, "cycle"):
            self.cycle = selectors.audit_cycle_at(self.organisation, self.kwargs["pk"])
        return self.cycle

    def get_title(self):
        cycle = self.get_cycle()
        return f"Audit {cycle.number} of {cycle.entitlement.reference}"

    def get_context_data(self, **kwargs):
        cycle = self.get_cycle()
        rows, links = paginate(self.request, selectors.extract_rows(cycle), 100)
        return super().get_context_data(
            cycle=cycle,
            rows=rows,
            row_links=links,
            verdicts=Verdict,
            actions=list(cycle.actions.select_related("completed_by").order_by("due_on", "pk")),
            action_form=kwargs.pop("action_form", None) or AuditActionForm(),
            can_act=self.can_act(),
            reviewable=cycle.status == CycleStatus.SUBMITTED,
            today=timezone.localdate(),
            **kwargs,
        )

    def perform(self, form):
        cycle = services.audit_cycle_review(
            cycle=self.get_cycle(),
            by=self.request.user,
            outcome=form.cleaned_data["outcome"],
            notes=form.cleaned_data["notes"],
        )
        return (
            f"The outcome of {cycle.entitlement.referrer.user.full_name}'s audit has been recorded",
            reverse("audit_review", args=[self.organisation.ods_code, cycle.pk]),
        )


class AuditActionAddView(AuditReviewView):
    form_class = AuditActionForm

    def get(self, request, *args, **kwargs):
        return redirect(reverse("audit_review", args=[self.organisation.ods_code, kwargs["pk"]]))

    def form_invalid(self, form):
        return self.render_to_response(
            self.get_context_data(form=AuditReviewForm(), action_form=form)
        )

    def perform(self, form):
        cycle = self.get_cycle()
        services.audit_action_add(cycle=cycle, by=self.request.user, **form.cleaned_data)
        return (
            "The action has been added",
            reverse("audit_review", args=[self.organisation.ods_code, cycle.pk]) + "#actions",
        )


class AuditActionDoneView(DelegateMixin, View):
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        action = selectors.audit_action_at(self.organisation, kwargs["pk"])
        try:
            services.audit_action_complete(action=action, by=request.user)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(request, "The action has been marked done")
        return redirect(
            reverse("audit_review", args=[self.organisation.ods_code, action.cycle_id]) + "#actions"
        )


class ReportReviewView(DelegateMixin, ServiceFormMixin, FormView):
    template_name = "audits/report_review.jinja"
    form_class = ReportReviewForm

    def get_report(self):
        if not hasattr(self, "report"):
            self.report = selectors.report_at(self.organisation, self.kwargs["pk"])
        return self.report

    def get_title(self):
        return f"Inappropriate referral {self.get_report().reference}"

    def get_context_data(self, **kwargs):
        report = self.get_report()
        return super().get_context_data(
            report=report,
            reviewable=report.status == ReportStatus.AWAITING_REVIEW,
            can_act=self.can_act(),
            **kwargs,
        )

    def perform(self, form):
        report = services.inappropriate_referral_review(
            report=self.get_report(),
            by=self.request.user,
            upheld=form.cleaned_data["upheld"],
            notes=form.cleaned_data["notes"],
        )
        return (
            f"Report {report.reference} is {report.get_status_display().lower()}",
            reverse("training_queue", args=[self.organisation.ods_code]) + "#referral-reports",
        )


# --- IR(ME)R practitioners -------------------------------------------------------------------


class PractitionerMixin(OrganisationMixin):
    permission = "report_referrals"

    def get_breadcrumbs(self):
        return [
            *super().get_breadcrumbs(),
            {
                "href": reverse("practitioner_home", args=[self.organisation.ods_code]),
                "text": "Find a referrer",
            },
        ]


class ReportFindView(PractitionerMixin, TemplateView):
    """Find the referrer to report, by name or registration number."""

    template_name = "audits/report_find.jinja"
    title = "Record an inappropriate referral"

    def get_context_data(self, **kwargs):
        search = self.request.GET.get("q", "").strip()
        page = links = None
        if search:
            page, links = paginate(
                self.request, selectors.referrers_to_report(self.organisation, search)
            )
        recent, _ = paginate(
            self.request, selectors.reports_by(self.request.user, self.organisation), 10
        )
        return super().get_context_data(
            search=search, page=page, pagination=links, recent=recent, **kwargs
        )


class ReportNewView(PractitionerMixin, ServiceFormMixin, FormView):
    template_name = "audits/report_form.jinja"
    form_class = InappropriateReferralForm

    def get_referrer(self):
        if not hasattr(self, "referrer"):
            self.referrer = selectors.referrer_to_report(self.organisation, self.kwargs["pk"])
        return self.referrer

    def get_title(self):
        return "Record an inappropriate referral"

    def get_breadcrumbs(self):
        return [
            *super().get_breadcrumbs(),
            {
                "href": reverse("inappropriate_referral_find", args=[self.organisation.ods_code]),
                "text": "Record an inappropriate referral",
            },
        ]

    def get_form_kwargs(self):
        return {
            **super().get_form_kwargs(),
            "examinations": list(selectors.examinations_at(self.organisation)),
        }

    def get_context_data(self, **kwargs):
        return super().get_context_data(referrer=self.get_referrer(), **kwargs)

    def perform(self, form):
        report = services.inappropriate_referral_record(
            organisation=self.organisation,
            by=self.request.user,
            referrer=self.get_referrer(),
            **form.cleaned_data,
        )
        return (
            f"Report {report.reference} about {report.referrer.user.full_name} has been sent "
            "to the delegates",
            reverse("inappropriate_referral_find", args=[self.organisation.ods_code]),
        )


# --- Governance leads ------------------------------------------------------------------------


class GovernanceMixin(OrganisationMixin):
    permission = "view_governance"

    def get_breadcrumbs(self):
        return [
            *super().get_breadcrumbs(),
            {
                "href": reverse("governance_home", args=[self.organisation.ods_code]),
                "text": "Governance",
            },
        ]


class DashboardView(GovernanceMixin, TemplateView):
    template_name = "audits/dashboard.jinja"
    title = "Governance dashboard"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            dashboard=selectors.dashboard_of(self.organisation, timezone.localdate()), **kwargs
        )


EXPORTS = {
    "register": ("register", lambda organisation, on: selectors.register_rows(organisation)),
    "training": ("training-status", selectors.training_status_rows),
    "audits": (
        "audit-outcomes",
        lambda organisation, on: selectors.audit_outcome_rows(organisation),
    ),
}


class ExportView(GovernanceMixin, View):
    def get(self, request, *args, **kwargs):
        from django.http import Http404

        if kwargs["kind"] not in EXPORTS:
            raise Http404("No such export")
        name, rows = EXPORTS[kwargs["kind"]]
        on = timezone.localdate()
        return csv_response(
            rows(self.organisation, on),
            f"{self.organisation.ods_code}-{name}-{on.isoformat()}.csv",
        )
