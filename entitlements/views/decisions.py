"""Endorsement by the clinical supervisor and decisions by delegates (principle 1).

The supervisor reaches only applications that name them (`application_for_supervisor`);
delegates reach their organisation's through OrganisationMixin and `application_at`. Whether
this delegate may decide is `decision_authority`; the service checks it again inside its
row lock, and a refusal from it is shown as a message, with nothing changed.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.views.generic import FormView, TemplateView

from config.forms import apply_validation_error
from referrers.views.mixins import OrganisationMixin, ServiceFormMixin, paginate

from .. import selectors, services
from ..forms.decisions import DecisionForm, EndorsementForm, NarrowScopeForm
from ..models import (
    Application,
    ApplicationScopeItem,
    ApplicationStatus,
    DecisionOutcome,
    EndorsementOutcome,
)

org = "organisations/<str:ods_code>/"

# The sections of the queue page that are lists but not paginated show this many rows.
SECTION_ROWS = 20


def _rationale_key(application: Application) -> str:
    return f"decision-rationale-{application.pk}"


def _application_details(application: Application) -> dict:
    """What every page about one application shows: its scope and its evidence."""
    return {
        "application": application,
        "scope_items": list(selectors.application_scope_items(application).order_by("id")),
        "evidence": list(selectors.application_evidence(application)),
    }


def _modalities(items) -> list[str]:
    """The modalities asked for, from scope items whose examinations are already loaded."""
    found: set[str] = set()
    for item in items:
        if item.examination_id:
            found.add(item.examination.modality)
        else:
            found.update(e.modality for e in item.group.examinations.all())
    return sorted(found)


# --- The clinical supervisor ---------------------------------------------------------------


class EndorsementView(ServiceFormMixin, LoginRequiredMixin, FormView):
    """The named clinical supervisor endorses the service need and supervision, or not."""

    form_class = EndorsementForm
    template_name = "entitlements/decisions/endorsement.jinja"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        # Anyone but the named supervisor gets a 404, on GET and POST alike.
        self.application = selectors.application_for_supervisor(request.user, kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    @property
    def awaiting(self) -> bool:
        return self.application.status == ApplicationStatus.AWAITING_ENDORSEMENT

    def post(self, request, *args, **kwargs):
        if not self.awaiting:
            messages.error(
                request,
                f"Application {self.application.reference} is "
                f"{self.application.get_status_display().lower()}: it is not waiting for your "
                "endorsement",
            )
            return redirect("endorsement", self.application.pk)
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        application = self.application
        return super().get_context_data(
            title=f"{'Endorse ' if self.awaiting else ''}"
            f"{application.referrer.user.full_name}'s application",
            awaiting=self.awaiting,
            endorsements=application.endorsements.select_related("supervisor"),
            breadcrumbs=[
                {"href": reverse("home"), "text": "Home"},
                {"href": reverse("supervisor_home"), "text": "Referrers you supervise"},
            ],
            **_application_details(application),
            **kwargs,
        )

    def perform(self, form):
        data = form.cleaned_data
        services.application_endorse(
            application=self.application,
            by=self.request.user,
            outcome=data["outcome"],
            comment=data["comment"],
        )
        name = self.application.referrer.user.full_name
        if data["outcome"] == EndorsementOutcome.ENDORSED:
            message = (
                f"You have endorsed {name}'s application {self.application.reference}. "
                "It has gone to the entitlement delegates for a decision."
            )
        else:
            message = (
                f"You did not endorse {name}'s application {self.application.reference}. "
                "It has gone back to them with your comment."
            )
        return message, reverse("supervisor_home")


# --- The delegate's queue ------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    application: Application
    days_waiting: int | None
    modalities: list[str]


class DelegateMixin(OrganisationMixin):
    permission = "decide_entitlements"

    def get_breadcrumbs(self):
        return [
            *super().get_breadcrumbs(),
            {
                "href": reverse("delegate_home", args=[self.organisation.ods_code]),
                "text": "Entitlement delegate",
            },
        ]


class ApplicationQueueView(DelegateMixin, TemplateView):
    template_name = "entitlements/decisions/queue.jinja"
    title = "Applications"

    def get_context_data(self, **kwargs):
        organisation = self.organisation
        today = timezone.localdate()
        # The modalities column reads every row's scope: loaded for the whole page at once.
        queue = selectors.application_queue(organisation).prefetch_related(
            Prefetch(
                "scope_items",
                queryset=ApplicationScopeItem.objects.select_related(
                    "examination", "group"
                ).prefetch_related("group__examinations"),
            )
        )
        page, pagination = paginate(self.request, queue)
        rows = [
            QueueRow(a, a.days_waiting(today), _modalities(a.scope_items.all()))
            for a in page.object_list
        ]
        awaiting = selectors.applications_awaiting_endorsement_at(organisation)
        notices = selectors.change_notices_open_at(organisation)
        return super().get_context_data(
            page=page,
            pagination=pagination,
            rows=rows,
            awaiting_count=awaiting.count(),
            awaiting=[(a, a.days_waiting(today)) for a in awaiting[:SECTION_ROWS]],
            notice_count=notices.count(),
            notices=list(notices[:SECTION_ROWS]),
            section_rows=SECTION_ROWS,
            today=today,
            **kwargs,
        )


# --- One application: review and decide ----------------------------------------------------


class ApplicationMixin(DelegateMixin):
    """A page about one application made to this organisation (another's id is a 404)."""

    def get_application(self) -> Application:
        if not hasattr(self, "application"):
            self.application = selectors.application_at(self.organisation, self.kwargs["pk"])
        return self.application

    def get_authority(self):
        if not hasattr(self, "authority"):
            self.authority = selectors.decision_authority(self.request.user, self.get_application())
        return self.authority

    def review_url(self) -> str:
        return reverse("application_review", args=[self.organisation.ods_code, self.application.pk])

    def get_breadcrumbs(self):
        return [
            *super().get_breadcrumbs(),
            {
                "href": reverse("application_queue", args=[self.organisation.ods_code]),
                "text": "Applications",
            },
        ]


class DecideMixin(ApplicationMixin):
    """The decision forms: only for an application under review, by a delegate with
    authority. Anyone else goes back to the review page, which says why."""

    def get(self, request, *args, **kwargs):
        return self.refusal() or super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        return self.refusal() or super().post(request, *args, **kwargs)

    def refusal(self):
        application = self.get_application()
        if application.status != ApplicationStatus.UNDER_REVIEW:
            messages.error(
                self.request,
                f"Application {application.reference} is "
                f"{application.get_status_display().lower()}, so it cannot be decided now",
            )
            return redirect(self.review_url())
        authority = self.get_authority()
        if not authority:
            return self.refused(authority.problem)
        return None

    def refused(self, problem: str):
        messages.error(self.request, f"{problem.rstrip('.')}. Nothing has been changed.")
        return redirect(self.review_url())

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            review_url=self.review_url(), **_application_details(self.application), **kwargs
        )

    def decide(self, form, **arguments):
        """Call the service; show its refusal or its field errors, or where to go next."""
        application = self.application
        try:
            decision = services.application_decide(
                application=application, by=self.request.user, **arguments
            )
        except PermissionDenied as refusal:
            return self.refused(str(refusal) or "You cannot decide this application")
        except ValidationError as error:
            apply_validation_error(form, error)
            return self.form_invalid(form)
        self.request.session.pop(_rationale_key(application), None)
        name = application.referrer.user.full_name
        ods = self.organisation.ods_code
        if decision.is_grant:
            entitlement = decision.entitlement
            narrower = (
                " with a narrower scope" if decision.outcome != DecisionOutcome.GRANTED else ""
            )
            messages.success(
                self.request,
                f"{name} has been granted {entitlement.reference}{narrower}. "
                "Their letter is being prepared.",
            )
            return redirect("entitlement_manage", ods, entitlement.pk)
        if decision.outcome == DecisionOutcome.DECLINED:
            messages.success(
                self.request,
                f"Application {application.reference} has been declined. {name} has been told.",
            )
        else:
            messages.success(
                self.request,
                f"Application {application.reference} has been returned to {name} for more "
                "information.",
            )
        return redirect("application_queue", ods)


class ApplicationReviewView(ApplicationMixin, TemplateView):
    template_name = "entitlements/decisions/review.jinja"

    def get_title(self):
        application = self.get_application()
        return f"{application.referrer.user.full_name}: application {application.reference}"

    def get_context_data(self, **kwargs):
        application = self.get_application()
        under_review = application.status == ApplicationStatus.UNDER_REVIEW
        return super().get_context_data(
            under_review=under_review,
            authority=self.get_authority() if under_review else None,
            endorsements=application.endorsements.select_related("supervisor"),
            decisions=application.decisions.select_related("delegate", "appointment"),
            days_waiting=application.days_waiting(),
            **_application_details(application),
            **kwargs,
        )


class ApplicationDecideView(DecideMixin, FormView):
    form_class = DecisionForm
    template_name = "entitlements/decisions/decide.jinja"

    def get_title(self):
        return f"Decide application {self.get_application().reference}"

    def get_initial(self):
        return {"rationale": self.request.session.get(_rationale_key(self.get_application()), "")}

    def form_valid(self, form):
        data = form.cleaned_data
        if data["outcome"] == DecisionOutcome.GRANTED_NARROWER:
            # Carried to the next page on the server, so it works without JavaScript.
            self.request.session[_rationale_key(self.application)] = data["rationale"]
            return redirect("application_narrow", self.organisation.ods_code, self.application.pk)
        return self.decide(form, outcome=data["outcome"], rationale=data["rationale"])


class ApplicationNarrowView(DecideMixin, FormView):
    form_class = NarrowScopeForm
    template_name = "entitlements/decisions/narrow.jinja"

    def get_title(self):
        return "Grant a narrower scope"

    def get_form_kwargs(self):
        items = list(selectors.application_scope_items(self.get_application()).order_by("id"))
        return {**super().get_form_kwargs(), "items": items}

    def get_initial(self):
        return {"rationale": self.request.session.get(_rationale_key(self.get_application()), "")}

    def form_valid(self, form):
        data = form.cleaned_data
        return self.decide(
            form,
            outcome=DecisionOutcome.GRANTED_NARROWER,
            rationale=data["rationale"],
            items=form.item_decisions,
            narrowing_reasons=data["narrowing_reasons"],
        )


urlpatterns = [
    path("supervision/applications/<int:pk>/", EndorsementView.as_view(), name="endorsement"),
    path(f"{org}applications/", ApplicationQueueView.as_view(), name="application_queue"),
    path(
        f"{org}applications/<int:pk>/",
        ApplicationReviewView.as_view(),
        name="application_review",
    ),
    path(
        f"{org}applications/<int:pk>/decide/",
        ApplicationDecideView.as_view(),
        name="application_decide",
    ),
    path(
        f"{org}applications/<int:pk>/narrow/",
        ApplicationNarrowView.as_view(),
        name="application_narrow",
    ),
]
