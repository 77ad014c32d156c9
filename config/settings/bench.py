"""The benchmark (`make bench`, bench/run.py): production-like, on the benchmark's own
PostgreSQL and Redis.

DEBUG off, persistent connections and health checks as in production, Redis for the cache
and the broker; no TLS redirect (gunicorn is asked over plain HTTP on the loopback). The
URLconf adds one bench-only view, a trivial JSON answer, as the baseline the lookup is
measured against; it is not in the production URLs. Refuses SQLite and a missing Redis:
the benchmark must never touch a developer's working database.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DATABASES, REDIS_URL

if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured(
        "The benchmark runs on PostgreSQL only: set DATABASE_URL to a database made for it "
        "(e.g. postgres://postgres@127.0.0.1:5432/bench_small), never your working database."
    )
if not REDIS_URL:
    raise ImproperlyConfigured(
        "The benchmark needs Redis: set REDIS_URL (e.g. redis://127.0.0.1:6379/15)."
    )

DEBUG = False
SECRET_KEY = "bench-only-secret-key-not-for-any-server-" + "x" * 20  # noqa: S105
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
ROOT_URLCONF = "bench.urls"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
# The pages part signs its personas in with the test client's force_login, which a real
# second factor cannot follow; the sessions it makes count as verified (as in the tests).
MFA_TRUST_FORCE_LOGIN = True
