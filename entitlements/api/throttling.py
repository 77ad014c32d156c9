"""Per-client rate limits, counted in the Django cache (Redis in production, so every web
process shares one count).

Each client may make `ApiClient.rate_limit_per_minute` requests in any minute, estimated
with a sliding window: this minute's count plus the previous minute's, weighted by how much
of it still falls within the last 60 seconds. With Redis the count costs no round trip of its
own when the token's client was in the cache: the authentication's script counts it
(token_cache.client_and_count) and leaves it on the request; otherwise one round trip (a
pipeline of `INCR`, `EXPIRE` and `GET`; two cache calls with another cache);
refused requests count too, so a client that keeps hammering stays refused. Past the limit
the API answers 429 with `Retry-After`.

If the cache cannot be reached the request is allowed and the failure logged: a rate limit
protects the service, and refusing every RIS lookup because Redis is down would do more harm.
"""

import logging
import math
import time
from dataclasses import dataclass

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import BaseThrottle

from ..models import ApiClient
from .cache_client import redis_client

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60
COUNT_SECONDS = 2 * WINDOW_SECONDS + 5  # the next minute weighs this one


@dataclass(frozen=True)
class RateCount:
    """A request already counted (by the authentication's round trip, token_cache): when,
    this window's count with it, and the previous window's."""

    now: float
    count: int
    previous: int


def rate_key(token_hash: str, window: int) -> str:
    # The hash prefix (random per token) rather than the id, so counts never carry over to
    # another client, even across databases sharing one Redis.
    return f"api-rate:{token_hash[:32]}:{window}"


def _key(client: ApiClient, window: int) -> str:
    return rate_key(client.token_hash, window)


def seconds_until_allowed(*, count: int, previous: int, elapsed: float, limit: int) -> float:
    """How long until one more request fits under `limit` (for Retry-After)."""
    w = WINDOW_SECONDS
    if previous and count + 1 <= limit:
        # Later this minute, once enough of the previous minute has slid out of view.
        return max(0.0, w * (1 - (limit - count - 1) / previous) - elapsed)
    # Next minute, once enough of this one has slid out of view.
    return (w - elapsed) + w * max(0.0, 1 - (limit - 1) / count)


class ApiClientRateThrottle(BaseThrottle):
    cache_alias = "default"

    def __init__(self):
        self._wait: float | None = None

    def allow_request(self, request, view) -> bool:
        client = request.auth
        if not isinstance(client, ApiClient):
            return True
        counted = getattr(request, "api_rate_count", None)
        now = counted.now if counted is not None else time.time()
        window = int(now // WINDOW_SECONDS)
        cache = caches[self.cache_alias]
        try:
            if counted is not None:  # counted with the token's round trip
                count, previous = counted.count, counted.previous
            elif isinstance(cache, RedisCache):
                count, previous = self._counts_in_one_trip(
                    cache, _key(client, window), _key(client, window - 1)
                )
            else:
                count = self._increment(cache, _key(client, window))
                previous = cache.get(_key(client, window - 1)) or 0
        except Exception:  # the cache is down: allow, and say so in the log
            logger.exception("API rate limit not checked: the cache cannot be reached")
            return True
        elapsed = now - window * WINDOW_SECONDS
        estimate = count + previous * (WINDOW_SECONDS - elapsed) / WINDOW_SECONDS
        if estimate <= client.rate_limit_per_minute:
            return True
        self._wait = seconds_until_allowed(
            count=count, previous=previous, elapsed=elapsed, limit=client.rate_limit_per_minute
        )
        return False

    @staticmethod
    def _counts_in_one_trip(cache, key: str, previous_key: str) -> tuple[int, int]:
        """This window's count, incremented, and the previous window's, in one round trip
        to Redis (a pipeline), under the same keys the cache API would use."""
        key = cache.make_and_validate_key(key)
        previous_key = cache.make_and_validate_key(previous_key)
        pipe = redis_client(cache).pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, COUNT_SECONDS)
        pipe.get(previous_key)
        count, _, previous = pipe.execute()
        return int(count), int(previous or 0)

    @staticmethod
    def _increment(cache, key: str) -> int:
        # Incremented first: the window's key exists for all but its first request, so that
        # is one round trip to Redis. Kept for two windows: the next minute weighs this one.
        try:
            return cache.incr(key)
        except ValueError:  # the window's first request (or it expired meanwhile)
            if cache.add(key, 1, timeout=COUNT_SECONDS):
                return 1
            return cache.incr(key)

    def wait(self) -> int | None:
        if self._wait is None:
            return None
        return max(1, math.ceil(self._wait))
