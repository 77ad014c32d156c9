"""Letters: download (access checked), progress while rendering, verification by code.

Every letter is found through `selectors.letter_for(user, pk)`: its referrer, and that
employer's delegates and governance leads; anyone else gets a 404, as if it did not exist.
"""

import hashlib
import io
import logging

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import FileResponse, JsonResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.cache import add_never_cache_headers
from django.views import View
from django.views.generic import FormView

from .. import selectors
from ..forms.letters import LetterVerifyForm
from ..models import EntitlementState, LetterStatus
from ..services.letters import letter_filename

logger = logging.getLogger(__name__)


def _entitlement_url(user, entitlement) -> str:
    """Where the person came from: the referrer's own page, or the employer's record."""
    if entitlement.referrer.user_id == user.pk:
        return reverse("entitlement", args=[entitlement.pk])
    return reverse("entitlement_manage", args=[entitlement.organisation.ods_code, entitlement.pk])


def _private(response):
    response["X-Content-Type-Options"] = "nosniff"
    add_never_cache_headers(response)
    return response


class LetterDownloadView(LoginRequiredMixin, View):
    """The letter's PDF as an attachment, once rendered; until then a page saying it is
    being prepared. The stored file is checked against the SHA-256 recorded when it was
    rendered: a file that does not match is never served."""

    def get(self, request, pk: int):
        letter = selectors.letter_for(request.user, pk)
        context = {
            "letter": letter,
            "back_url": _entitlement_url(request.user, letter.entitlement),
        }
        if letter.status != LetterStatus.READY:
            title = (
                "This letter could not be prepared"
                if letter.status == LetterStatus.FAILED
                else "This letter is being prepared"
            )
            response = render(
                request, "entitlements/letters/preparing.jinja", {**context, "title": title}
            )
            return _private(response)
        with letter.file.open("rb") as file:
            data = file.read()
        if hashlib.sha256(data).hexdigest() != letter.sha256:
            logger.error(
                "Letter %s: the stored file %s does not match its SHA-256", letter.pk, letter.file
            )
            response = render(
                request,
                "entitlements/letters/mismatch.jinja",
                {**context, "title": "This letter cannot be downloaded"},
                status=500,
            )
            return _private(response)
        response = FileResponse(
            io.BytesIO(data),
            as_attachment=True,
            filename=letter_filename(letter),
            content_type="application/pdf",
        )
        return _private(response)


class LetterStatusView(LoginRequiredMixin, View):
    """Where a letter stands, as JSON, for the page that waits for it (letters.mjs)."""

    def get(self, request, pk: int):
        letter = selectors.letter_for(request.user, pk)
        ready = letter.status == LetterStatus.READY
        response = JsonResponse(
            {
                "status": letter.status,
                "status_text": letter.get_status_display(),
                "download_url": reverse("letter_download", args=[letter.pk]) if ready else None,
                "size": letter.size if ready else None,
            }
        )
        return _private(response)


class LetterVerifyView(LoginRequiredMixin, FormView):
    """Anyone signed in types a letter's verification code and sees whether it is genuine:
    whose it is, what it records, and whether it still describes the entitlement."""

    form_class = LetterVerifyForm
    template_name = "entitlements/letters/verify.jinja"

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        if "code" in self.request.GET:
            kwargs["data"] = self.request.GET
        return kwargs

    def get(self, request, *args, **kwargs):
        form = self.get_form()
        if not form.is_bound:
            return self.render_to_response(self.get_context_data(form=form))
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        letter = selectors.letter_by_code(form.cleaned_data["code"])
        if letter is None:
            form.add_error(
                "code",
                "No letter has this verification code. Check it against the letter and try again",
            )
            return self.render_to_response(self.get_context_data(form=form))
        return self.render_to_response(self.get_context_data(form=form, letter=letter))

    def post(self, request, *args, **kwargs):
        return self.http_method_not_allowed(request, *args, **kwargs)

    def get_context_data(self, letter=None, **kwargs):
        context = super().get_context_data(
            title="Check a letter of entitlement",
            breadcrumbs=[{"href": reverse("home"), "text": "Home"}],
            **kwargs,
        )
        if letter is not None:
            entitlement = letter.entitlement
            latest = selectors.letters_of(entitlement).first()
            context.update(
                letter=letter,
                entitlement=entitlement,
                is_live=entitlement.state in (EntitlementState.ACTIVE, EntitlementState.SUSPENDED),
                latest=latest,
                superseded_by=getattr(entitlement, "superseded_by", None),
                is_latest=latest is not None and latest.pk == letter.pk,
                may_download=selectors.may_read_letters(self.request.user, entitlement),
            )
        return context


urlpatterns = [
    path("letters/<int:pk>/", LetterDownloadView.as_view(), name="letter_download"),
    path("letters/<int:pk>/status/", LetterStatusView.as_view(), name="letter_status"),
    path("letters/verify/", LetterVerifyView.as_view(), name="letter_verify"),
]
