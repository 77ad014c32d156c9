"""The referrer's application journey (principle 2): steps, check your answers, evidence.

Every page reaches the application through `selectors.application_of_referrer` (and a file
through `selectors.evidence_for`), so another person's id is a 404 and nothing about it is
shown or changed. The step pages of an application that is no longer with the referrer
(submitted, decided, withdrawn) change nothing: they send the person to its summary.
"""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.urls import path, reverse
from django.views import View
from django.views.generic import FormView, TemplateView

from config.forms import apply_validation_error
from referrers import selectors as people
from referrers import services as people_services
from referrers.views.mixins import paginate

from .. import selectors, services
from ..forms.applications import (
    KIND_HINTS,
    ApplicationStartForm,
    EmployerForm,
    EmploymentAddForm,
    EvidenceForm,
    ScopeItemForm,
    ServiceNeedForm,
    SupervisionForm,
    employer_choices,
)
from ..models import ApplicationStatus, EntitlementKind
from ..services import ScopeRequest

# The task list: each step's key (as in services.application_problems), name and page.
SECTIONS = (
    ("employment", "Role and kind", "application_employment"),
    ("service_need", "Service need", "application_service_need"),
    ("scope", "Scope requested", "application_scope"),
    ("supervision", "Supervision and accountability", "application_supervision"),
    ("evidence", "Evidence", "application_evidence"),
)

WHAT_HAPPENS_NEXT = {
    ApplicationStatus.SUBMITTED: "Your clinical supervisor will be asked to endorse it.",
    ApplicationStatus.AWAITING_ENDORSEMENT: "Your clinical supervisor, {supervisor}, has been "
    "asked to confirm your service need and supervision arrangements. Once they endorse it, "
    "an entitlement delegate at {organisation} decides.",
    ApplicationStatus.UNDER_REVIEW: "Your clinical supervisor has endorsed it. An entitlement "
    "delegate at {organisation} will decide: they may grant it as asked, grant a narrower "
    "scope, decline it, or return it to you for more information. You will be told by email.",
    ApplicationStatus.GRANTED: "You have been granted an entitlement. Your letter sets out "
    "what you may request.",
    ApplicationStatus.DECLINED: "The entitlement delegate declined this application. You can "
    "start a new application if your circumstances change.",
    ApplicationStatus.WITHDRAWN: "You withdrew this application. You can start a new "
    "application at any time.",
}


def employment_label(employment) -> str:
    """ "Job title, level, department at Employer": how a role is named on these pages."""
    parts = [employment.job_title, employment.get_level_display().lower()]
    if employment.department_id:
        parts.append(employment.department.name)
    return f"{', '.join(parts)} at {employment.organisation.name}"


def section_statuses(application, problems: dict[str, str]) -> dict[str, str]:
    """Each task list section: "Completed", "Incomplete" (started) or "Not started"."""
    started = {
        "employment": True,
        "service_need": bool(application.service_need.strip() or application.expected_volume),
        "scope": False,
        "supervision": bool(
            application.decision_line.strip() or application.accountability_line.strip()
        ),
        "evidence": False,
    }
    return {
        key: "Completed" if key not in problems else "Incomplete" if started[key] else "Not started"
        for key, _, _ in SECTIONS
    }


def completed_count(application) -> int:
    problems = services.application_problems(application)
    return sum(status == "Completed" for status in section_statuses(application, problems).values())


# --- Plumbing -------------------------------------------------------------------------------


class ReferrerPageMixin(LoginRequiredMixin):
    """A page of the signed-in person's own applications."""

    title = ""

    def get_title(self) -> str:
        return self.title

    def get_breadcrumbs(self) -> list[dict]:
        return []

    def get_back_url(self) -> str | None:
        return None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("title", self.get_title())
        context.setdefault("breadcrumbs", self.get_breadcrumbs())
        context.setdefault("back_url", self.get_back_url())
        return context


def applications_crumbs() -> list[dict]:
    return [
        {"href": reverse("home"), "text": "Home"},
        {"href": reverse("applications"), "text": "Your applications"},
    ]


class ApplicationMixin(ReferrerPageMixin):
    """A page of one of the person's applications (404 for anyone else's). With
    `editable_only`, an application that is no longer with the referrer is not changed:
    the page sends them to its summary instead."""

    editable_only = True

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.application = selectors.application_of_referrer(request.user, kwargs["pk"])
        if self.editable_only and not self.application.is_editable:
            messages.info(
                request,
                f"Application {self.application.reference} is "
                f"{self.application.get_status_display().lower()}, so it cannot be changed",
            )
            return redirect("application", self.application.pk)
        return super().dispatch(request, *args, **kwargs)

    def application_url(self, name: str = "application") -> str:
        return reverse(name, args=[self.application.pk])

    def get_back_url(self):
        return self.application_url()

    def get_context_data(self, **kwargs):
        return super().get_context_data(application=self.application, **kwargs)


class StepFormMixin:
    """A form whose valid data goes to a service. `perform(form)` calls it and returns the
    success message ("" for none) and where to go; a ValidationError it raises is shown on
    the form, and the service has saved nothing."""

    def perform(self, form) -> tuple[str, str]:
        raise NotImplementedError

    def service_errors(self, error: ValidationError) -> ValidationError:
        return error

    def form_valid(self, form):
        try:
            message, next_url = self.perform(form)
        except ValidationError as error:
            apply_validation_error(form, self.service_errors(error))
            return self.form_invalid(form)
        if message:
            messages.success(self.request, message)
        return redirect(next_url)


# --- The list -------------------------------------------------------------------------------


class ApplicationListView(ReferrerPageMixin, TemplateView):
    template_name = "entitlements/applications/list.jinja"
    title = "Your applications"

    def get_breadcrumbs(self):
        return [{"href": reverse("home"), "text": "Home"}]

    def get_context_data(self, **kwargs):
        profile = people.referrer_profile_of(self.request.user)
        if profile is None:
            return super().get_context_data(profile=None, **kwargs)
        page, pagination = paginate(
            self.request, selectors.applications_of_referrer(self.request.user)
        )
        rows = [
            {
                "application": application,
                "completed": completed_count(application) if application.is_editable else None,
            }
            for application in page.object_list
        ]
        return super().get_context_data(
            profile=profile,
            page=page,
            rows=rows,
            pagination=pagination,
            section_count=len(SECTIONS),
            **kwargs,
        )


# --- Step 1: role and kind -----------------------------------------------------------------


class RoleAndKindMixin(StepFormMixin):
    """Step 1, for a new application and for changing a draft's answers."""

    form_class = ApplicationStartForm
    template_name = "entitlements/applications/start.jinja"

    def choices(self):
        if not hasattr(self, "_choices"):
            self._choices = selectors.entitling_choices(self.request.user)
        return self._choices

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "choices": self.choices()[0]}

    def service_errors(self, error):
        return ApplicationStartForm.service_errors(error)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context["form"]
        choices, blocked = self.choices()
        selected = str(form["choice"].value() or "")
        choice_items = []
        for choice in choices:
            if choice.agreement is not None:
                hint = (
                    f"Applying to {choice.organisation.name} under the shared-responsibility "
                    f"agreement {choice.agreement.document_reference}"
                )
            else:
                hint = f"Applying to {choice.organisation.name}"
            choice_items.append(
                {
                    "value": choice.value,
                    "text": employment_label(choice.employment),
                    "hint": {"text": hint},
                    "checked": choice.value == selected,
                }
            )
        kind = str(form["kind"].value() or "")
        kind_items = [
            {
                "value": value,
                "text": label,
                "hint": {"text": KIND_HINTS[value]},
                "checked": value == kind,
            }
            for value, label in EntitlementKind.choices
        ]
        return {
            **context,
            "choice_items": choice_items,
            "kind_items": kind_items,
            "blocked": [
                {"label": employment_label(employment), "reason": reason}
                for employment, reason in blocked
            ],
        }


class ApplicationStartView(RoleAndKindMixin, ReferrerPageMixin, FormView):
    title = "Which role is this application for?"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and people.referrer_profile_of(request.user) is None:
            return redirect("applications")
        return super().dispatch(request, *args, **kwargs)

    def get_back_url(self):
        return reverse("applications")

    def perform(self, form):
        data = form.cleaned_data
        application = services.application_start(
            by=self.request.user,
            employment_id=data["employment_id"],
            organisation_id=data["organisation_id"],
            kind=data["kind"],
        )
        message = f"Your application {application.reference} has been started and saved as a draft"
        return message, reverse("application", args=[application.pk])


class ApplicationEmploymentView(RoleAndKindMixin, ApplicationMixin, FormView):
    title = "Which role is this application for?"

    def get(self, request, *args, **kwargs):
        if self.application.variation_of_id:
            return self._variation_refused()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        if self.application.variation_of_id:
            return self._variation_refused()
        return super().post(request, *args, **kwargs)

    def _variation_refused(self):
        messages.info(
            self.request,
            "This application asks to change "
            f"{self.application.variation_of.reference}: its role and kind stay the same",
        )
        return redirect("application", self.application.pk)

    def get_initial(self):
        return {
            "choice": f"{self.application.employment_id}:{self.application.organisation_id}",
            "kind": self.application.kind,
        }

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            has_scope_items=self.application.scope_items.exists(), **kwargs
        )

    def perform(self, form):
        data = form.cleaned_data
        services.application_change_employment(
            application=self.application,
            by=self.request.user,
            employment_id=data["employment_id"],
            organisation_id=data["organisation_id"],
            kind=data["kind"],
        )
        return "", self.application_url()


# --- The task list, or the summary of an application that has left the referrer -----------


class ApplicationView(ApplicationMixin, TemplateView):
    editable_only = False

    def get_title(self):
        if self.application.is_editable:
            return "Your application"
        return f"Application {self.application.reference}"

    def get_back_url(self):
        return None

    def get_breadcrumbs(self):
        return applications_crumbs()

    def get_template_names(self):
        if self.application.is_editable:
            return ["entitlements/applications/task_list.jinja"]
        return ["entitlements/applications/summary.jinja"]

    def get_context_data(self, **kwargs):
        application = self.application
        context = {
            "scope_items": list(selectors.application_scope_items(application)),
            "evidence": list(selectors.application_evidence(application)),
            "role_label": employment_label(application.employment),
        }
        if application.is_editable:
            problems = services.application_problems(application)
            statuses = section_statuses(application, problems)
            context.update(
                tasks=self._tasks(statuses, context),
                completed=sum(s == "Completed" for s in statuses.values()),
                section_count=len(SECTIONS),
                ready=not problems,
                return_note=(
                    selectors.application_return_note(application)
                    if application.status == ApplicationStatus.RETURNED
                    else None
                ),
            )
        else:
            context.update(
                what_next=WHAT_HAPPENS_NEXT.get(application.status, "").format(
                    supervisor=(
                        application.clinical_supervisor.full_name
                        if application.clinical_supervisor
                        else "your supervisor"
                    ),
                    organisation=application.organisation.name,
                ),
                days_waiting=application.days_waiting(),
                decision=(
                    selectors.application_final_decision(application)
                    if application.status in (ApplicationStatus.GRANTED, ApplicationStatus.DECLINED)
                    else None
                ),
                entitlement=(
                    selectors.entitlement_of_application(application)
                    if application.status == ApplicationStatus.GRANTED
                    else None
                ),
            )
        return super().get_context_data(**context, **kwargs)

    def _tasks(self, statuses, context) -> list[dict]:
        application = self.application
        hints = {
            "employment": f"{context['role_label']}: {application.get_kind_display().lower()}",
            "service_need": (
                f"{application.expected_volume:,} requests a year"
                if application.expected_volume
                else ""
            ),
            "scope": self._count(len(context["scope_items"]), "examination or group", "s"),
            "supervision": (
                application.clinical_supervisor.full_name if application.clinical_supervisor else ""
            ),
            "evidence": self._count(len(context["evidence"]), "file", "s"),
        }
        tasks = []
        for key, name, url_name in SECTIONS:
            status = statuses[key]
            href = reverse(url_name, args=[application.pk])
            hint = hints[key]
            if key == "employment" and application.variation_of_id:
                href = None
                hint = f"A request to change {application.variation_of.reference}"
            tasks.append(
                {
                    "heading": {"text": name},
                    "href": href,
                    "hint": {"text": hint} if hint else None,
                    "status": (
                        {"text": "Completed"}
                        if status == "Completed"
                        else {
                            "tag": {
                                "text": status,
                                "classes": "nhsuk-tag--blue"
                                if status == "Incomplete"
                                else "nhsuk-tag--white",
                            }
                        }
                    ),
                }
            )
        return tasks

    @staticmethod
    def _count(n: int, word: str, plural: str) -> str:
        if not n:
            return ""
        if word.endswith("group"):
            return f"{n} examination{'s' if n != 1 else ''} or group{'s' if n != 1 else ''}"
        return f"{n} {word}{plural if n != 1 else ''}"


# --- Steps 2 and 4: questions --------------------------------------------------------------


class ServiceNeedView(StepFormMixin, ApplicationMixin, FormView):
    form_class = ServiceNeedForm
    template_name = "entitlements/applications/question.jinja"
    title = "Service need"

    def get_initial(self):
        return {
            "service_need": self.application.service_need,
            "expected_volume": self.application.expected_volume,
        }

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            lede="Tell us why your role needs to request imaging itself. Your clinical "
            "supervisor will be asked to confirm it.",
            **kwargs,
        )

    def perform(self, form):
        services.application_answer(
            application=self.application, by=self.request.user, **form.cleaned_data
        )
        return "", self.application_url()


class SupervisionView(StepFormMixin, ApplicationMixin, FormView):
    form_class = SupervisionForm
    template_name = "entitlements/applications/question.jinja"
    title = "Supervision and accountability"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_initial(self):
        supervisor = self.application.clinical_supervisor
        return {
            "clinical_supervisor": supervisor.email if supervisor else "",
            "decision_line": self.application.decision_line,
            "accountability_line": self.application.accountability_line,
        }

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            lede="Your clinical supervisor is asked to endorse your application before an "
            "entitlement delegate decides it. Your letter of entitlement states these lines.",
            **kwargs,
        )

    def perform(self, form):
        services.application_answer(
            application=self.application, by=self.request.user, **form.cleaned_data
        )
        return "", self.application_url()


# --- Step 3: scope -------------------------------------------------------------------------


class ScopeView(ApplicationMixin, TemplateView):
    template_name = "entitlements/applications/scope.jinja"
    title = "Scope requested"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            scope_items=list(selectors.application_scope_items(self.application)), **kwargs
        )


class ScopeItemFormMixin(StepFormMixin, ApplicationMixin):
    form_class = ScopeItemForm
    template_name = "entitlements/applications/scope_item.jinja"

    def get_back_url(self):
        return self.application_url("application_scope")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "organisation": self.application.organisation}

    def scope_request(self, form) -> ScopeRequest:
        data = form.cleaned_data
        examination, group = data["subject"]
        return ScopeRequest(
            examination=examination,
            group=group,
            age_min=data["age_min"],
            age_max=data["age_max"],
            settings=tuple(data["settings"]),
            clinical_indications=data["clinical_indications"],
            exclusions=data["exclusions"],
        )


class ScopeItemAddView(ScopeItemFormMixin, FormView):
    title = "Add an examination"

    def get_initial(self):
        return {"age_min": 0}

    def perform(self, form):
        item = services.application_scope_item_add(
            application=self.application, by=self.request.user, request=self.scope_request(form)
        )
        return f"{item.subject_label} has been added", self.application_url("application_scope")


class ScopeItemEditView(ScopeItemFormMixin, FormView):
    def get_item(self):
        if not hasattr(self, "item"):
            self.item = selectors.application_scope_item(self.application, self.kwargs["item_pk"])
        return self.item

    def get(self, request, *args, **kwargs):
        self.get_item()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.get_item()
        return super().post(request, *args, **kwargs)

    def get_title(self):
        return f"Change {self.get_item().subject_label}"

    def get_initial(self):
        return ScopeItemForm.initial_from(self.get_item())

    def perform(self, form):
        item = services.application_scope_item_update(
            item=self.get_item(), by=self.request.user, request=self.scope_request(form)
        )
        return f"{item.subject_label} has been changed", self.application_url("application_scope")


class ConfirmView(ApplicationMixin, TemplateView):
    """A question with one button: GET asks, POST does (`act()` returns message and URL)."""

    template_name = "entitlements/applications/confirm.jinja"
    button = ""
    warning = True

    def act(self) -> tuple[str, str]:
        raise NotImplementedError

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            button_text=self.button, warning=self.warning, **self.details(), **kwargs
        )

    def details(self) -> dict:
        return {}

    def post(self, request, *args, **kwargs):
        try:
            message, next_url = self.act()
        except ValidationError as error:
            for text in error.messages:
                messages.info(request, text)
            return redirect("application", self.application.pk)
        messages.success(request, message)
        return redirect(next_url)


class ScopeItemRemoveView(ConfirmView):
    button = "Remove examination"

    def get_item(self):
        if not hasattr(self, "item"):
            self.item = selectors.application_scope_item(self.application, self.kwargs["item_pk"])
        return self.item

    def get(self, request, *args, **kwargs):
        self.get_item()
        return super().get(request, *args, **kwargs)

    def get_title(self):
        return f"Are you sure you want to remove {self.get_item().subject_label}?"

    def get_back_url(self):
        return self.application_url("application_scope")

    def details(self):
        return {
            "lede": "It will no longer be part of the scope you are asking for. You can add "
            "it again later.",
            "cancel_url": self.application_url("application_scope"),
            "cancel_text": "No, keep it",
        }

    def act(self):
        item = self.get_item()
        label = item.subject_label
        services.application_scope_item_remove(item=item, by=self.request.user)
        return f"{label} has been removed", self.application_url("application_scope")


# --- Step 5: evidence ----------------------------------------------------------------------


class EvidenceView(StepFormMixin, ApplicationMixin, FormView):
    form_class = EvidenceForm
    template_name = "entitlements/applications/evidence.jinja"
    title = "Evidence"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            evidence=list(selectors.application_evidence(self.application)), **kwargs
        )

    def perform(self, form):
        data = form.cleaned_data
        evidence = services.evidence_add(
            application=self.application,
            by=self.request.user,
            upload=data["file"],
            kind=data["kind"],
            description=data["description"],
        )
        message = f"{evidence.original_name} has been uploaded"
        return message, self.application_url("application_evidence")


class EvidenceRemoveView(ConfirmView):
    button = "Remove file"

    def get_evidence(self):
        if not hasattr(self, "evidence"):
            evidence = selectors.evidence_for(self.request.user, self.kwargs["evidence_pk"])
            if evidence.application_id != self.application.pk:
                raise Http404("No such file on this application")
            self.evidence = evidence
        return self.evidence

    def get(self, request, *args, **kwargs):
        self.get_evidence()
        return super().get(request, *args, **kwargs)

    def get_title(self):
        return f"Are you sure you want to remove {self.get_evidence().original_name}?"

    def get_back_url(self):
        return self.application_url("application_evidence")

    def details(self):
        return {
            "lede": "It will no longer be part of your application. A record that you "
            "uploaded it is kept.",
            "cancel_url": self.application_url("application_evidence"),
            "cancel_text": "No, keep it",
        }

    def act(self):
        evidence = self.get_evidence()
        services.evidence_remove(evidence=evidence, by=self.request.user)
        message = f"{evidence.original_name} has been removed"
        return message, self.application_url("application_evidence")


class EvidenceDownloadView(LoginRequiredMixin, View):
    """A private file, to whoever `selectors.evidence_for` allows; never a public URL."""

    def get(self, request, pk):
        evidence = selectors.evidence_for(request.user, pk)
        try:
            handle = evidence.file.open("rb")
        except FileNotFoundError:
            raise Http404("The file is missing") from None
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=evidence.original_name,
            content_type=evidence.content_type,
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response


# --- Check your answers, submit, withdraw --------------------------------------------------


class CheckView(ApplicationMixin, TemplateView):
    template_name = "entitlements/applications/check.jinja"
    title = "Check your answers before submitting your application"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            scope_items=list(selectors.application_scope_items(self.application)),
            evidence=list(selectors.application_evidence(self.application)),
            role_label=employment_label(self.application.employment),
            problems=self.problem_items(services.application_problems(self.application)),
            **kwargs,
        )

    def problem_items(self, problems: dict[str, str], others=()) -> list[dict]:
        pages = {key: url_name for key, _, url_name in SECTIONS}
        items = [
            {"text": text, "href": reverse(pages[key], args=[self.application.pk])}
            for key, text in problems.items()
        ]
        items += [{"text": text} for text in others if text not in problems.values()]
        return items

    def post(self, request, *args, **kwargs):
        try:
            services.application_submit(application=self.application, by=request.user)
        except ValidationError as error:
            problems = services.application_problems(self.application)
            context = self.get_context_data(
                errors=self.problem_items(problems, others=error.messages)
            )
            return self.render_to_response(context)
        return redirect("application_submitted", self.application.pk)


class SubmittedView(ApplicationMixin, TemplateView):
    editable_only = False
    template_name = "entitlements/applications/submitted.jinja"
    title = "Application submitted"

    def get(self, request, *args, **kwargs):
        # The confirmation belongs to the moment of submitting; afterwards, the summary.
        if self.application.status not in (
            ApplicationStatus.SUBMITTED,
            ApplicationStatus.AWAITING_ENDORSEMENT,
        ):
            return redirect("application", self.application.pk)
        return super().get(request, *args, **kwargs)

    def get_back_url(self):
        return None

    def get_context_data(self, **kwargs):
        return super().get_context_data(breadcrumbs=applications_crumbs(), **kwargs)


class WithdrawView(ConfirmView):
    editable_only = False
    button = "Withdraw application"

    def get(self, request, *args, **kwargs):
        if not self.application.is_open:
            messages.info(
                request,
                f"Application {self.application.reference} is "
                f"{self.application.get_status_display().lower()}, so it cannot be withdrawn",
            )
            return redirect("application", self.application.pk)
        return super().get(request, *args, **kwargs)

    def get_title(self):
        return f"Are you sure you want to withdraw application {self.application.reference}?"

    def details(self):
        return {
            "lede": "Nobody will be asked to endorse or decide it. It stays on your list as "
            "withdrawn, and you cannot reopen it: you would need to start a new application.",
            "cancel_url": self.application_url(),
            "cancel_text": "No, keep my application",
        }

    def act(self):
        services.application_withdraw(application=self.application, by=self.request.user)
        message = f"Application {self.application.reference} has been withdrawn"
        return message, self.application_url()


# --- Adding a role --------------------------------------------------------------------------


class EmploymentAddView(ReferrerPageMixin, FormView):
    """A referrer records a role that is not on their record yet: first the employer (so its
    departments can be offered without JavaScript), then the rest."""

    form_class = EmploymentAddForm
    title = "Add a role"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.profile = people.referrer_profile_of(request.user)
        if self.profile is None:
            return redirect("applications")
        return super().dispatch(request, *args, **kwargs)

    def get_back_url(self):
        return reverse("application_start")

    def employer(self, data):
        ods_code = (data.get("organisation") or "").strip().upper()
        return employer_choices().filter(ods_code=ods_code).first() if ods_code else None

    def get(self, request, *args, **kwargs):
        self.organisation = self.employer(request.GET)
        if self.organisation is None:
            employer_form = EmployerForm(request.GET if "organisation" in request.GET else None)
            employer_form.is_valid()
            return self.render_to_response(
                self.get_context_data(
                    form=employer_form,
                    employer_step=True,
                )
            )
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.organisation = self.employer(request.POST)
        if self.organisation is None:
            employer_form = EmployerForm(request.POST)
            employer_form.is_valid()
            return self.render_to_response(
                self.get_context_data(form=employer_form, employer_step=True)
            )
        return super().post(request, *args, **kwargs)

    def get_template_names(self):
        return ["entitlements/applications/employment_add.jinja"]

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "organisation": self.organisation}

    def get_context_data(self, **kwargs):
        kwargs.setdefault("employer_step", False)
        if not kwargs["employer_step"]:
            kwargs["organisation_chosen"] = self.organisation
        return super().get_context_data(**kwargs)

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            employment = people_services.employment_create(
                referrer=self.profile,
                organisation=self.organisation,
                job_title=data["job_title"].strip(),
                level=data["level"],
                starts_on=data["starts_on"],
                department=data["department"],
                clinical_supervisor=None,
                by=self.request.user,
            )
        except ValidationError as error:
            apply_validation_error(form, error)
            return self.form_invalid(form)
        messages.success(
            self.request,
            f"Your role as {employment.job_title} at {self.organisation.name} has been added",
        )
        return redirect("application_start")


urlpatterns = [
    path("applications/", ApplicationListView.as_view(), name="applications"),
    path("applications/new/", ApplicationStartView.as_view(), name="application_start"),
    path("applications/<int:pk>/", ApplicationView.as_view(), name="application"),
    path(
        "applications/<int:pk>/employment/",
        ApplicationEmploymentView.as_view(),
        name="application_employment",
    ),
    path(
        "applications/<int:pk>/service-need/",
        ServiceNeedView.as_view(),
        name="application_service_need",
    ),
    path("applications/<int:pk>/scope/", ScopeView.as_view(), name="application_scope"),
    path(
        "applications/<int:pk>/scope/add/",
        ScopeItemAddView.as_view(),
        name="application_scope_add",
    ),
    path(
        "applications/<int:pk>/scope/<int:item_pk>/",
        ScopeItemEditView.as_view(),
        name="application_scope_edit",
    ),
    path(
        "applications/<int:pk>/scope/<int:item_pk>/remove/",
        ScopeItemRemoveView.as_view(),
        name="application_scope_remove",
    ),
    path(
        "applications/<int:pk>/supervision/",
        SupervisionView.as_view(),
        name="application_supervision",
    ),
    path(
        "applications/<int:pk>/evidence/",
        EvidenceView.as_view(),
        name="application_evidence",
    ),
    path(
        "applications/<int:pk>/evidence/<int:evidence_pk>/remove/",
        EvidenceRemoveView.as_view(),
        name="evidence_remove",
    ),
    path("applications/<int:pk>/check/", CheckView.as_view(), name="application_check"),
    path(
        "applications/<int:pk>/submitted/",
        SubmittedView.as_view(),
        name="application_submitted",
    ),
    path("applications/<int:pk>/withdraw/", WithdrawView.as_view(), name="application_withdraw"),
    path("evidence/<int:pk>/", EvidenceDownloadView.as_view(), name="evidence_download"),
    path("employments/add/", EmploymentAddView.as_view(), name="employment_add"),
]
