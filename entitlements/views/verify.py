"""Public verification of a printed letter: `/verify/<code>`, and `/verify/` to type one.

No sign-in. The answer is one of three: genuine and in force (the current letter of an
active entitlement), genuine but no longer in force (and why, in a few plain words), or not
recognised. It names only the referrer and the employer, as the letter does, and the
letter's date: no scope, no registration number, nothing else about the referrer.

Unknown and genuine codes take the same path (one query, one template), and the answer is
never cached. Rate limiting is not done here: a code is 12 characters from a 30-character
alphabet (about 5 x 10^17 codes), so guessing one is impractical, and limits belong in front
of the site (see docs/architecture.md).
"""

import re

from django.shortcuts import render
from django.urls import path, re_path
from django.utils.cache import add_never_cache_headers
from django.views import View

from .. import selectors
from ..forms.letters import LetterVerifyForm

# Dashes a word processor, PDF reader or phone may put in place of a hyphen.
_DASHES = re.compile(r"[\u2010\u2011\u2012\u2013\u2014\u2015\u2212]")

TITLES = {
    None: "Check a letter of entitlement",
    "in_force": "This letter is genuine and in force",
    "not_in_force": "This letter is genuine but no longer in force",
    "unknown": "This letter is not recognised",
}


class PublicVerifyForm(LetterVerifyForm):
    """The signed-in form's code field and messages, also taking any kind of dash."""

    def clean_code(self) -> str:
        self.cleaned_data["code"] = _DASHES.sub("-", self.cleaned_data["code"])
        return super().clean_code()


def _private(response):
    # The answer names a person: never stored by a browser or a shared cache, never indexed,
    # and the code in the address is not passed on to another site.
    add_never_cache_headers(response)
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


class LetterCheckView(View):
    """`/verify/` (the form, or its answer with `?code=`) and `/verify/<code>`."""

    template_name = "entitlements/verify/check.jinja"

    def get(self, request, code: str | None = None):
        typed = code if code is not None else request.GET.get("code")
        form = PublicVerifyForm(data={"code": typed} if typed is not None else None)
        outcome, verification, checked = None, None, ""
        if form.is_bound and form.is_valid():
            checked = form.cleaned_data["code"]
            verification = selectors.letter_verification(checked)
            if verification is None:
                outcome = "unknown"
            else:
                outcome = "in_force" if verification.in_force else "not_in_force"
        context = {
            "title": TITLES[outcome],
            "form": form,
            "outcome": outcome,
            "verification": verification,
            "code": checked,
            # After an answer, an empty box to check another letter.
            "field_form": PublicVerifyForm() if outcome else form,
        }
        return _private(render(request, self.template_name, context))


urlpatterns = [
    path("verify/", LetterCheckView.as_view(), name="letter_check"),
    # As printed on the letter (no trailing slash), or with one.
    re_path(r"^verify/(?P<code>[^/]+)/?$", LetterCheckView.as_view(), name="letter_check_code"),
]
