"""A referrer's own audits (upload an extract, see each request's verdict, reflect and submit)
and the upheld feedback on their requests. Everything is read through
`selectors.audit_cycles_of_referrer` / `upheld_reports_of_referrer`: another person's audit is
a 404."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.generic import FormView, TemplateView, View

from config.forms import apply_validation_error
from referrers.views.mixins import paginate

from .. import selectors, services
from ..csv_import import COLUMNS, MAX_FILE_BYTES, MAX_ROWS
from ..forms import AuditSubmitForm, ExtractUploadForm
from ..models import CycleStatus, Verdict


def _breadcrumbs(*extra):
    return [
        {"href": reverse("home"), "text": "Home"},
        {"href": reverse("referrer_home"), "text": "Your registration and employments"},
        *extra,
    ]


class AuditsView(LoginRequiredMixin, TemplateView):
    template_name = "audits/referrer_audits.jinja"

    def get_context_data(self, **kwargs):
        user = self.request.user
        page, links = paginate(self.request, selectors.upheld_reports_of_referrer(user))
        return super().get_context_data(
            title="Your audits and feedback",
            cycles=list(selectors.audit_cycles_of_referrer(user)),
            reports=page,
            report_links=links,
            today=timezone.localdate(),
            breadcrumbs=_breadcrumbs(),
            **kwargs,
        )


class AuditView(LoginRequiredMixin, FormView):
    """One audit: its extract and verdicts, the upload form and (once uploaded) the submit form."""

    template_name = "audits/referrer_audit.jinja"
    form_class = ExtractUploadForm
    problems: list = []

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.cycle = selectors.audit_cycle_of_referrer(request.user, kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        cycle = self.cycle
        extract = cycle.extract or cycle.extracts.order_by("-uploaded_at", "-id").first()
        rows, links = paginate(self.request, selectors.extract_rows(cycle, extract), 100)
        submit_form = kwargs.pop("submit_form", None) or AuditSubmitForm()
        return super().get_context_data(
            title=f"Audit {cycle.number} of {cycle.entitlement.reference}",
            cycle=cycle,
            extract=extract,
            rows=rows,
            row_links=links,
            verdicts=Verdict,
            problems=self.problems,
            columns=COLUMNS,
            max_mb=MAX_FILE_BYTES // (1024 * 1024),
            max_rows=MAX_ROWS,
            open=cycle.status == CycleStatus.OPEN,
            submit_form=submit_form,
            today=timezone.localdate(),
            breadcrumbs=_breadcrumbs({"href": reverse("audits"), "text": "Your audits"}),
            **kwargs,
        )

    def form_valid(self, form):
        try:
            result = services.audit_extract_upload(
                cycle=self.cycle, by=self.request.user, file=form.cleaned_data["file"]
            )
        except ValidationError as error:
            apply_validation_error(form, error)
            return self.form_invalid(form)
        if not result.is_valid:
            self.problems = result.problems
            count = len(result.problems)
            form.add_error(
                "file",
                f"The file has {count} problem{'s' if count != 1 else ''}. Nothing has been "
                "saved: correct the file and upload it again",
            )
            return self.form_invalid(form)
        x = result.extract
        messages.success(
            self.request,
            f"{x.rows} requests checked: {x.within_scope} within scope, {x.outside_scope} "
            f"outside scope, {x.unknown_examination} with an unknown examination code",
        )
        return redirect(reverse("audit", args=[self.cycle.pk]))


class AuditSubmitView(AuditView):
    form_class = AuditSubmitForm

    def get(self, request, *args, **kwargs):
        return redirect(reverse("audit", args=[self.cycle.pk]))

    def form_invalid(self, form):
        return self.render_to_response(
            self.get_context_data(form=ExtractUploadForm(), submit_form=form)
        )

    def form_valid(self, form):
        try:
            services.audit_cycle_submit(
                cycle=self.cycle, by=self.request.user, reflection=form.cleaned_data["reflection"]
            )
        except ValidationError as error:
            apply_validation_error(form, error)
            return self.form_invalid(form)
        messages.success(self.request, "Your audit has been submitted to a delegate")
        return redirect(reverse("audit", args=[self.cycle.pk]))


class AuditActionDoneView(LoginRequiredMixin, View):
    """The referrer marks one of their own audit actions done (POST)."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        action = selectors.audit_action_of_referrer(request.user, kwargs["pk"])
        try:
            services.audit_action_complete(action=action, by=request.user)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(request, "The action has been marked done")
        return redirect(reverse("audit", args=[action.cycle_id]))
