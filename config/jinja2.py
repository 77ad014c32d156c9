"""The Jinja2 environment for pages: NHS.UK frontend macros plus a few Django helpers."""

from django.conf import settings
from django.contrib import messages
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from jinja2 import (
    ChainableUndefined,
    ChoiceLoader,
    Environment,
    PackageLoader,
    select_autoescape,
)

from .forms import error_summary_items, nhsuk_field


def url(name: str, *args, **kwargs) -> str:
    return reverse(name, args=args or None, kwargs=kwargs or None)


def unread_notifications(request) -> int:
    """The signed-in user's unread notification count, for the header: one COUNT query per
    request, however many times a page asks."""
    if not hasattr(request, "_unread_notifications"):
        from referrers.selectors import unread_notification_count

        request._unread_notifications = unread_notification_count(request.user)
    return request._unread_notifications


def environment(**options) -> Environment:
    # nhsuk-frontend-jinja needs ChainableUndefined; our own templates come first.
    options["undefined"] = ChainableUndefined
    # Pages escape everything; plain-text e-mail bodies (.txt) must not be HTML-escaped.
    options["autoescape"] = select_autoescape(
        enabled_extensions=("html", "jinja"), disabled_extensions=("txt",), default=True
    )
    loader = options.pop("loader", None)
    loaders = [loader] if loader else []
    options["loader"] = ChoiceLoader([*loaders, PackageLoader("nhsuk_frontend_jinja")])
    env = Environment(**options)  # noqa: S701 - autoescape is set above
    env.globals.update(
        {
            "static": static,
            "url": url,
            "get_messages": messages.get_messages,
            "SITE_NAME": settings.SITE_NAME,
            "nhsuk_field": nhsuk_field,
            "error_summary_items": error_summary_items,
            "localtime": timezone.localtime,
            "unread_notifications": unread_notifications,
        }
    )
    return env
