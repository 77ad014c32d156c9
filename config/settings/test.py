"""The test suite: embedded defaults, or PostgreSQL and Redis when their URLs are set."""

import os

from .base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["default"]["OPTIONS"]["location"] = str(BASE_DIR / "var" / "test-media")  # noqa: F405
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Without REDIS_URL, a fresh filesystem broker per run, so no message outlives its test run.
if not REDIS_URL:  # noqa: F405
    import tempfile
    from pathlib import Path

    _broker = Path(tempfile.mkdtemp(prefix="entitlement-celery-"))
    for _folder in ("out", "processed", "control"):
        (_broker / _folder).mkdir()
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker / "out"),
        "data_folder_out": str(_broker / "out"),
        "data_folder_processed": str(_broker / "processed"),
        "control_folder": str(_broker / "control"),
        "store_processed": False,
    }

# Under pytest-xdist each test process gets its own queue and cache keys, so a Celery worker
# started by one process's test never takes another's tasks (they use different databases),
# and one process's rate-limit counts never reach another's.
_xdist = os.environ.get("PYTEST_XDIST_WORKER", "")
if _xdist:
    CELERY_TASK_DEFAULT_QUEUE = f"celery-{_xdist}"
    CACHES["default"]["KEY_PREFIX"] = f"{CACHES['default'].get('KEY_PREFIX', '')}-{_xdist}"  # noqa: F405

# Multi-factor authentication stays required in tests, and every real sign-in in a test (the
# browser tests) goes through the TOTP step. Only a session made by the test client's
# `force_login` counts as having passed it: see referrers.authentication.mfa_satisfied.
# tests/security/test_mfa.py turns this off to test the enforcement itself.
MFA_REQUIRED = True
MFA_TRUST_FORCE_LOGIN = True

# Tests read each API lookup's record straight after the request, and test processes share
# one Redis: the lookup queue is off here; tests/api/test_lookup_queue.py turns it on.
REGISTER_LOOKUP_QUEUE = False
