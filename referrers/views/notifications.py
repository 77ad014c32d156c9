"""The signed-in user's in-app notifications: newest first, unread marked, all marked read
on request."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import TemplateView

from .. import selectors, services
from .mixins import paginate


def _internal(url: str) -> str:
    # Notifications link to pages of this site only; anything else is not made a link.
    return url if url.startswith("/") and not url.startswith("//") else ""


class NotificationsView(LoginRequiredMixin, TemplateView):
    template_name = "referrers/notifications.jinja"

    def get_context_data(self, **kwargs):
        page, pagination = paginate(self.request, selectors.notifications_of(self.request.user))
        for notification in page.object_list:
            notification.link = _internal(notification.url)
        return super().get_context_data(
            title="Notifications",
            page=page,
            pagination=pagination,
            breadcrumbs=[{"href": reverse("home"), "text": "Home"}],
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        count = services.notifications_read(user=request.user)
        if count:
            messages.success(
                request,
                f"{count} notification{'s' if count != 1 else ''} marked as read",
            )
        return redirect(reverse("notifications"))
