"""The lookup API under load: `python -m bench.lookup --duration 20`.

Serves the site with gunicorn (the project's gunicorn.conf.py, workers = 2 x cores + 1, the
bench settings: DEBUG off) and loads it with wrk on the same machine, 50 connections: first
the bench-only trivial JSON view, then `GET /api/v1/entitlement-check` (a Bearer token,
questions cycling through real referrers and examinations of the first employer, most of
them in scope), then the lookup with one connection alone. wrk's Lua `done()` hook prints
requests, p50 and p99; around the two 50-connection runs the CPU used by the gunicorn
processes, the database's PostgreSQL backends and Redis is read from /proc, to give the CPU
one request cost (`cpu_ms_per_request`, steadier than requests a second on a shared machine).
The queries of one lookup are counted in-process with `CaptureQueriesContext` (the largest
count over a sample of questions). Prints one JSON line.
"""

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ODS_CODE = "TA0"
CONNECTIONS = 50

LUA = r"""
local paths = {%(paths)s}
local headers = {["Authorization"] = "Bearer %(token)s"}
local counter = 0
setup = function(thread)
  thread:set("offset", math.random(#paths))
end
request = function()
  counter = counter + 1
  local path = paths[((counter + (offset or 0)) %% #paths) + 1]
  return wrk.format("GET", path, headers)
end
done = function(summary, latency, requests)
  io.write(string.format(
    'BENCHJSON {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, ' ..
    '"non_2xx": %%d, "connect_errors": %%d, "read_errors": %%d, "timeouts": %%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.status, summary.errors.connect, summary.errors.read, summary.errors.timeout))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def questions(count: int) -> list[str]:
    """Query strings for real referrers at the first employer: mostly an examination in
    their scope (a yes, unless suspended), some any examination of the catalogue (a no)."""
    from urllib.parse import urlencode

    from entitlements.models import Entitlement, Examination, ScopeItem

    rnd = random.Random(7)  # noqa: S311 -- repeatable questions, no secrets
    live = Entitlement.objects.filter(
        organisation__ods_code=ODS_CODE, kind="referral", state="active"
    ).select_related("referrer")[:count]
    catalogue = list(
        Examination.objects.filter(organisation__ods_code=ODS_CODE).values_list("code", flat=True)
    )
    items: dict[int, list[str]] = {}
    for entitlement_id, code in ScopeItem.objects.filter(
        entitlement__in=[e.pk for e in live], examination__isnull=False
    ).values_list("entitlement_id", "examination__code"):
        items.setdefault(entitlement_id, []).append(code)
    result = []
    for entitlement in live:
        referrer = entitlement.referrer
        in_scope = items.get(entitlement.pk)
        code = rnd.choice(in_scope) if in_scope and rnd.random() < 0.8 else rnd.choice(catalogue)
        result.append(
            "/api/v1/entitlement-check?"
            + urlencode(
                {
                    "registration": referrer.registration,
                    "examination": code,
                    "employer": ODS_CODE,
                    "patient_age": rnd.choice([8, 25, 40, 67, 88]),
                    "setting": rnd.choice(["ED", "MIU", "OUTPATIENT"]),
                }
            )
        )
    return result


def count_queries(paths: list[str], token: str) -> tuple[int, int]:
    """The most queries any one lookup took, and the HTTP status of the last."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    client.get(paths[0], **headers)  # the first call of the minute notes last_used_at
    most, status = 0, 0
    for path in paths[:25]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path, **headers)
        most, status = max(most, len(queries)), response.status_code
    return most, status


def wrk(script: Path, url: str, *, connections: int, threads: int, seconds: int) -> dict:
    output = subprocess.run(  # noqa: S603
        [
            shutil.which("wrk") or "/usr/bin/wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(li for li in output.splitlines() if li.startswith("BENCHJSON "))
    data = json.loads(line.removeprefix("BENCHJSON "))
    data["rps"] = round(data["requests"] / (data["duration_us"] / 1e6), 1)
    data["p50_ms"] = round(data["p50_us"] / 1000, 2)
    data["p99_ms"] = round(data["p99_us"] / 1000, 2)
    return data


def _process_cpu(pid) -> float:
    """CPU seconds (user and system) a process has used so far; 0 if it has gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(server_pid: int) -> dict[str, float] | None:
    """CPU seconds used so far by the gunicorn master and workers, the PostgreSQL backends
    of the benchmark's database and Redis (Linux /proc; None where it cannot be read). With
    other work on the machine, the CPU a request costs is steadier than requests a second."""
    try:
        from django.db import connection

        workers = subprocess.run(  # noqa: S603
            ["/usr/bin/pgrep", "-P", str(server_pid)], capture_output=True, text=True
        ).stdout.split()
        redis = subprocess.run(  # noqa: S603
            ["/usr/bin/pgrep", "redis-server"], capture_output=True, text=True
        ).stdout.split()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            backends = [row[0] for row in cursor.fetchall()]
    except Exception:
        return None
    return {
        "gunicorn": sum(_process_cpu(pid) for pid in [server_pid, *workers]),
        "postgres": sum(_process_cpu(pid) for pid in backends),
        "redis": sum(_process_cpu(pid) for pid in redis),
    }


def cpu_per_request(start, end, requests: int) -> dict[str, float] | None:
    """Milliseconds of CPU a request cost, by process, between two `cpu_seconds` samples."""
    if not start or not end or not requests:
        return None
    return {name: round((end[name] - start[name]) / requests * 1000, 3) for name in start}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="gunicorn workers for both views (default: the project's 2 x cores + 1)",
    )
    args = parser.parse_args()
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.bench"
    import django

    django.setup()
    from django.db import connection

    from entitlements import services
    from referrers.models import Organisation

    organisation = Organisation.objects.get(ods_code=ODS_CODE)
    client, token = services.api_client_create(
        organisation=organisation,
        name=f"Benchmark load {time.time():.0f}",
        rate_limit_per_minute=services.api_clients.MAX_RATE_LIMIT_PER_MINUTE,
    )
    paths = questions(1000)
    queries, status = count_queries(paths, token)
    connection.close()
    work = Path(tempfile.mkdtemp(prefix="bench-wrk-"))
    lookup_lua, trivial_lua = work / "lookup.lua", work / "trivial.lua"
    lookup_lua.write_text(LUA % {"paths": ", ".join(json.dumps(p) for p in paths), "token": token})
    trivial_lua.write_text(LUA % {"paths": json.dumps("/bench/trivial"), "token": token})
    port = free_port()
    workers = args.workers or 2 * (os.cpu_count() or 1) + 1
    env = {
        **os.environ,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
    }
    server = subprocess.Popen(  # noqa: S603
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/bench/trivial", timeout=1)  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        warm = max(2, args.duration // 5)
        wrk(lookup_lua, url, connections=CONNECTIONS, threads=2, seconds=warm)
        before = cpu_seconds(server.pid)
        trivial = wrk(trivial_lua, url, connections=CONNECTIONS, threads=2, seconds=args.duration)
        middle = cpu_seconds(server.pid)
        lookup = wrk(lookup_lua, url, connections=CONNECTIONS, threads=2, seconds=args.duration)
        after = cpu_seconds(server.pid)
        trivial["cpu_ms_per_request"] = cpu_per_request(before, middle, trivial["requests"])
        lookup["cpu_ms_per_request"] = cpu_per_request(middle, after, lookup["requests"])
        single = wrk(lookup_lua, url, connections=1, threads=1, seconds=args.duration)
    finally:
        server.terminate()
        server.wait(timeout=30)
        services.api_client_revoke(client=client, by=None)
    # What beat does every 5 seconds in production: the queued lookups into the database.
    started = time.perf_counter()
    flushed = services.register_lookups_flush()
    flush_seconds = time.perf_counter() - started
    connection.close()
    print(
        "BENCHJSON "
        + json.dumps(
            {
                "workers": workers,
                "connections": CONNECTIONS,
                "seconds": args.duration,
                "questions": len(paths),
                "queries": queries,
                "status": status,
                "trivial": trivial,
                "lookup": lookup,
                "single": single,
                "flushed": flushed,
                "flush_seconds": round(flush_seconds, 2),
            }
        )
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
