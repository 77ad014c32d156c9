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
from django.core.cache.backends.redis import RedisCache
from django.utils import timezone

from ..models import ApiClient
from ..selectors.integration import api_client_by_token_hash
from .cache_client import redis_client, script
from .throttling import COUNT_SECONDS, WINDOW_SECONDS, RateCount, rate_key

logger = logging.getLogger(__name__)

CACHE_SECONDS = 60
TOUCH_SECONDS = 60


def _key(digest: str) -> str:
    return f"api-client:{digest}"


def _cached(cache, key: str):
    if isinstance(cache, RedisCache):
        raw = redis_client(cache).get(cache.make_and_validate_key(key))
        return None if raw is None else cache._cache._serializer.loads(raw)
    return cache.get(key)


# The token's client and, when it is there, its rate-limit counts (see throttling): this
# minute's incremented and the previous minute's, in one round trip. Nothing is counted for a
# token the cache does not hold, so unknown tokens leave no keys behind.
CLIENT_AND_COUNTS = """
local client = redis.call('GET', KEYS[1])
if not client then
  return {false, 0, false}
end
local count = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return {client, count, redis.call('GET', KEYS[3])}
"""


def client_and_count(digest: str, *, now: float) -> tuple[ApiClient | None, RateCount | None]:
    """The client whose token has this SHA-256 (as `client_for_token_hash`) and, when it came
    from Redis, this request already counted against its rate limit at `now` (one round trip
    for both; the throttle then asks nothing more). With another cache, or on a miss, the
    count is None and the throttle counts the request itself."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        window = int(now // WINDOW_SECONDS)
        try:
            raw, count, previous = script(cache, CLIENT_AND_COUNTS)(
                keys=[
                    cache.make_and_validate_key(_key(digest)),
                    cache.make_and_validate_key(rate_key(digest, window)),
                    cache.make_and_validate_key(rate_key(digest, window - 1)),
                ],
                args=[COUNT_SECONDS],
            )
        except Exception:  # the cache is down: the database answers (the throttle allows)
            logger.exception("API token cache not read")
            return api_client_by_token_hash(digest), None
        else:
            if raw is not None:
                client = cache._cache._serializer.loads(raw)
                return client, RateCount(now=now, count=int(count), previous=int(previous or 0))
    return client_for_token_hash(digest), None


def client_for_token_hash(digest: str) -> ApiClient | None:
    """The client whose token has this SHA-256 (revoked or not), from the cache if there."""
    cache = caches["default"]
    try:
        client = _cached(cache, _key(digest))
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
