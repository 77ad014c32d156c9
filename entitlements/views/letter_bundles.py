"""Bundles of letters for governance leads: ask for a ZIP of the employer's current letters,
watch it being built, download it.

Only governance leads (`view_governance`): a bundle is a governance export of every letter
of the employer (domain.md: "governance lead ... PDF letters, exports"). `view_register`
would also let IR(ME)R practitioners in, who may not read letters at all; delegates can read
each letter from its entitlement. Every page is built on `OrganisationMixin` and finds its
bundle through `selectors.letter_bundle_at`, so another employer's bundle is a 404.
"""

from django import forms
from django.http import FileResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.generic import FormView, TemplateView, View

from referrers.regulators import Profession
from referrers.views.mixins import OrganisationMixin, ServiceFormMixin, paginate

from .. import selectors, services
from ..models import BundleStatus, EntitlementKind

org = "organisations/<str:ods_code>/"


def _private(response):
    response["X-Content-Type-Options"] = "nosniff"
    add_never_cache_headers(response)
    return response


class LetterBundleForm(forms.Form):
    """What to put in the ZIP. Every field may be left as "any"; the service checks the
    values again, and its errors come back on these fields."""

    state = forms.ChoiceField(
        label="Entitlements",
        choices=selectors.BUNDLE_STATE_CHOICES,
        required=False,
        error_messages={"invalid_choice": "Select which entitlements from the list"},
    )
    kind = forms.ChoiceField(
        label="Kind of entitlement",
        choices=[("", "Any kind"), *EntitlementKind.choices],
        required=False,
        error_messages={"invalid_choice": "Select a kind of entitlement from the list"},
    )
    department = forms.ChoiceField(
        label="Department",
        required=False,
        error_messages={"invalid_choice": "Select a department from the list"},
    )
    profession = forms.ChoiceField(
        label="Profession",
        choices=[("", "Any profession"), *Profession.choices],
        required=False,
        error_messages={"invalid_choice": "Select a profession from the list"},
    )

    def __init__(self, *args, departments: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].choices = [("", "Any department"), *departments]


class LetterBundlesMixin(OrganisationMixin):
    permission = "view_governance"

    def get_breadcrumbs(self):
        return [
            *super().get_breadcrumbs(),
            {
                "href": reverse("governance_home", args=[self.organisation.ods_code]),
                "text": "Governance",
            },
        ]


class LetterBundleMixin(LetterBundlesMixin):
    """A page of one of the organisation's bundles; another organisation's is a 404."""

    def get_bundle(self):
        if not hasattr(self, "bundle"):
            self.bundle = selectors.letter_bundle_at(self.organisation, self.kwargs["pk"])
        return self.bundle

    def get_breadcrumbs(self):
        return [
            *super().get_breadcrumbs(),
            {
                "href": reverse("letter_bundles", args=[self.organisation.ods_code]),
                "text": "Download letters",
            },
        ]


class LetterBundlesView(ServiceFormMixin, LetterBundlesMixin, FormView):
    """Ask for a ZIP of the current letters (optionally narrowed), and the ones asked for."""

    template_name = "entitlements/letter_bundles/list.jinja"
    form_class = LetterBundleForm
    title = "Download letters"

    def get_form_kwargs(self):
        return {
            **super().get_form_kwargs(),
            "departments": selectors.letter_bundle_departments(self.organisation),
        }

    def get_context_data(self, **kwargs):
        page, pagination = paginate(self.request, selectors.letter_bundles_at(self.organisation))
        bundles = list(page.object_list)
        departments = selectors.department_names(bundles)
        return super().get_context_data(
            page=page,
            pagination=pagination,
            rows=[(b, selectors.describe_filters(b.filters, departments)) for b in bundles],
            live_count=selectors.bundle_entitlements(self.organisation, {}).count(),
            **kwargs,
        )

    def perform(self, form):
        bundle = services.letter_bundle_request(
            organisation=self.organisation,
            by=self.request.user,
            filters=form.cleaned_data,
        )
        return (
            "Your ZIP of letters has been requested",
            reverse("letter_bundle", args=[self.organisation.ods_code, bundle.pk]),
        )


class LetterBundleView(LetterBundleMixin, TemplateView):
    """One bundle: its progress while it is built, then its download link and what it
    holds (and how many letters its manifest lists as missing)."""

    template_name = "entitlements/letter_bundles/detail.jinja"

    def get_title(self):
        return {
            BundleStatus.READY: "Your ZIP of letters is ready",
            BundleStatus.FAILED: "Your ZIP of letters could not be built",
        }.get(self.get_bundle().status, "Your ZIP of letters is being built")

    def get(self, request, *args, **kwargs):
        return _private(super().get(request, *args, **kwargs))

    def get_context_data(self, **kwargs):
        bundle = self.get_bundle()
        departments = selectors.department_names([bundle])
        return super().get_context_data(
            bundle=bundle,
            filters=selectors.describe_filters(bundle.filters, departments),
            contents=selectors.letter_bundle_contents(bundle),
            **kwargs,
        )


class LetterBundleStatusView(LetterBundleMixin, View):
    """Where a bundle stands, as JSON, for the page that shows its progress."""

    def get(self, request, *args, **kwargs):
        bundle = self.get_bundle()
        return _private(
            JsonResponse(
                {
                    "status": bundle.status,
                    "status_text": bundle.get_status_display(),
                    "done": bundle.done,
                    "total": bundle.total,
                    "percent": bundle.percent,
                }
            )
        )


class LetterBundleDownloadView(LetterBundleMixin, View):
    """The ZIP as an attachment, streamed from storage, once it is ready; until then the
    bundle's page."""

    def get(self, request, *args, **kwargs):
        bundle = self.get_bundle()
        if bundle.status != BundleStatus.READY:
            return redirect("letter_bundle", self.organisation.ods_code, bundle.pk)
        day = timezone.localtime(bundle.finished_at or bundle.requested_at).date()
        response = FileResponse(
            bundle.file.open("rb"),
            as_attachment=True,
            filename=f"letters-{self.organisation.ods_code}-{day.isoformat()}-{bundle.pk}.zip",
            content_type="application/zip",
        )
        return _private(response)


urlpatterns = [
    path(f"{org}letters/bundles/", LetterBundlesView.as_view(), name="letter_bundles"),
    path(f"{org}letters/bundles/<int:pk>/", LetterBundleView.as_view(), name="letter_bundle"),
    path(
        f"{org}letters/bundles/<int:pk>/status/",
        LetterBundleStatusView.as_view(),
        name="letter_bundle_status",
    ),
    path(
        f"{org}letters/bundles/<int:pk>/download/",
        LetterBundleDownloadView.as_view(),
        name="letter_bundle_download",
    ),
]
