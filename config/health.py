"""`GET /health`: is this installation able to do its work? For the load balancer and
monitoring (docs/configuration.md).

Three checks, each bounded so the endpoint never hangs (BROKER_TIMEOUT for Redis; the
database answers or refuses): the database answers `SELECT 1`; the broker answers (Redis
PING, or the filesystem broker's folders are writable); a worker heartbeat is recent (beat
sends `referrers.worker_heartbeat` every minute and a worker records the time, so a recent
one shows beat, the broker and a worker all working). 200 when all pass, else 503 naming
each that failed. `?check=database` (or `database,broker`) asks for only those.

No login, no session, no database query beyond the check, and nothing personal in the body.
"""

import datetime
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.db import connections
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

HEARTBEAT_KEY = "health:worker-heartbeat"
CHECKS = ("database", "broker", "worker")


def _heartbeat_file() -> Path:
    return Path(settings.CELERY_DATA_DIR) / "worker-heartbeat"


def _shared_cache() -> bool:
    # Without Redis the cache is per process, so a worker's heartbeat would not be seen here.
    return "redis" in settings.CACHES["default"]["BACKEND"].lower()


def heartbeat_record(now: datetime.datetime | None = None) -> str:
    """Record that a worker is alive now (called by the worker_heartbeat task)."""
    stamp = (now or timezone.now()).isoformat()
    if _shared_cache():
        caches["default"].set(HEARTBEAT_KEY, stamp, timeout=None)
    else:
        path = _heartbeat_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as file:
            file.write(stamp)
        os.replace(file.name, path)
    return stamp


def heartbeat_last() -> datetime.datetime | None:
    if _shared_cache():
        stamp = caches["default"].get(HEARTBEAT_KEY)
    else:
        try:
            stamp = _heartbeat_file().read_text()
        except OSError:
            stamp = None
    return datetime.datetime.fromisoformat(stamp) if stamp else None


def check_database() -> dict:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True}


def check_broker() -> dict:
    url = settings.CELERY_BROKER_URL
    try:
        if url.startswith("redis"):
            import redis

            timeout = settings.BROKER_TIMEOUT
            client = redis.Redis.from_url(
                url, socket_connect_timeout=timeout, socket_timeout=timeout
            )
            try:
                client.ping()
            finally:
                client.close()
        else:
            folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
            if not (folder.is_dir() and os.access(folder, os.W_OK)):
                return {"ok": False, "error": "broker folder missing or not writable"}
    except Exception as error:
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True}


def check_worker() -> dict:
    max_age = settings.HEALTH_HEARTBEAT_MAX_AGE
    try:
        last = heartbeat_last()
    except Exception as error:
        return {"ok": False, "error": type(error).__name__}
    if last is None:
        return {"ok": False, "error": "no worker heartbeat recorded"}
    age = (timezone.now() - last).total_seconds()
    result = {"ok": age <= max_age, "last_heartbeat": last.isoformat(), "age_seconds": int(age)}
    if not result["ok"]:
        result["error"] = f"last worker heartbeat older than {max_age} seconds"
    return result


RUNNERS = {"database": check_database, "broker": check_broker, "worker": check_worker}


@never_cache
@require_GET
def health(request):
    asked = [c.strip() for c in request.GET.get("check", "").split(",") if c.strip()]
    unknown = [c for c in asked if c not in CHECKS]
    if unknown:
        return JsonResponse(
            {"status": "error", "message": f"Unknown check: {', '.join(unknown)}"}, status=400
        )
    results = {name: RUNNERS[name]() for name in (asked or CHECKS)}
    failed = [name for name, result in results.items() if not result["ok"]]
    body = {"status": "unavailable" if failed else "ok", "checks": results}
    if failed:
        body["failed"] = failed
    return JsonResponse(body, status=503 if failed else 200)
