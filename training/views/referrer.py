"""The referrer's own training: what each live entitlement needs and the record that meets
it, their records, adding one with its certificate, and downloading a certificate.

Records are read through `selectors.records_of` for the signed-in person only; a certificate
through `selectors.certificate_for`, which also serves the delegates and governance leads
who may see it. Anything else is a 404.
"""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import FormView, TemplateView

from referrers import selectors as people
from referrers.views.mixins import ServiceFormMixin, paginate

from .. import selectors, services
from ..forms import TrainingRecordForm


def training_crumbs() -> list[dict]:
    return [
        {"href": reverse("home"), "text": "Home"},
        {"href": reverse("training"), "text": "Your training"},
    ]


class TrainingView(LoginRequiredMixin, TemplateView):
    """Per live entitlement and requirement: the record that meets it, its expiry and a
    status; CPD hours; and every record with its verification."""

    template_name = "training/referrer.jinja"

    def get_context_data(self, **kwargs):
        profile = people.referrer_profile_of(self.request.user)
        today = timezone.localdate()
        context = {
            "title": "Your training",
            "breadcrumbs": [{"href": reverse("home"), "text": "Home"}],
            "profile": profile,
            "today": today,
        }
        if profile is not None:
            statuses = selectors.training_status_of_referrer(profile, today)
            page, pagination = paginate(self.request, selectors.records_of(profile))
            context.update(
                statuses=statuses,
                page=page,
                pagination=pagination,
                meets=selectors.requirement_statuses_by_record(statuses),
                registration_lapsed=profile.registration_lapsed
                or profile.registration_expires_on < today,
            )
        return super().get_context_data(**context, **kwargs)


class TrainingRecordAddView(ServiceFormMixin, LoginRequiredMixin, FormView):
    form_class = TrainingRecordForm
    template_name = "training/record_form.jinja"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.profile = people.referrer_profile_of(request.user)
            if self.profile is None:
                return redirect("training")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            title="Add a training record",
            back_url=reverse("training"),
            cancel_url=reverse("training"),
            for_referrer=None,
            **kwargs,
        )

    def perform(self, form):
        data = form.cleaned_data
        record = services.training_record_add(
            referrer=self.profile,
            by=self.request.user,
            kind=data["kind"],
            provider=data["provider"],
            title=data["title"],
            completed_on=data["completed_on"],
            certificate_expires_on=data["certificate_expires_on"],
            hours=data["hours"],
            certificate=data["certificate"],
        )
        return (
            f"Your {record.get_kind_display()} record has been added. It counts once an "
            "entitlement delegate has verified it.",
            reverse("training"),
        )


class CertificateDownloadView(LoginRequiredMixin, View):
    """A private file, to whoever `selectors.certificate_for` allows; never a public URL."""

    def get(self, request, pk):
        record = selectors.certificate_for(request.user, pk)
        try:
            handle = record.certificate.open("rb")
        except FileNotFoundError:
            raise Http404("The file is missing") from None
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=record.certificate_name or "certificate",
            content_type=record.certificate_content_type or "application/octet-stream",
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response
