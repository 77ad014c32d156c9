"""HTML to PDF with WeasyPrint, fetching nothing from outside the project.

Letters carry text that people typed (clinical indications, reasons, job titles). The
template escapes it, and, should anything ever slip through, the fetcher below is the second
wall: WeasyPrint may read `data:` URLs and the project's own static files, and nothing else:
no `file:`, no network, no path outside the static folders.
"""

import logging
import mimetypes
import os
import posixpath
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import SuspiciousFileOperation
from django.utils._os import safe_join
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

# WeasyPrint logs every step of every document at INFO (and fontTools every glyph subset):
# a worker's log should show letters, not their typesetting.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
logging.getLogger("fontTools").setLevel(logging.WARNING)

# Relative URLs in a letter resolve against this origin, which never reaches the network:
# the fetcher maps `<BASE_URL>static/...` to a static file and refuses every other URL.
# (`.invalid` is reserved and never resolves, RFC 2606.)
BASE_URL = "https://letter-assets.invalid/"


class RefusedURL(ValueError):
    """A URL the letter renderer will not fetch. WeasyPrint catches it and leaves the
    resource out."""


def _static_file(path: str) -> str:
    """The file system path of static file `path` (relative, already unquoted), or refuse."""
    parts = path.split("/")
    if not path or path.startswith("/") or "\\" in path or any(p in ("", ".", "..") for p in parts):
        raise RefusedURL(f"Not a static file path: {path!r}")
    if posixpath.normpath(path) != path:
        raise RefusedURL(f"Not a static file path: {path!r}")
    try:
        found = finders.find(path)
        if not found and settings.STATIC_ROOT:
            candidate = safe_join(str(settings.STATIC_ROOT), path)
            found = candidate if os.path.isfile(candidate) else None
    except SuspiciousFileOperation:
        raise RefusedURL(f"Not a static file path: {path!r}") from None
    if not found:
        raise RefusedURL(f"No such static file: {path!r}")
    return found


class StaticOnlyFetcher(URLFetcher):
    """Fetches `data:` URLs and the project's static files; refuses everything else.

    `fetched` and `refused` list the URLs asked for, so a test can see what happened.
    """

    def __init__(self):
        super().__init__(allowed_protocols=("data",), allow_redirects=False)
        self.fetched: list[str] = []
        self.refused: list[str] = []

    def fetch(self, url, headers=None):
        try:
            response = self._fetch(url)
        except Exception:
            self.refused.append(url)
            raise
        self.fetched.append(url)
        return response

    def _fetch(self, url: str) -> URLFetcherResponse:
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            # urllib's data: handler only; allowed_protocols keeps the parent to data:.
            return super().fetch(url)
        static_prefix = BASE_URL + settings.STATIC_URL.lstrip("/")
        if not url.startswith(static_prefix):
            raise RefusedURL(f"Letters fetch only data: URLs and static files, not {url!r}")
        parts = urlsplit(url)
        if parts.query or parts.fragment:
            raise RefusedURL(f"Not a static file URL: {url!r}")
        path = _static_file(unquote(url[len(static_prefix) :]))
        content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        with open(path, "rb") as file:
            body = file.read()
        return URLFetcherResponse(url, body, headers={"Content-Type": content_type})


def html_to_pdf(html: str, *, fetcher: StaticOnlyFetcher | None = None) -> bytes:
    """The PDF of `html`. Resources are fetched only through a `StaticOnlyFetcher`."""
    fetcher = fetcher or StaticOnlyFetcher()
    return HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher).write_pdf()
