"""Pages, one client: `python -m bench.pages --requests 30`.

Each page is asked for in-process through Django's test client, signed in as the persona who
uses it at the first employer (TA0), with the bench settings (DEBUG off, the real
templates). Timed from request to rendered response, so the figure is Django, the queries
and the templates, without a network or a web server in between; the query count is of one
request (`CaptureQueriesContext`). The process freezes what it has loaded out of the garbage
collector's sight first, as each gunicorn worker does (gunicorn.conf.py). A page whose URL
does not resolve yet is left out with a note saying so. Prints one JSON line.
"""

import argparse
import gc
import json
import os
import sys
import time

PAGES = [
    # (name, URL name, persona, query string)
    ("register_search", "register", "delegate", {"name": "Patel", "state": "live"}),
    ("delegate_queue", "training_queue", "delegate", {}),
    ("governance_dashboard", "governance_dashboard", "governance", {}),
]
ODS_CODE = "TA0"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.bench"
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import NoReverseMatch, reverse

    from referrers.models import ReferrerProfile, User

    results = {"referrers": ReferrerProfile.objects.count()}
    # As a gunicorn worker does once the application is loaded (gunicorn.conf.py): what is
    # loaded now leaves the garbage collector's sight, so a full collection during a request
    # looks only at what requests allocate, not at the whole of Django and the project.
    gc.collect()
    gc.freeze()
    for name, url_name, persona, query in PAGES:
        try:
            url = reverse(url_name, args=[ODS_CODE])
        except NoReverseMatch:
            results[name] = {
                "skipped": f"the URL {url_name!r} does not resolve in this tree yet",
            }
            continue
        client = Client()
        client.force_login(User.objects.get(email=f"{persona}.{ODS_CODE.lower()}@bench.example"))
        for _ in range(2):  # warm: templates compiled, connection open
            response = client.get(url, query)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, query)
        # Read now: the next request's request_started signal empties the query log.
        query_count = len(queries)
        times = []
        for _ in range(args.requests):
            started = time.perf_counter()
            response = client.get(url, query)
            times.append(time.perf_counter() - started)
        if response.status_code != 200:
            results[name] = {
                "error": f"{url} answered {response.status_code} "
                f"{response.get('Location', '')}".strip()
            }
            continue
        results[name] = {
            "url": url,
            "status": response.status_code,
            "queries": query_count,
            "requests": len(times),
            "p50_ms": round(1000 * percentile(times, 0.50), 1),
            "p95_ms": round(1000 * percentile(times, 0.95), 1),
        }
    print("BENCHJSON " + json.dumps(results))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
