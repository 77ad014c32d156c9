"""One Redis client per cache object for the API's own round trips (token cache, rate
limits): Django's RedisCache makes a new client, with its hundred-odd response callbacks, on
every call, which cost an API request more than the round trip itself."""

from django.core.cache.backends.redis import RedisCache


def redis_client(cache: RedisCache):
    """A Redis client on `cache`'s own connection pool, made once per cache object."""
    client = cache.__dict__.get("_api_redis_client")
    if client is None:
        client = cache._cache.get_client(write=True)
        cache._api_redis_client = client
    return client


def script(cache: RedisCache, source: str):
    """`source` as a Redis script object of `cache`'s client (EVALSHA, loaded on first use),
    made once per cache object."""
    scripts = cache.__dict__.setdefault("_api_redis_scripts", {})
    if source not in scripts:
        scripts[source] = redis_client(cache).register_script(source)
    return scripts[source]
