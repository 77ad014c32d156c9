"""The second-factor pages and the optional OpenID Connect sign-in (referrers/authentication.py)."""

from django.urls import path

from .authentication import OidcAuthenticateView, OidcCallbackView
from .views import auth

urlpatterns = [
    path("sign-in/security-code/", auth.MfaVerifyView.as_view(), name="mfa_verify"),
    path("sign-in/authenticator/", auth.MfaSetupView.as_view(), name="mfa_setup"),
    path(
        "sign-in/oidc/",
        OidcAuthenticateView.as_view(),
        name="oidc_authentication_init",
    ),
    path(
        "sign-in/oidc/callback/",
        OidcCallbackView.as_view(),
        name="oidc_authentication_callback",
    ),
]
