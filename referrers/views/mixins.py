"""Shared view plumbing. Organisation pages resolve their organisation through the access
selector, so no view builds its own permission check."""

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.urls import reverse

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
