"""A server. Refuses to start when a required setting is missing or unsafe.

Every required value is read through `required()`, so the error names the variable.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env, with_session_options


def required(name: str, cast=str):
    """The value of environment variable `name`, or stop start-up with a message naming it."""
    raw = env.str(name, default="").strip()
    if not raw:
        raise ImproperlyConfigured(
            f"The environment variable {name} must be set in production "
            "(see docs/configuration.md)."
        )
    return cast(raw)


if env.bool("DEBUG", default=False):
    raise ImproperlyConfigured(
        "The environment variable DEBUG must be off in production: unset it or set DEBUG=False."
    )
DEBUG = False

SECRET_KEY = required("SECRET_KEY")
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("insecure"):
    raise ImproperlyConfigured(
        "The environment variable SECRET_KEY must be a random value of at least 50 characters."
    )
ALLOWED_HOSTS = required("ALLOWED_HOSTS", lambda v: [h.strip() for h in v.split(",") if h.strip()])
DATABASES = {"default": with_session_options(env.db_url_config(required("DATABASE_URL")))}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
REDIS_URL = required("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_TRANSPORT_OPTIONS = dict(REDIS_BROKER_TRANSPORT_OPTIONS)  # noqa: F405

# Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# The second factor for delegates, governance leads and administrators cannot be switched off.
if not env.bool("MFA_REQUIRED", default=True):
    raise ImproperlyConfigured(
        "The environment variable MFA_REQUIRED cannot be off in production: delegates, "
        "governance leads and administrators must sign in with a second factor."
    )
MFA_REQUIRED = True
MFA_TRUST_FORCE_LOGIN = False
# With OpenID Connect on (OIDC_RP_CLIENT_ID set), every endpoint must be given.
if OIDC_ENABLED:  # noqa: F405
    OIDC_RP_CLIENT_SECRET = required("OIDC_RP_CLIENT_SECRET")
    OIDC_OP_AUTHORIZATION_ENDPOINT = required("OIDC_OP_AUTHORIZATION_ENDPOINT")
    OIDC_OP_TOKEN_ENDPOINT = required("OIDC_OP_TOKEN_ENDPOINT")
    OIDC_OP_USER_ENDPOINT = required("OIDC_OP_USER_ENDPOINT")
    OIDC_OP_JWKS_ENDPOINT = required("OIDC_OP_JWKS_ENDPOINT")
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 60 * 60)

STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage",
}
