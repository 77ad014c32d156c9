"""Settings shared by every environment.

All configuration comes from the environment through django-environ. Every value has an
embedded default that suits a laptop (SQLite, Celery's filesystem broker, e-mail to the
console); `production.py` removes the defaults that would be unsafe on a server.
"""

import datetime
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A `.env` file beside manage.py is read if present (never committed).
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="insecure-local-development-key-change-me")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

SITE_NAME = "Imaging referrer entitlement"
# The address people reach the site at, for links in e-mails sent outside a request.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "guardian",
    "simple_history",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Security: login throttling and lockout, TOTP second factor, OpenID Connect sign-in
    # (docs/security.md).
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "mozilla_django_oidc",
    "referrers",
    "entitlements",
    "training",
    "audits",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # A NUL character in a request is a 400 page, never a 500 from PostgreSQL.
    "config.middleware.RejectNulCharactersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Delegates, governance leads and administrators must have passed the TOTP step.
    "referrers.authentication.MfaRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        # Pages: Jinja2 with the NHS.UK frontend macros.
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "config.jinja2.environment",
            # `cspNonce` for the NHS.UK template's one inline script (docs/security.md).
            "context_processors": ["config.csp.nonce"],
        },
    },
    {
        # The Django admin (superusers only) keeps Django templates.
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
# PostgreSQL session settings for a service of short, indexed queries on a modest server: no
# JIT compilation (it cost 0.1 to 0.4 s on queries that run in milliseconds) and no parallel
# workers (a page's query waited for workers the other requests needed; the benchmark's
# pages ran about 2 to 3 times faster without). bench/analysis.md shows the plans. Set
# DATABASE_SESSION_OPTIONS to "" to keep the server's own settings (e.g. behind a pooler that
# refuses startup options).
DATABASE_SESSION_OPTIONS = env.str(
    "DATABASE_SESSION_OPTIONS", default="-c jit=off -c max_parallel_workers_per_gather=0"
)


def with_session_options(database: dict) -> dict:
    """`database` (a DATABASES entry) with DATABASE_SESSION_OPTIONS when it is PostgreSQL."""
    if database.get("ENGINE") == "django.db.backends.postgresql" and DATABASE_SESSION_OPTIONS:
        database.setdefault("OPTIONS", {}).setdefault("options", DATABASE_SESSION_OPTIONS)
    return database


with_session_options(DATABASES["default"])
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "referrers.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses any sign-in attempt while the e-mail address and IP are locked out.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-guardian: no anonymous user object; permissions live in direct foreign-key tables.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    # Uploaded evidence is private: it lives outside any URL and is served only through
    # views that check access.
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": env.str("PRIVATE_MEDIA_ROOT", default=str(BASE_DIR / "media"))},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Uploads. DATA_UPLOAD_MAX_MEMORY_SIZE (Django's 2.5 MB) limits the form fields, never the
# files, so a file is not refused by Django with a 400: a file up to 2.5 MB is held in
# memory, a larger one streams to a temporary file of which the capped handler keeps at
# most the largest file we accept (10 MB) while counting the rest, so a file that is too big
# is refused by entitlements.uploads.check_upload with a message saying so.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "entitlements.uploads.CappedTemporaryFileUploadHandler",
]

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="entitlement@localhost")
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))

# Celery. Without REDIS_URL the broker is Celery's filesystem transport, so `make run` needs
# nothing but Python; with REDIS_URL (production, CI) it is Redis.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_DATA_DIR = Path(env.str("CELERY_DATA_DIR", default=str(BASE_DIR / "var" / "celery")))
# A Redis that is down or hung must not hold a web request for long: sending a task gives up
# after BROKER_TIMEOUT seconds per try, two tries, and the task waits in the outbox
# (referrers/outbox.py) until the broker is back.
BROKER_TIMEOUT = env.float("BROKER_TIMEOUT", default=2.0)
REDIS_BROKER_TRANSPORT_OPTIONS = {
    # Longer than the longest task: an unacknowledged task is redelivered after this.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=2 * 60 * 60),
    "socket_connect_timeout": BROKER_TIMEOUT,
    "socket_timeout": max(BROKER_TIMEOUT, 3.0),  # above the worker's 1 s BRPOP wait
}
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_TIMEOUT
# /health reports the worker as down when its last heartbeat (every minute) is older than this.
HEALTH_HEARTBEAT_MAX_AGE = env.int("HEALTH_HEARTBEAT_MAX_AGE", default=180)
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = dict(REDIS_BROKER_TRANSPORT_OPTIONS)
else:
    CELERY_BROKER_URL = "filesystem://"
    # Anything that enqueues (a page, seed_demo, a shell) needs the folders, not just the worker.
    for _folder in ("out", "processed", "control"):
        (CELERY_DATA_DIR / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_DATA_DIR / "out"),
        "data_folder_out": str(CELERY_DATA_DIR / "out"),
        "data_folder_processed": str(CELERY_DATA_DIR / "processed"),
        "control_folder": str(CELERY_DATA_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE: dict = {
    # A letter whose task was lost (the broker was down when its change committed) is
    # enqueued again; rendering is idempotent, so nothing is rendered twice.
    "letters-render-pending": {
        "task": "entitlements.letters_render_pending",
        "schedule": 15 * 60,
    },
    # Tasks whose sending failed (the broker was down when their change committed) are sent
    # now; and the worker heartbeat that /health reads (config/health.py).
    "outbox-send": {
        "task": "referrers.outbox_send",
        "schedule": 60,
    },
    "worker-heartbeat": {
        "task": "referrers.worker_heartbeat",
        "schedule": 60,
    },
    # Likewise a bundle of letters whose task was lost.
    "letter-bundles-build-pending": {
        "task": "entitlements.letter_bundles_build_pending",
        "schedule": 15 * 60,
    },
    # Each night, every entitling organisation's RIS "restrict ordering" list for the day,
    # after the control run has acted on lapses; a rerun for a day already built does nothing.
    # 03:30 London exists exactly once every day, whatever the clocks do.
    "ris-exports-build": {
        "task": "entitlements.ris_exports_build",
        "schedule": crontab(hour=3, minute=30),
    },
    # The automatic control run (docs/controls.md): one task per organisation for today.
    # 02:00 London exists exactly once every day (01:00-01:59 is skipped or repeated when the
    # clocks change); a missed night is caught up by the next, and a repeat does nothing.
    "training-controls-run-all": {
        "task": "training.controls_run_all",
        "schedule": crontab(hour=2, minute=0),
    },
    # The entitlement-check API's lookups, queued in Redis, into the database
    # (entitlements/services/register.py); often, so the record is never far behind.
    "register-lookups-flush": {
        "task": "entitlements.register_lookups_flush",
        "schedule": 5,
    },
}
# The entitlement-check API records each lookup through a Redis queue instead of an INSERT
# per request (docs/performance.md). On by default when Redis is configured.
REGISTER_LOOKUP_QUEUE = env.bool("REGISTER_LOOKUP_QUEUE", default=bool(REDIS_URL))
# The entitlement check's one statement is prepared once per PostgreSQL connection (no
# planning per lookup); off for a pooler in transaction mode, which cannot keep it.
REGISTER_LOOKUP_PREPARED = env.bool("REGISTER_LOOKUP_PREPARED", default=True)

# --- Security (docs/security.md) ------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Sessions end after SESSION_COOKIE_AGE (8 hours in production) and when the browser closes.
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# The client address for login throttling. Behind TRUSTED_PROXY_COUNT proxies that each
# append to X-Forwarded-For, the address the nearest trusted proxy saw; otherwise REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# django-axes: after AXES_FAILURE_LIMIT wrong passwords for one e-mail address from one
# address, that pair is refused for AXES_COOLOFF_TIME (a 429 page saying so); a correct
# sign-in resets the count. By pair, so nobody can lock a colleague out from elsewhere.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"
AXES_CLIENT_IP_CALLABLE = "referrers.authentication.client_ip"
AXES_USERNAME_CALLABLE = "referrers.authentication.axes_username"
AXES_LOCKOUT_CALLABLE = "referrers.views.auth.locked_out"
AXES_SENSITIVE_PARAMETERS = ["password"]

# Multi-factor authentication (django-otp, TOTP): delegates, governance leads and
# administrators (and superusers) must pass the TOTP step after their password, set up on
# first sign-in (referrers/authentication.py). MFA_REQUIRED=False turns this off, for a
# laptop only: production refuses it.
MFA_REQUIRED = env.bool("MFA_REQUIRED", default=True)
OTP_TOTP_ISSUER = SITE_NAME
# Each wrong code doubles the wait before the next try (django-otp's throttling).
OTP_TOTP_THROTTLE_FACTOR = 1

# Content-Security-Policy (django-csp 4): our own files only; no inline script except the
# NHS.UK page template's one line, which carries the per-request nonce.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "https://assets.nhs.uk"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Optional sign-in with NHS Care Identity Service 2 (or any OpenID Connect provider), on
# when OIDC_RP_CLIENT_ID is set. People are matched to existing accounts by e-mail address;
# the provider never creates an account. A sign-in whose ID token says the provider used
# multi-factor authentication (its `acr` is one of OIDC_MFA_ACR_VALUES) counts as the second
# factor; any other still goes through the TOTP step.
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", default="")
OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID)
OIDC_RP_CLIENT_SECRET = env.str("OIDC_RP_CLIENT_SECRET", default="")
OIDC_RP_SIGN_ALGO = env.str("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env.str("OIDC_RP_SCOPES", default="openid profile email")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", default="")
OIDC_OP_ISSUER = env.str("OIDC_OP_ISSUER", default="")
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="NHS Care Identity Service 2")
OIDC_MFA_ACR_VALUES = env.list("OIDC_MFA_ACR_VALUES", default=["AAL3_ANY", "AAL2_OR_AAL3_ANY"])
OIDC_CREATE_USER = False
OIDC_USE_NONCE = True
OIDC_USE_PKCE = True
OIDC_CALLBACK_CLASS = "referrers.authentication.OidcCallbackView"
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_authentication_callback"
LOGIN_REDIRECT_URL_FAILURE = "/sign-in/?oidc=failed"
OIDC_TIMEOUT = 10
if OIDC_ENABLED:
    AUTHENTICATION_BACKENDS.append("referrers.authentication.OidcBackend")

# Uploads are scanned by ClamAV when CLAMD_SOCKET names clamd's Unix socket; a file that
# fails the scan, or cannot be scanned, is refused (entitlements/uploads.py).
CLAMD_SOCKET = env.str("CLAMD_SOCKET", default="")
CLAMD_TIMEOUT = env.float("CLAMD_TIMEOUT", default=30.0)

# Lists are paginated everywhere; this is the default page size.
PAGE_SIZE = 50

# The cache: Redis when REDIS_URL is set, so every web process shares one count for the
# API's per-client rate limits; local memory (one count per process) otherwise.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "entitlement",
            # A hung Redis must not hold a request (rate limits, /health) for long.
            "OPTIONS": {
                "socket_connect_timeout": BROKER_TIMEOUT,
                "socket_timeout": BROKER_TIMEOUT,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The API for order-comms and RIS systems (entitlements/api, docs/api.md): Bearer tokens per
# client, JSON only, per-client rate limits, errors that never say "entitled".
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["entitlements.api.authentication.ApiTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["entitlements.api.authentication.HasApiClient"],
    "DEFAULT_THROTTLE_CLASSES": ["entitlements.api.throttling.ApiClientRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "entitlements.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Imaging referrer entitlement API",
    "DESCRIPTION": (
        "For order-comms and RIS systems: may this referrer request this examination? "
        "See docs/api.md."
    ),
    "VERSION": "1",
    # 3.1: a field that may be null is said so in JSON Schema's own way (oneOf ... null).
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI from the installed drf-spectacular-sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# The nightly RIS export (entitlements/services/ris_export.py) is also written here, one
# CSV per organisation and day with its .sha256, for the RIS to pick up.
RIS_EXPORT_DIR = Path(env.str("RIS_EXPORT_DIR", default=str(BASE_DIR / "var" / "ris-exports")))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
