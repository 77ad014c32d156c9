"""Shared view plumbing. Organisation pages resolve their organisation through the access
selector, so no view builds its own permission check."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.urls import reverse

from config.forms import apply_validation_error

from .. import selectors


class OrganisationMixin(LoginRequiredMixin):
    """A page of one organisation: `self.organisation`, if the user holds `permission` there."""

    permission: str = ""
    title: str = ""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.organisation = selectors.organisation_for(
            request.user, kwargs["ods_code"], self.permission
        )
        return super().dispatch(request, *args, **kwargs)

    def get_title(self) -> str:
        return self.title

    def get_breadcrumbs(self) -> list[dict]:
        return [{"href": reverse("home"), "text": "Home"}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            organisation=self.organisation,
            title=self.get_title(),
            breadcrumbs=self.get_breadcrumbs(),
        )
        return context


class ServiceFormMixin:
    """A FormView whose valid data goes to a service. `perform(form)` calls the service and
    returns the success message and the URL to go to; a ValidationError it raises is shown on
    the form's fields, and the service has saved nothing."""

    def perform(self, form) -> tuple[str, str]:
        raise NotImplementedError

    def form_valid(self, form):
        try:
            message, next_url = self.perform(form)
        except ValidationError as error:
            apply_validation_error(form, error)
            return self.form_invalid(form)
        messages.success(self.request, message)
        return redirect(next_url)


def paginate(request, queryset, per_page: int | None = None):
    """The requested page of `queryset`, and the NHS pagination links for it."""
    paginator = Paginator(queryset, per_page or settings.PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    links = {}
    if page.has_previous():
        query["page"] = page.previous_page_number()
        links["previous"] = {
            "href": f"?{query.urlencode()}",
            "labelText": f"Page {page.previous_page_number()} of {paginator.num_pages}",
        }
    if page.has_next():
        query["page"] = page.next_page_number()
        links["next"] = {
            "href": f"?{query.urlencode()}",
            "labelText": f"Page {page.next_page_number()} of {paginator.num_pages}",
        }
    return page, links
