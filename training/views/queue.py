"""The delegate's training queue: what needs a person at one organisation, each with its
one-click action; reinstating a queued lapse; the LMS import.

Each section is paginated on its own (its own page parameter) and shows its total, so the
page stays the same size however many referrers the organisation has; the sections' queries
are in `training.selectors.queue`.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.generic import FormView, TemplateView, View

from audits import selectors as audit_selectors
from config.forms import apply_validation_error
from entitlements import selectors as entitlement_selectors

from .. import selectors, services
from ..csv_import import COLUMNS, MAX_FILE_BYTES, MAX_ROWS
from ..forms import TrainingImportForm
from ..models import LapseState, RecordKind
from ..requirements import Status
from .delegate import TrainingDelegateMixin

SECTION_SIZE = 20


def section_page(request, items, param: str, anchor: str, per_page: int = SECTION_SIZE):
    """One page of a section of a page with several, and its NHS pagination links: each
    section has its own page parameter, and the links return to the section."""
    paginator = Paginator(items, per_page)
    page = paginator.get_page(request.GET.get(param))
    query = request.GET.copy()
    links = {}
    if page.has_previous():
        query[param] = page.previous_page_number()
        links["previous"] = {
            "href": f"?{query.urlencode()}#{anchor}",
            "labelText": f"Page {page.previous_page_number()} of {paginator.num_pages}",
        }
    if page.has_next():
        query[param] = page.next_page_number()
        links["next"] = {
            "href": f"?{query.urlencode()}#{anchor}",
            "labelText": f"Page {page.next_page_number()} of {paginator.num_pages}",
        }
    return page, links


@dataclass
class ProblemGroup:
    label: str
    employed_elsewhere: bool
    total: int
    rows: list


def _groups(page_rows, totals: dict[str, int]) -> list[ProblemGroup]:
    """The rows of one page under their group headings, each heading with its group's total."""
    groups: list[ProblemGroup] = []
    for row in page_rows:
        if not groups or groups[-1].label != row.group:
            groups.append(ProblemGroup(row.group, row.employed_elsewhere, totals[row.group], []))
        groups[-1].rows.append(row)
    return groups


class TrainingQueueView(TrainingDelegateMixin, TemplateView):
    template_name = "training/queue.jinja"
    title = "Training queue"

    def get_breadcrumbs(self):
        return super().get_breadcrumbs()[:-1]

    def get_context_data(self, **kwargs):
        organisation, request = self.organisation, self.request
        today = timezone.localdate()
        version = entitlement_selectors.procedure_version_in_force(organisation, on=today)

        unverified, unverified_links = section_page(
            request, selectors.unverified_records_at(organisation, today), "records", "unverified"
        )
        problems = selectors.training_problems_at(organisation, today, version)
        totals: dict[str, int] = {}
        status_counts = dict.fromkeys((Status.LAPSED, Status.MISSING, Status.EXPIRING), 0)
        for problem in problems:
            totals[problem.group] = totals.get(problem.group, 0) + 1
            status_counts[problem.requirement.status] += 1
        training, training_links = section_page(request, problems, "training", "training")
        selectors.with_entitlements(training.object_list)
        open_lapses, open_links = section_page(
            request, selectors.lapses_at(organisation, LapseState.OPEN), "suspended", "suspended"
        )
        queued_lapses, queued_links = section_page(
            request, selectors.lapses_at(organisation, LapseState.QUEUED), "renewed", "renewed"
        )
        reviews, review_links = section_page(
            request, selectors.reviews_overdue_at(organisation, today), "reviews", "reviews"
        )
        registrations, registration_links = section_page(
            request,
            selectors.registrations_lapsed_at(organisation, today),
            "registrations",
            "registrations",
        )
        referral_reports, referral_report_links = section_page(
            request,
            audit_selectors.reports_awaiting_review_at(organisation),
            "reports",
            "referral-reports",
        )
        audit_reviews, audit_review_links = section_page(
            request,
            audit_selectors.audit_reviews_waiting_at(organisation),
            "audits",
            "audit-reviews",
        )
        audit_actions, audit_action_links = section_page(
            request,
            audit_selectors.audit_actions_overdue_at(organisation, today),
            "actions",
            "audit-actions",
        )
        return super().get_context_data(
            referral_reports=referral_reports,
            referral_report_links=referral_report_links,
            audit_reviews=audit_reviews,
            audit_review_links=audit_review_links,
            audit_actions=audit_actions,
            audit_action_links=audit_action_links,
            today=today,
            version=version,
            can_act=self.can_act(),
            can_reinstate=hasattr(services, "lapse_reinstate"),
            here=request.get_full_path(),
            unverified=unverified,
            unverified_links=unverified_links,
            training=training,
            training_groups=_groups(training.object_list, totals),
            training_links=training_links,
            status_counts=status_counts,
            open_lapses=open_lapses,
            open_links=open_links,
            queued_lapses=queued_lapses,
            queued_links=queued_links,
            reviews=reviews,
            review_links=review_links,
            registrations=registrations,
            registration_links=registration_links,
            **kwargs,
        )


class LapseReinstateView(TrainingDelegateMixin, View):
    """One click: reinstate what a lapse suspended, once the renewed training is verified and
    the procedure says a delegate reinstates (POST only)."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        lapse = selectors.lapse_at(self.organisation, kwargs["pk"])
        back = self.next_url(self.queue_url("renewed"))
        entitlement = lapse.entitlement
        try:
            services.lapse_reinstate(
                lapse=lapse,
                by=request.user,
                reason=f"{lapse.get_training_kind_display()} training renewed and verified; "
                "reinstated from the training queue",
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            return redirect(back)
        messages.success(
            request,
            f"{entitlement.referrer.user.full_name}'s {entitlement.reference} has been reinstated",
        )
        return redirect(back)


class TrainingImportView(TrainingDelegateMixin, FormView):
    """Upload an LMS export. Nothing is saved unless every line of the file is good."""

    form_class = TrainingImportForm
    template_name = "training/import.jinja"
    title = "Import training records from a CSV file"

    problems: list = []

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            problems=self.problems,
            columns=COLUMNS,
            kinds=RecordKind.choices,
            max_mb=MAX_FILE_BYTES // (1024 * 1024),
            max_rows=MAX_ROWS,
            imports=list(selectors.training_imports_at(self.organisation)[:10]),
            can_act=self.can_act(),
            **kwargs,
        )

    def form_valid(self, form):
        try:
            result = services.training_import(
                organisation=self.organisation,
                by=self.request.user,
                file=form.cleaned_data["file"],
            )
        except ValidationError as error:
            apply_validation_error(form, error)
            return self.form_invalid(form)
        if not result.is_valid:
            self.problems = result.problems
            lines = {p.line for p in result.problems if p.line is not None}
            if len(result.problems) == 1 and result.problems[0].line in (None, 1):
                form.add_error("file", f"{result.problems[0].message}. Nothing has been imported")
            else:
                count = len(result.problems)
                form.add_error(
                    "file",
                    f"The file has {count} problem{'s' if count != 1 else ''} on {len(lines)} "
                    f"line{'s' if len(lines) != 1 else ''}. Nothing has been imported: correct "
                    "the file and upload it again",
                )
            return self.form_invalid(form)
        if result.created:
            message = (
                f"{result.created} training record{'s' if result.created != 1 else ''} "
                f"{'have' if result.created != 1 else 'has'} been imported and verified"
            )
            if result.already:
                message += f"; {result.already} were already imported and have not changed"
        else:
            message = (
                f"Every record in the file ({result.already}) had already been imported: "
                "nothing has changed"
            )
        messages.success(self.request, message)
        return redirect(reverse("training_import", args=[self.organisation.ods_code]))
