"""`make bench` in its quick form, so the benchmark itself cannot rot.

Runs bench/run.py with `--referrers 2000 --quick` (a few seconds of each load, a few letters
and page requests) against a PostgreSQL database made for this test and dropped after it,
and checks that every figure the results promise is there. It measures nothing: the targets
are for the full run on a quiet machine (bench/README.md), never for a test.
"""

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
KEYS = [
    "referrers",
    "commit",
    "date",
    "lookup.rps",
    "lookup.trivial_rps",
    "lookup.ratio_to_trivial",
    "lookup.p50_ms",
    "lookup.p99_ms",
    "lookup.trivial_p99_ms",
    "lookup.single_client_p50_ms",
    "lookup.queries",
    "controls.seconds",
    "controls.peak_mb",
    "controls.actions",
    "controls.rerun_actions",
    "letters.p95_s",
    "letters.bulk_1000_s",
]
PAGES = ["register_search", "delegate_queue"]

needs_postgresql_redis_wrk = [
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql"
        or not settings.REDIS_URL,
        reason="the benchmark runs on PostgreSQL and Redis: set DATABASE_URL and REDIS_URL",
    ),
    pytest.mark.skipif(not shutil.which("wrk"), reason="the load generator wrk is not installed"),
]


def _admin(url: str, statement: str) -> None:
    import psycopg2

    parts = urlparse(url)
    connection = psycopg2.connect(
        dbname="postgres",
        user=parts.username or "postgres",
        password=parts.password,
        host=parts.hostname,
        port=parts.port or 5432,
    )
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(statement)
    connection.close()


def _value(results: dict, dotted: str):
    for part in dotted.split("."):
        results = results[part]
    return results


@pytest.fixture
def bench_database():
    url = os.environ["DATABASE_URL"]
    name = f"bench_test_{uuid.uuid4().hex[:8]}"
    _admin(url, f'CREATE DATABASE "{name}"')
    try:
        yield urlunparse(urlparse(url)._replace(path=f"/{name}"))
    finally:
        _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@needs_postgresql_redis_wrk[0]
@needs_postgresql_redis_wrk[1]
def test_make_bench_quick_writes_every_figure(bench_database, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": bench_database,
        "REDIS_URL": settings.REDIS_URL,
        "BENCH_COMPARE_DATABASE_URL": "",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    completed = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-m",
            "bench.run",
            "--referrers",
            "2000",
            "--quick",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]

    results = json.loads((tmp_path / "results.json").read_text())
    for key in KEYS:
        assert _value(results, key) is not None, key
    assert results["referrers"] == 2000
    assert results["lookup"]["queries"] <= 2
    assert results["lookup"]["non_2xx"] == 0
    assert results["lookup"]["lookups_flushed"] > 0  # the queued lookups reached the database
    assert results["controls"]["actions"] > 0
    assert results["controls"]["rerun_actions"] == 0
    assert results["letters"]["bulk_rendered"] == results["letters"]["bulk_count"] > 0
    for page in PAGES:
        assert results["pages"][page]["p95_ms"] > 0
        assert results["pages"][page]["queries_large"] > 0
    readme = (tmp_path / "README.md").read_text()
    assert f"| Lookup: database queries | {results['lookup']['queries']} | ≤ 2 | met |" in readme
    assert results["commit"] in readme


def test_the_bench_refuses_to_run_without_a_database_url(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    completed = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "bench.run", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 2
    assert "Set DATABASE_URL" in completed.stderr
    assert not (tmp_path / "results.json").exists()


def test_the_bench_refuses_sqlite(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    completed = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "bench.run", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 2
    assert "PostgreSQL only" in completed.stderr
