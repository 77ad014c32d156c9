"""Entitlements: the referrer's own (view, timeline, notify a change, ask to vary), and the
employer's (register list, one entitlement, suspend, reinstate, revoke, timeline, reported
changes).

Every entitlement is found through a selector that decides who may see it: the referrer's
own (`entitlement_of_referrer`) or the organisation's (`entitlement_at`, after
`OrganisationMixin` has checked the permission), so another id is a 404. Who may change one by
hand is `selectors.may_manage`; what change is possible is `services.can_transition` and the
services themselves, whose errors are shown on the form.
"""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.generic import FormView, TemplateView, View

from referrers.views.mixins import OrganisationMixin, ServiceFormMixin, paginate

from .. import selectors, services
from ..forms.records import ChangeNotifyForm, ReasonForm, ScopedReasonForm
from ..models import (
    ChangeKind,
    Entitlement,
    EntitlementState,
    ScopeItemState,
)

org = "organisations/<str:ods_code>/"


def _lineage(entitlement: Entitlement, url) -> list[dict]:
    """The entitlement this one replaced, and the one that replaced it: summary list rows."""
    rows = []
    if entitlement.supersedes_id:
        rows.append(("Replaces", entitlement.supersedes_id))
    successor = selectors.entitlement_successor_id(entitlement)
    if successor:
        rows.append(("Replaced by", successor))
    return [
        {
            "key": {"text": label},
            "value": {
                "html": format_html(
                    '<a class="nhsuk-link" href="{}">{}</a>', url(pk), f"ENT-{pk:06d}"
                )
            },
        }
        for label, pk in rows
    ]


def _actions(entitlement: Entitlement, scope_items) -> dict:
    """Which hand-made changes the entitlement allows now (the buttons to offer)."""
    active = entitlement.state == EntitlementState.ACTIVE
    states = {item.state for item in scope_items}
    return {
        "suspend": services.can_transition(entitlement, EntitlementState.SUSPENDED)
        or (active and ScopeItemState.ACTIVE in states),
        "reinstate": services.can_transition(entitlement, EntitlementState.ACTIVE)
        or (active and ScopeItemState.SUSPENDED in states),
        "revoke": services.can_transition(entitlement, EntitlementState.REVOKED),
    }


# --- The referrer's own ------------------------------------------------------------------


class ReferrerEntitlementMixin(LoginRequiredMixin):
    """A page of one of the signed-in referrer's own entitlements; anyone else's is a 404."""

    def get_entitlement(self) -> Entitlement:
        if not hasattr(self, "entitlement"):
            self.entitlement = selectors.entitlement_of_referrer(
                self.request.user, self.kwargs["pk"]
            )
        return self.entitlement

    def entitlement_url(self) -> str:
        return reverse("entitlement", args=[self.get_entitlement().pk])

    def get_context_data(self, **kwargs):
        entitlement = self.get_entitlement()
        return super().get_context_data(
            entitlement=entitlement,
            breadcrumbs=[
                {"href": reverse("home"), "text": "Home"},
                {"href": reverse("entitlements"), "text": "Your entitlements"},
                {"href": self.entitlement_url(), "text": entitlement.reference},
            ],
            **kwargs,
        )

    def refuse_unless(self, allowed: bool, message: str):
        """A page that changes the entitlement, when it cannot: say why, go back."""
        if allowed:
            return None
        messages.error(self.request, message)
        return redirect(self.entitlement_url())

    def refuse_unless_live(self):
        entitlement = self.get_entitlement()
        return self.refuse_unless(
            entitlement.is_live,
            f"{entitlement.reference} is {entitlement.get_state_display().lower()}, so it "
            "cannot be changed. To refer again, start a new application.",
        )


class EntitlementListView(LoginRequiredMixin, TemplateView):
    template_name = "entitlements/records/referrer_list.jinja"

    def get_context_data(self, **kwargs):
        page, pagination = paginate(
            self.request, selectors.entitlements_of_referrer(self.request.user)
        )
        return super().get_context_data(
            title="Your entitlements",
            page=page,
            pagination=pagination,
            breadcrumbs=[{"href": reverse("home"), "text": "Home"}],
            **kwargs,
        )


class EntitlementView(ReferrerEntitlementMixin, TemplateView):
    template_name = "entitlements/records/referrer_detail.jinja"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        entitlement = self.get_entitlement()
        context.update(
            title=f"Entitlement {entitlement.reference}",
            breadcrumbs=context["breadcrumbs"][:-1],
            scope_items=list(selectors.scope_items_of(entitlement)),
            letters=list(selectors.letters_of(entitlement)),
            show_letters=True,
            lineage=_lineage(entitlement, lambda pk: reverse("entitlement", args=[pk])),
        )
        return context


class EntitlementTimelineView(ReferrerEntitlementMixin, TemplateView):
    template_name = "entitlements/records/timeline.jinja"

    def get_context_data(self, **kwargs):
        entitlement = self.get_entitlement()
        return super().get_context_data(
            title=f"Timeline of {entitlement.reference}",
            timeline=selectors.timeline_of(entitlement),
            show_letters=True,
            **kwargs,
        )


class ChangeNotifyView(ServiceFormMixin, ReferrerEntitlementMixin, FormView):
    """Principle 5: the referrer tells the employer about a change, and is told on the form
    what each kind of change will do."""

    form_class = ChangeNotifyForm
    template_name = "entitlements/records/change_notify.jinja"

    def get(self, request, *args, **kwargs):
        return self.refuse_unless_live() or super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.get_entitlement()  # 404 before anything is read from the form
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title="Tell us about a change", breadcrumbs=None, back_url=self.entitlement_url()
        )
        return context

    def perform(self, form):
        data = form.cleaned_data
        notice = services.change_notify(
            entitlement=self.get_entitlement(),
            by=self.request.user,
            kind=data["kind"],
            details=data["details"],
            effective_on=data["effective_on"],
        )
        return "Your change has been recorded", reverse(
            "change_notified", args=[self.get_entitlement().pk, notice.pk]
        )


class ChangeNotifiedView(ReferrerEntitlementMixin, TemplateView):
    """What happened after a change was reported."""

    template_name = "entitlements/records/change_notified.jinja"

    def get_context_data(self, **kwargs):
        entitlement = self.get_entitlement()
        notice = selectors.change_notice_of_referrer(
            self.request.user, entitlement, self.kwargs["notice_pk"]
        )
        return super().get_context_data(
            title="Your change has been recorded",
            notice=notice,
            ChangeKind=ChangeKind,
            **kwargs,
        )


class VariationStartView(ReferrerEntitlementMixin, TemplateView):
    """Ask to change the scope: a new application that starts as a copy of this
    entitlement; granting it replaces this one. Only an active entitlement is varied (a
    grant cannot lift a suspension)."""

    template_name = "entitlements/records/variation_start.jinja"

    def get(self, request, *args, **kwargs):
        entitlement = self.get_entitlement()
        if entitlement.state == EntitlementState.SUSPENDED:
            return self.refuse_unless(
                False,
                f"{entitlement.reference} is suspended: you can ask to change its scope once "
                "it has been reinstated",
            )
        return self.refuse_unless_live() or super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        entitlement = self.get_entitlement()
        try:
            application = services.variation_start(entitlement=entitlement, by=request.user)
        except ValidationError as error:
            errors = [{"text": message} for message in error.messages]
            return self.render_to_response(self.get_context_data(errors=errors))
        messages.success(
            request,
            f"Application {application.reference} has been started as a copy of "
            f"{entitlement.reference}. Change what you need, then submit it.",
        )
        return redirect(reverse("application", args=[application.pk]))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title="Ask to change your scope",
            breadcrumbs=None,
            back_url=self.entitlement_url(),
        )
        return context


# --- The employer's ------------------------------------------------------------------------


class EntitlementsAtMixin(OrganisationMixin):
    permission = "view_register"

    def get_breadcrumbs(self):
        return [
            *super().get_breadcrumbs(),
            {
                "href": reverse("entitlements_at", args=[self.organisation.ods_code]),
                "text": "Entitlements",
            },
        ]


class EntitlementAtMixin(EntitlementsAtMixin):
    """A page of one of the organisation's entitlements; another organisation's id is a 404."""

    def get_entitlement(self) -> Entitlement:
        if not hasattr(self, "entitlement"):
            self.entitlement = selectors.entitlement_at(self.organisation, self.kwargs["pk"])
        return self.entitlement

    def manage_url(self) -> str:
        return reverse(
            "entitlement_manage", args=[self.organisation.ods_code, self.get_entitlement().pk]
        )

    def get_breadcrumbs(self):
        return [
            *super().get_breadcrumbs(),
            {"href": self.manage_url(), "text": self.get_entitlement().reference},
        ]

    def get_context_data(self, **kwargs):
        return super().get_context_data(entitlement=self.get_entitlement(), **kwargs)


STATE_FILTER_ERROR = "Select a state from the list"


class EntitlementsAtView(EntitlementsAtMixin, TemplateView):
    """The organisation's entitlements, filtered by state."""

    template_name = "entitlements/records/org_list.jinja"
    title = "Entitlements"

    def get_breadcrumbs(self):
        return super().get_breadcrumbs()[:-1]

    def get_context_data(self, **kwargs):
        state = self.request.GET.get("state", "")
        state_error = ""
        if state and state not in EntitlementState.values:
            state_error, state = STATE_FILTER_ERROR, ""
        page, pagination = paginate(
            self.request, selectors.entitlements_at(self.organisation, state=state)
        )
        return super().get_context_data(
            page=page,
            pagination=pagination,
            state=state,
            state_error=state_error,
            state_items=[
                {"value": "", "text": "Every state", "selected": not state},
                *(
                    {"value": value, "text": label, "selected": value == state}
                    for value, label in EntitlementState.choices
                ),
            ],
            **kwargs,
        )


class EntitlementManageView(EntitlementAtMixin, TemplateView):
    """One entitlement, for everyone who may see the register; changes for its delegates."""

    template_name = "entitlements/records/org_detail.jinja"

    def get_title(self):
        return f"Entitlement {self.get_entitlement().reference}"

    def get_breadcrumbs(self):
        return super().get_breadcrumbs()[:-1]

    def get_context_data(self, **kwargs):
        entitlement = self.get_entitlement()
        user = self.request.user
        scope_items = list(selectors.scope_items_of(entitlement))
        show_letters = selectors.may_read_letters(user, entitlement)
        can_manage = selectors.may_manage(user, entitlement)
        return super().get_context_data(
            scope_items=scope_items,
            show_letters=show_letters,
            letters=list(selectors.letters_of(entitlement)) if show_letters else [],
            can_manage=can_manage,
            actions=_actions(entitlement, scope_items) if can_manage else {},
            notices=list(selectors.change_notices_open_of(entitlement)),
            lineage=_lineage(
                entitlement,
                lambda pk: reverse("entitlement_manage", args=[self.organisation.ods_code, pk]),
            ),
            **kwargs,
        )


class EntitlementHistoryView(EntitlementAtMixin, TemplateView):
    template_name = "entitlements/records/timeline.jinja"

    def get_title(self):
        return f"Timeline of {self.get_entitlement().reference}"

    def get_context_data(self, **kwargs):
        entitlement = self.get_entitlement()
        return super().get_context_data(
            timeline=selectors.timeline_of(entitlement),
            show_letters=selectors.may_read_letters(self.request.user, entitlement),
            **kwargs,
        )


class TransitionView(ServiceFormMixin, EntitlementAtMixin, FormView):
    """A delegate changes an entitlement by hand, with a reason. Only a delegate with a
    current appointment at the employer may (otherwise 403); only what the entitlement
    allows now is offered, and the service refuses anything else."""

    permission = "decide_entitlements"
    template_name = "entitlements/records/transition.jinja"
    verb = ""
    submit_text = ""

    def check(self):
        entitlement = self.get_entitlement()
        if not selectors.may_manage(self.request.user, entitlement):
            raise PermissionDenied(
                "Only an entitlement delegate with a current appointment at "
                f"{self.organisation.name} can change this entitlement"
            )

    def get(self, request, *args, **kwargs):
        self.check()
        form = self.get_form()
        if not self.offers_anything(form):
            entitlement = self.get_entitlement()
            messages.error(
                request,
                f"{entitlement.reference} is {entitlement.get_state_display().lower()}: "
                f"there is nothing to {self.verb}",
            )
            return redirect(self.manage_url())
        return self.render_to_response(self.get_context_data(form=form))

    def post(self, request, *args, **kwargs):
        self.check()
        return super().post(request, *args, **kwargs)

    def offers_anything(self, form) -> bool:
        return True

    def get_title(self):
        return f"{self.verb.capitalize()} {self.get_entitlement().reference}"

    def get_context_data(self, **kwargs):
        entitlement = self.get_entitlement()
        return super().get_context_data(
            verb=self.verb,
            submit_text=self.submit_text,
            referrer_name=entitlement.referrer.user.full_name,
            back_url=self.manage_url(),
            **kwargs,
        )

    def done(self, entitlement: Entitlement, items) -> str:
        raise NotImplementedError


class ScopedTransitionView(TransitionView):
    form_class = ScopedReasonForm
    item_state = ""  # the state a scope item must be in to be offered
    whole_to = ""  # the state the whole entitlement moves to

    def get_form_kwargs(self):
        entitlement = self.get_entitlement()
        items = []
        if entitlement.state == EntitlementState.ACTIVE:
            items = [
                item
                for item in selectors.scope_items_of(entitlement)
                if item.state == self.item_state
            ]
        return {
            **super().get_form_kwargs(),
            "whole": services.can_transition(entitlement, self.whole_to),
            "items": items,
            "verb": self.verb,
        }

    def offers_anything(self, form) -> bool:
        return form.offers_anything

    def perform(self, form):
        items = form.cleaned_data["selected_items"]
        entitlement = self.service(
            entitlement=self.get_entitlement(),
            by=self.request.user,
            reason=form.cleaned_data["reason"],
            scope_items=items,
        )
        return self.done(entitlement, items), self.manage_url()


class EntitlementSuspendView(ScopedTransitionView):
    verb = "suspend"
    submit_text = "Suspend"
    item_state = ScopeItemState.ACTIVE
    whole_to = EntitlementState.SUSPENDED

    def service(self, **kwargs):
        return services.entitlement_suspend(**kwargs)

    def done(self, entitlement, items):
        if items is None:
            return f"{entitlement.reference} has been suspended"
        return f"{len(items)} examination{'s' if len(items) != 1 else ''} of " + (
            f"{entitlement.reference} {'have' if len(items) != 1 else 'has'} been suspended"
        )


class EntitlementReinstateView(ScopedTransitionView):
    verb = "reinstate"
    submit_text = "Reinstate"
    item_state = ScopeItemState.SUSPENDED
    whole_to = EntitlementState.ACTIVE

    def service(self, **kwargs):
        return services.entitlement_reinstate(**kwargs)

    def done(self, entitlement, items):
        if items is None:
            return f"{entitlement.reference} has been reinstated"
        return f"{len(items)} examination{'s' if len(items) != 1 else ''} of " + (
            f"{entitlement.reference} {'have' if len(items) != 1 else 'has'} been reinstated"
        )


class EntitlementRevokeView(TransitionView):
    form_class = ReasonForm
    verb = "revoke"
    submit_text = "Revoke"

    def offers_anything(self, form) -> bool:
        return services.can_transition(self.get_entitlement(), EntitlementState.REVOKED)

    def perform(self, form):
        entitlement = services.entitlement_revoke(
            entitlement=self.get_entitlement(),
            by=self.request.user,
            reason=form.cleaned_data["reason"],
        )
        return f"{entitlement.reference} has been revoked", self.manage_url()


class ChangeNoticeAcknowledgeView(OrganisationMixin, View):
    """A delegate marks a change the referrer reported as seen (POST only)."""

    permission = "decide_entitlements"
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        notice = selectors.change_notice_at(self.organisation, kwargs["pk"])
        if not selectors.may_manage(request.user, notice.entitlement):
            raise PermissionDenied(
                "Only an entitlement delegate with a current appointment at "
                f"{self.organisation.name} can mark a reported change as seen"
            )
        services.change_notice_acknowledge(notice=notice, by=request.user)
        messages.success(request, "The reported change has been marked as seen")
        return redirect(
            reverse("entitlement_manage", args=[self.organisation.ods_code, notice.entitlement.pk])
        )


urlpatterns = [
    path("entitlements/", EntitlementListView.as_view(), name="entitlements"),
    path("entitlements/<int:pk>/", EntitlementView.as_view(), name="entitlement"),
    path(
        "entitlements/<int:pk>/timeline/",
        EntitlementTimelineView.as_view(),
        name="entitlement_timeline",
    ),
    path("entitlements/<int:pk>/change/", ChangeNotifyView.as_view(), name="change_notify"),
    path(
        "entitlements/<int:pk>/change/<int:notice_pk>/",
        ChangeNotifiedView.as_view(),
        name="change_notified",
    ),
    path("entitlements/<int:pk>/vary/", VariationStartView.as_view(), name="variation_start"),
    path(f"{org}entitlements/", EntitlementsAtView.as_view(), name="entitlements_at"),
    path(
        f"{org}entitlements/<int:pk>/",
        EntitlementManageView.as_view(),
        name="entitlement_manage",
    ),
    path(
        f"{org}entitlements/<int:pk>/timeline/",
        EntitlementHistoryView.as_view(),
        name="entitlement_history",
    ),
    path(
        f"{org}entitlements/<int:pk>/suspend/",
        EntitlementSuspendView.as_view(),
        name="entitlement_suspend",
    ),
    path(
        f"{org}entitlements/<int:pk>/reinstate/",
        EntitlementReinstateView.as_view(),
        name="entitlement_reinstate",
    ),
    path(
        f"{org}entitlements/<int:pk>/revoke/",
        EntitlementRevokeView.as_view(),
        name="entitlement_revoke",
    ),
    path(
        f"{org}changes/<int:pk>/acknowledge/",
        ChangeNoticeAcknowledgeView.as_view(),
        name="change_notice_acknowledge",
    ),
]
