"""A delegate's training pages at one organisation: one referrer's training, one record to
verify or reject, adding a record for a referrer, marking a registration lapsed.

Every page is an organisation page (`OrganisationMixin`, permission `decide_entitlements`)
and reaches the referrer or record through `selectors.referrer_at` / `selectors.record_at`,
so a referrer who is neither employed nor entitled here is a 404. Whether the user may act
(a current delegate appointment, not their own record) is decided by the services, which
refuse with a message or a 403.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.generic import FormView, TemplateView, View

from referrers import services as people_services
from referrers.views.mixins import OrganisationMixin, ServiceFormMixin, paginate

from .. import selectors, services
from ..forms import (
    DelegateTrainingRecordForm,
    ReasonForm,
    RegistrationLapsedForm,
    RegistrationRenewedForm,
)


class TrainingDelegateMixin(OrganisationMixin):
    permission = "decide_entitlements"

    def get_breadcrumbs(self):
        return [
            *super().get_breadcrumbs(),
            {
                "href": reverse("delegate_home", args=[self.organisation.ods_code]),
                "text": "Entitlement delegate",
            },
            {
                "href": reverse("training_queue", args=[self.organisation.ods_code]),
                "text": "Training queue",
            },
        ]

    def queue_url(self, anchor: str = "") -> str:
        url = reverse("training_queue", args=[self.organisation.ods_code])
        return f"{url}#{anchor}" if anchor else url

    def next_url(self, default: str) -> str:
        """Where a one-click action returns to: the page it was clicked on, if it is ours."""
        candidate = self.request.POST.get("next", "")
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={self.request.get_host()}, require_https=False
        ):
            return candidate
        return default

    def can_act(self) -> bool:
        if not hasattr(self, "_can_act"):
            self._can_act = selectors.is_current_delegate(self.request.user, self.organisation)
        return self._can_act


class ReferrerMixin(TrainingDelegateMixin):
    def get_referrer(self):
        if not hasattr(self, "referrer"):
            self.referrer = selectors.referrer_at(self.organisation, self.kwargs["pk"])
        return self.referrer

    def referrer_url(self) -> str:
        return reverse(
            "training_referrer", args=[self.organisation.ods_code, self.get_referrer().pk]
        )


class RecordMixin(TrainingDelegateMixin):
    def get_record(self):
        if not hasattr(self, "record"):
            self.record = selectors.record_at(self.organisation, self.kwargs["pk"])
        return self.record

    def record_url(self) -> str:
        return reverse(
            "training_record_review", args=[self.organisation.ods_code, self.get_record().pk]
        )


# --- Referrers ---------------------------------------------------------------------------


class ReferrerListView(TrainingDelegateMixin, TemplateView):
    """Find a referrer employed or entitled here, to see or add to their training."""

    template_name = "training/referrers.jinja"
    title = "Find a referrer's training"

    def get_context_data(self, **kwargs):
        search = self.request.GET.get("q", "").strip()
        page, pagination = paginate(
            self.request, selectors.referrers_at(self.organisation, search=search)
        )
        return super().get_context_data(
            search=search, page=page, pagination=pagination, today=timezone.localdate(), **kwargs
        )


class ReferrerTrainingView(ReferrerMixin, TemplateView):
    """One referrer's registration, what their entitlements from here need, and every record."""

    template_name = "training/referrer_at.jinja"

    def get_title(self):
        return f"Training of {self.get_referrer().user.full_name}"

    def get_context_data(self, **kwargs):
        referrer = self.get_referrer()
        today = timezone.localdate()
        statuses = selectors.training_status_of_referrer(
            referrer, today, organisation=self.organisation
        )
        page, pagination = paginate(self.request, selectors.records_of(referrer))
        return super().get_context_data(
            referrer=referrer,
            statuses=statuses,
            meets=selectors.requirement_statuses_by_record(statuses),
            page=page,
            pagination=pagination,
            today=today,
            can_act=self.can_act() and referrer.user_id != self.request.user.pk,
            **kwargs,
        )


class ReferrerRecordAddView(ServiceFormMixin, ReferrerMixin, FormView):
    form_class = DelegateTrainingRecordForm
    template_name = "training/record_form.jinja"

    def get_title(self):
        return f"Add a training record for {self.get_referrer().user.full_name}"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            for_referrer=self.get_referrer(),
            back_url=self.referrer_url(),
            cancel_url=self.referrer_url(),
            breadcrumbs=None,
            **kwargs,
        )

    def perform(self, form):
        data = form.cleaned_data
        referrer = self.get_referrer()
        record = services.training_record_add(
            referrer=referrer,
            by=self.request.user,
            kind=data["kind"],
            provider=data["provider"],
            title=data["title"],
            completed_on=data["completed_on"],
            certificate_expires_on=data["certificate_expires_on"],
            hours=data["hours"],
            certificate=data["certificate"],
            verify=data["verify"],
        )
        state = "added and verified" if record.is_verified else "added"
        return (
            f"{referrer.user.full_name}'s {record.get_kind_display()} record has been {state}",
            self.referrer_url(),
        )


class RegistrationLapsedView(ServiceFormMixin, ReferrerMixin, FormView):
    form_class = RegistrationLapsedForm
    template_name = "training/registration_lapsed.jinja"

    def get_title(self):
        return f"Mark {self.get_referrer().user.full_name}'s registration as lapsed"

    def get(self, request, *args, **kwargs):
        referrer = self.get_referrer()
        if referrer.registration_lapsed:
            messages.info(
                request, f"{referrer.user.full_name}'s registration is already marked lapsed"
            )
            return redirect(self.referrer_url())
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            referrer=self.get_referrer(),
            back_url=self.referrer_url(),
            breadcrumbs=None,
            **kwargs,
        )

    def perform(self, form):
        referrer = people_services.registration_mark_lapsed(
            referrer=self.get_referrer(), by=self.request.user, reason=form.cleaned_data["reason"]
        )
        return (
            f"{referrer.user.full_name}'s registration has been marked as lapsed. Their "
            "entitlements are suspended at the next control run.",
            self.referrer_url(),
        )


class RegistrationRenewedView(ServiceFormMixin, ReferrerMixin, FormView):
    """A delegate confirms a lapsed or overdue registration is current again."""

    form_class = RegistrationRenewedForm
    template_name = "training/registration_renewed.jinja"

    def get_title(self):
        return f"Confirm {self.get_referrer().user.full_name}'s registration is current"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            referrer=self.get_referrer(),
            back_url=self.referrer_url(),
            breadcrumbs=None,
            **kwargs,
        )

    def perform(self, form):
        referrer = people_services.registration_confirm_renewed(
            referrer=self.get_referrer(),
            by=self.request.user,
            renewal_due_on=form.cleaned_data["renewal_due_on"],
            reason=form.cleaned_data["reason"],
        )
        return (
            f"{referrer.user.full_name}'s registration has been confirmed as current. "
            "Entitlements suspended while it had lapsed wait in your queue to be reinstated.",
            self.referrer_url(),
        )


# --- One record ----------------------------------------------------------------------------


class RecordReviewView(RecordMixin, TemplateView):
    """One record, its certificate, and (to a delegate who may) Verify and Reject."""

    template_name = "training/record_review.jinja"

    def get_title(self):
        record = self.get_record()
        return f"{record.get_kind_display()}: {record.referrer.user.full_name}"

    def get_context_data(self, **kwargs):
        record = self.get_record()
        return super().get_context_data(
            record=record,
            can_act=self.can_act() and record.referrer.user_id != self.request.user.pk,
            referrer_url=reverse(
                "training_referrer", args=[self.organisation.ods_code, record.referrer_id]
            ),
            **kwargs,
        )


class RecordVerifyView(RecordMixin, View):
    """One click: verify a record (POST only), then back to where it was clicked."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        record = self.get_record()
        back = self.next_url(self.queue_url("unverified"))
        try:
            services.training_record_verify(record=record, by=request.user)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            return redirect(back)
        messages.success(
            request,
            f"{record.referrer.user.full_name}'s {record.get_kind_display()} record has been "
            "verified",
        )
        return redirect(back)


class RecordRejectView(ServiceFormMixin, RecordMixin, FormView):
    form_class = ReasonForm
    template_name = "training/reject.jinja"

    def get_title(self):
        return "Reject this training record"

    def get(self, request, *args, **kwargs):
        record = self.get_record()
        if record.is_verified or record.is_rejected:
            state = "verified" if record.is_verified else "rejected"
            messages.info(request, f"This record has already been {state}")
            return redirect(self.record_url())
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            record=self.get_record(), back_url=self.record_url(), breadcrumbs=None, **kwargs
        )

    def perform(self, form):
        record = services.training_record_reject(
            record=self.get_record(), by=self.request.user, reason=form.cleaned_data["reason"]
        )
        return (
            f"{record.referrer.user.full_name}'s {record.get_kind_display()} record has been "
            "rejected. They have been told why.",
            self.queue_url("unverified"),
        )
