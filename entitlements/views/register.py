"""The register: search who is entitled (now, or as of a past date), and ask "may this
referrer request this examination?".

Both pages are organisation pages for delegates, governance leads and IR(ME)R practitioners
(`view_register`, checked by `OrganisationMixin`). Both are GET forms, so an answer can be
bookmarked, and both work without JavaScript. Every answer the check page gives is recorded
with `services.register_lookup_record` (who asked about whom, when, and the answer); a form
with errors answers nothing and records nothing.
"""

from django.urls import path, reverse
from django.utils.http import urlencode
from django.views.generic import TemplateView

from referrers.views.mixins import OrganisationMixin, paginate

from .. import selectors, services
from ..forms.register import CheckForm, RegisterSearchForm
from ..models import LookupChannel
from ..models.scope import CareSetting

org = "organisations/<str:ods_code>/"
ASK = "ask"  # sent by the check form's hidden field: the question is being asked


class RegisterMixin(OrganisationMixin):
    permission = "view_register"

    def get_breadcrumbs(self):
        return [
            *super().get_breadcrumbs(),
            {"href": reverse("register", args=[self.organisation.ods_code]), "text": "Register"},
        ]


class RegisterSearchView(RegisterMixin, TemplateView):
    """Who the employer has entitled, filtered, a page at a time; as of a past date, the
    entitlements live at the end of that day, with their state and scope as then."""

    template_name = "entitlements/register/search.jinja"
    title = "Register of entitled referrers"

    def get_breadcrumbs(self):
        return super().get_breadcrumbs()[:-1]

    def get_context_data(self, **kwargs):
        form = RegisterSearchForm(self.request.GET or None, organisation=self.organisation)
        context = {
            "form": form,
            "rows": [],
            "page": None,
            "pagination": {},
            "as_of": None,
            "check_url": lambda row: check_url(self.organisation, row),
        }
        if not form.is_bound or form.is_valid():
            filters = form.filters() if form.is_bound else selectors.RegisterFilters()
            as_of = form.cleaned_data.get("as_of") if form.is_bound else None
            page, pagination = paginate(
                self.request,
                selectors.register_search(self.organisation, filters, as_of=as_of),
            )
            context.update(
                page=page,
                pagination=pagination,
                rows=selectors.register_rows(page.object_list, as_of=as_of),
                as_of=as_of,
                filtered=form.is_bound
                and any(value not in (None, "") for value in form.cleaned_data.values()),
            )
        return super().get_context_data(**context, **kwargs)


def check_url(organisation, row) -> str:
    """The answer page, with the referrer of `row` filled in."""
    query = {
        "regulator": row.referrer.regulator,
        "registration_number": row.referrer.registration_number,
    }
    return f"{reverse('register_check', args=[organisation.ods_code])}?{urlencode(query)}"


class RegisterCheckView(RegisterMixin, TemplateView):
    """The yes or no, and why, for one referrer, examination, patient age and setting."""

    template_name = "entitlements/register/check.jinja"
    title = "Can this referrer request this examination?"

    def get_context_data(self, **kwargs):
        query = self.request.GET
        asked = ASK in query
        form = CheckForm(
            query if asked else None,
            organisation=self.organisation,
            # A link from the register fills in the referrer; nothing is asked until the
            # form is sent.
            initial={} if asked else {key: query.get(key) for key in query if key != ASK},
        )
        answer = None
        if asked and form.is_valid():
            data = form.cleaned_data
            answer = selectors.entitlement_check(
                organisation=self.organisation,
                regulator=data["regulator"],
                registration_number=data["registration_number"],
                examination_code=data["examination"],
                patient_age=data["patient_age"],
                setting=data["setting"],
                as_of=data["as_of"],
            )
            services.register_lookup_record(
                organisation=self.organisation,
                answer=answer,
                registration=f"{data['regulator']}:{data['registration_number']}",
                examination_code=data["examination"],
                patient_age=data["patient_age"],
                setting=data["setting"],
                as_of=data["as_of"],
                channel=LookupChannel.PAGE,
                asked_by=self.request.user,
            )
        return super().get_context_data(
            form=form,
            answer=answer,
            setting_label=dict(CareSetting.choices).get(form.cleaned_data.get("setting"), "")
            if answer
            else "",
            **kwargs,
        )


urlpatterns = [
    path(f"{org}register/", RegisterSearchView.as_view(), name="register"),
    path(f"{org}register/check/", RegisterCheckView.as_view(), name="register_check"),
]
