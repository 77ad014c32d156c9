"""Who may be signed in, and how strongly (docs/security.md).

- `MfaRequiredMiddleware`: delegates, governance leads, organisation administrators and
  superusers must pass a second factor (a TOTP code from an authenticator app, django-otp)
  before any page but the sign-in, set-up and sign-out pages. Someone with no authenticator
  yet sets one up on their first sign-in; someone with one must use it (a new one cannot be
  added without the old, so a stolen password alone never enrols a device).
- `OidcBackend`, `OidcCallbackView`: the optional NHS Care Identity Service 2 sign-in
  (mozilla-django-oidc). Matches existing, active accounts by e-mail; never creates one. A
  sign-in whose ID token's `acr` says the provider used multi-factor authentication counts as
  the second factor.
- `client_ip`, `axes_username`: what django-axes counts failed sign-ins by.
"""

import logging

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import Http404
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.http import urlencode
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from .models import OrganisationRole, Role

logger = logging.getLogger(__name__)

# Roles whose holders must sign in with a second factor.
MFA_ROLES = (
    Role.ENTITLEMENT_DELEGATE,
    Role.GOVERNANCE_LEAD,
    Role.ORGANISATION_ADMINISTRATOR,
)
# The session key saying the second factor was met by the identity provider, and how.
MFA_SESSION_KEY = "mfa_satisfied_by"
# How the session's user signed in: "password" or "oidc".
SIGNED_IN_WITH_KEY = "signed_in_with"
# Pages open to a privileged user who has given a password but not yet a second factor.
MFA_EXEMPT_URL_NAMES = frozenset(
    {
        "login",
        "sign_out",
        "mfa_setup",
        "mfa_verify",
        "password_forgotten",
        "password_forgotten_sent",
        "password_set",
        "password_set_done",
        "letter_check",
        "letter_check_code",
        "oidc_authentication_init",
        "oidc_authentication_callback",
    }
)


def needs_mfa(user) -> bool:
    """Whether `user` must pass a second factor: a superuser, or a holder of an MFA role at
    any organisation. One query, remembered on the user object for the request."""
    if not user.is_authenticated:
        return False
    if not hasattr(user, "_needs_mfa"):
        user._needs_mfa = (
            user.is_superuser
            or OrganisationRole.objects.filter(user_id=user.pk, role__in=MFA_ROLES).exists()
        )
    return user._needs_mfa


def mfa_satisfied(request) -> bool:
    user = request.user
    if getattr(user, "is_verified", lambda: False)():
        return True
    if request.session.get(MFA_SESSION_KEY) == "oidc":
        return True
    # Test settings only (config/settings/test.py): a session made by the test client's
    # force_login counts as verified. Every real sign-in (the sign-in page, OpenID Connect)
    # records how it was made under SIGNED_IN_WITH_KEY; force_login records nothing.
    # Production settings turn this off.
    if getattr(settings, "MFA_TRUST_FORCE_LOGIN", False):
        return SIGNED_IN_WITH_KEY not in request.session
    return False


class MfaRequiredMiddleware:
    """Sends a privileged user who has not passed the second factor to set it up or enter
    a code, whatever page they asked for (after django_otp's OTPMiddleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.MFA_REQUIRED and self._blocked(request):
            from django_otp import user_has_device

            name = "mfa_verify" if user_has_device(request.user) else "mfa_setup"
            query = urlencode({REDIRECT_FIELD_NAME: request.get_full_path()})
            return redirect(f"{reverse(name)}?{query}")
        return self.get_response(request)

    def _blocked(self, request) -> bool:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return False
        path = request.path_info
        if path.startswith((settings.STATIC_URL, "/api/")):
            return False
        try:
            match = resolve(path)
        except Resolver404:
            return False
        if match.url_name in MFA_EXEMPT_URL_NAMES:
            return False
        # The session is read first: a verified session costs no query here.
        return not mfa_satisfied(request) and needs_mfa(user)


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the address
    the outermost trusted proxy received the request from (X-Forwarded-For, read from the
    right, so a client cannot choose it)."""
    count = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    remote = request.META.get("REMOTE_ADDR", "")
    if count <= 0:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [h for h in hops if h]
    return hops[-count] if len(hops) >= count else remote


def axes_username(request, credentials) -> str:
    """Failed sign-ins are counted per e-mail address however it is typed."""
    value = (credentials or {}).get("username") or request.POST.get("username", "")
    return (value or "").strip().lower()


# --- OpenID Connect (NHS CIS2) ---------------------------------------------------------------


class OidcBackend(OIDCAuthenticationBackend):
    """Signs in an existing, active account whose e-mail the provider vouches for."""

    def verify_token(self, token, **kwargs):
        """The signature and nonce (mozilla-django-oidc), and also what it leaves out: the
        token was issued to us (`aud`) by our provider (`iss`, when OIDC_OP_ISSUER is set)."""
        from django.core.exceptions import SuspiciousOperation

        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("The ID token was issued to another client")
        issuer = getattr(settings, "OIDC_OP_ISSUER", "")
        if issuer and payload.get("iss") != issuer:
            raise SuspiciousOperation("The ID token was issued by another provider")
        return payload

    def verify_claims(self, claims) -> bool:
        return bool(claims.get("email")) and claims.get("email_verified", True) is not False

    def filter_users_by_claims(self, claims):
        email = (claims.get("email") or "").strip().lower()
        if not email:
            return self.UserModel.objects.none()
        return self.UserModel.objects.filter(email=email, is_active=True)

    def get_or_create_user(self, access_token, id_token, payload):
        user = super().get_or_create_user(access_token, id_token, payload)
        if user is not None:
            acr = payload.get("acr", "")
            self.request._oidc_mfa = acr in settings.OIDC_MFA_ACR_VALUES
            logger.info("OIDC sign-in for user %s (acr %r)", user.pk, acr)
        return user


class OidcAuthenticateView(OIDCAuthenticationRequestView):
    """Sends the browser to the provider; not found unless OIDC is configured."""

    def get(self, request):
        if not settings.OIDC_ENABLED:
            raise Http404
        return super().get(request)


class OidcCallbackView(OIDCAuthenticationCallbackView):
    """The provider's redirect back. Records whether the provider met the second factor."""

    def get(self, request):
        if not settings.OIDC_ENABLED:
            raise Http404
        return super().get(request)

    def login_success(self):
        response = super().login_success()
        self.request.session[SIGNED_IN_WITH_KEY] = "oidc"
        if getattr(self.request, "_oidc_mfa", False):
            self.request.session[MFA_SESSION_KEY] = "oidc"
        else:
            self.request.session.pop(MFA_SESSION_KEY, None)
        return response
