"""Which client a token belongs to, remembered in the cache (Redis in production) for a
minute, so an API request costs no database query before the question itself.

Revoking a client forgets its token at once (`services.api_client_revoke`, on commit). A
cached client is refused the same way as one read from the database, so a revoked client
is never let in; if the cache could not be told of a revocation (Redis down at that
moment), the entry runs out within `CACHE_SECONDS`. If the cache cannot be reached, the
database is asked, as before.
"""

import logging

from django.core.cache import caches
from django.utils import timezone

from ..models import ApiClient
from ..selectors.integration import api_client_by_token_hash

logger = logging.getLogger(__name__)

CACHE_SECONDS = 60
TOUCH_SECONDS = 60


def _key(digest: str) -> str:
    return f"api-client:{digest}"


def client_for_token_hash(digest: str) -> ApiClient | None:
    """The client whose token has this SHA-256 (revoked or not), from the cache if there."""
    cache = caches["default"]
    try:
        client = cache.get(_key(digest))
    except Exception:  # the cache is down: the database answers
        logger.exception("API token cache not read")
        client = None
    if client is not None:
        return client
    client = api_client_by_token_hash(digest)
    if client is not None:
        try:
            cache.set(_key(digest), client, CACHE_SECONDS)
        except Exception:
            logger.exception("API token cache not written")
    return client


def forget(digest: str) -> None:
    """Drop a token's client from the cache (a revocation)."""
    try:
        caches["default"].delete(_key(digest))
    except Exception:
        logger.exception(
            "API token cache not told of a revocation: the entry expires within %s s",
            CACHE_SECONDS,
        )


_touched: dict[str, int] = {}  # token hash -> the minute this process last asked


def due_a_touch(client: ApiClient) -> bool:
    """Whether to note the client's last use now: once a minute per client, whichever web
    process serves it (the cached client's own `last_used_at` may be a minute old)."""
    # One key per client per clock minute (the minute from the clock the service runs on);
    # this process asks the cache only once a minute per client.
    minute = int(timezone.now().timestamp() // TOUCH_SECONDS)
    if _touched.get(client.token_hash) == minute:
        return False
    _touched[client.token_hash] = minute
    try:
        return bool(
            caches["default"].add(
                f"api-touch:{client.token_hash[:32]}:{minute}", 1, 2 * TOUCH_SECONDS
            )
        )
    except Exception:
        return True
