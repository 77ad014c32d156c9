"""`make bench`: the performance figures at integrated-care-system scale.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_large \\
    REDIS_URL=redis://127.0.0.1:6379/15 \\
    python -m bench.run --referrers 50000 [--compare-database-url <the 2,000 one>]

Loads the data set if the database is empty (`seed_scale`), then measures, each figure in
the same run as its baseline, each part in a process of its own:

- the lookup API under gunicorn and wrk beside a trivial view (bench/lookup.py);
- pages for one client and their query counts, here and on the compare database
  (bench/pages.py);
- the control run, twice for the same date, and letters (bench/controls.py,
  bench/letters.py), on a copy of the database (CREATE DATABASE ... TEMPLATE), so the
  seeded data stays as it was and the benchmark can be run again.

Writes `results.json` and `README.md` (the table, then bench/analysis.md) into `--out`.
Refuses to run without DATABASE_URL or on SQLite: it must never touch a working database.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable

TARGETS = {
    "lookup.ratio_to_trivial": (">=", 0.5),
    "lookup.p99_vs_trivial": ("<=", 2.0),
    "lookup.single_client_p50_ms": ("<=", 5.0),
    "lookup.queries": ("<=", 2),
    "controls.seconds": ("<=", 120),
    "controls.peak_mb": ("<=", 300),
    "controls.rerun_actions": ("<=", 0),
    "letters.p95_s": ("<=", 1.0),
    "letters.bulk_1000_s": ("<=", 600),
}
PAGE_P95_TARGET_MS = 200


class BenchError(Exception):
    pass


def database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        raise BenchError(
            "Set DATABASE_URL to a PostgreSQL database made for the benchmark, e.g.\n"
            "  psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE bench_small'\n"
            "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_small "
            "REDIS_URL=redis://127.0.0.1:6379/15 make bench\n"
            "The benchmark never runs on the default (SQLite) database."
        )
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        raise BenchError(f"The benchmark runs on PostgreSQL only, not {url.split(':')[0]}")
    if not os.environ.get("REDIS_URL"):
        raise BenchError("Set REDIS_URL too, e.g. redis://127.0.0.1:6379/15")
    return url


def with_database(url: str, name: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path=f"/{name}"))


def sub(module: str, *args: str, database: str, timeout: int = 3600) -> dict:
    """Run `python -m <module>` on `database`; its last BENCHJSON line, as data."""
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "DJANGO_SETTINGS_MODULE": "config.settings.bench",
    }
    completed = subprocess.run(  # noqa: S603
        [PYTHON, "-m", module, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = [li for li in completed.stdout.splitlines() if li.startswith("BENCHJSON ")]
    if completed.returncode or not lines:
        raise BenchError(
            f"{module} failed ({completed.returncode}):\n{completed.stdout[-3000:]}\n"
            f"{completed.stderr[-3000:]}"
        )
    return json.loads(lines[-1].removeprefix("BENCHJSON "))


def admin_sql(url: str, statement: str) -> None:
    import psycopg2

    parts = urlparse(url)
    connection = psycopg2.connect(
        dbname="postgres",
        user=parts.username or "postgres",
        password=parts.password,
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
    )
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


def prepare(url: str, referrers: int, employers: int, say) -> int:
    """Migrate, and seed when the database has no benchmark data. Returns the referrers."""
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.bench"}
    subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    probe = (
        "from referrers.models import ReferrerProfile, User;"
        "print(User.objects.filter(email='bench-admin@bench.example').exists(),"
        " ReferrerProfile.objects.count())"
    )
    out = subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", "shell", "-c", probe],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    seeded, count = out[-2] == "True", int(out[-1])
    if not seeded:
        if count:
            raise BenchError(
                "This database has referrers but no benchmark data: point DATABASE_URL at an "
                "empty database made for the benchmark"
            )
        say(f"Seeding {referrers} referrers at {employers} employers (seed_scale)...")
        started = time.monotonic()
        subprocess.run(  # noqa: S603
            [
                PYTHON,
                "manage.py",
                "seed_scale",
                "--referrers",
                str(referrers),
                "--employers",
                str(employers),
            ],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        say(f"  seeded in {time.monotonic() - started:.0f} s")
        count = referrers
    elif count != referrers:
        say(f"The database already holds {count} referrers: measuring those.")
    return count


def check(value, op: str, target) -> bool | None:
    if value is None:
        return None
    return value >= target if op == ">=" else value <= target


def run(args) -> dict:
    def say(message: str) -> None:
        print(message, flush=True)

    url = database_url()
    name = urlparse(url).path.lstrip("/")
    referrers = prepare(url, args.referrers, args.employers, say)
    results: dict = {
        "referrers": referrers,
        "employers": args.employers,
        "commit": subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607 -- git from PATH, as a developer runs it
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip(),
        "date": datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat(),
        "quick": args.quick,
        "cores": os.cpu_count(),
    }

    say("Lookup API under gunicorn and wrk...")
    lookup = sub("bench.lookup", "--duration", str(args.duration), database=url)
    results["lookup"] = {
        "rps": lookup["lookup"]["rps"],
        "trivial_rps": lookup["trivial"]["rps"],
        "ratio_to_trivial": round(lookup["lookup"]["rps"] / lookup["trivial"]["rps"], 3),
        "p50_ms": lookup["lookup"]["p50_ms"],
        "p99_ms": lookup["lookup"]["p99_ms"],
        "trivial_p50_ms": lookup["trivial"]["p50_ms"],
        "trivial_p99_ms": lookup["trivial"]["p99_ms"],
        "p99_vs_trivial": round(lookup["lookup"]["p99_ms"] / lookup["trivial"]["p99_ms"], 2),
        "single_client_p50_ms": lookup["single"]["p50_ms"],
        "single_client_p99_ms": lookup["single"]["p99_ms"],
        "single_client_rps": lookup["single"]["rps"],
        "queries": lookup["queries"],
        "non_2xx": lookup["lookup"]["non_2xx"] + lookup["single"]["non_2xx"],
        "workers": lookup["workers"],
        "connections": lookup["connections"],
        "seconds_each": lookup["seconds"],
        "lookups_flushed": lookup["flushed"],
        "flush_seconds": lookup["flush_seconds"],
        # CPU milliseconds a request used in gunicorn, PostgreSQL and Redis (steadier than
        # requests a second on a shared machine); absent where /proc cannot be read.
        "cpu_ms_per_request": lookup["lookup"].get("cpu_ms_per_request"),
        "trivial_cpu_ms_per_request": lookup["trivial"].get("cpu_ms_per_request"),
    }

    say("Pages, one client...")
    pages = sub("bench.pages", "--requests", str(args.page_requests), database=url)
    compare = None
    if args.compare_database_url:
        compare = sub("bench.pages", "--requests", "1", database=args.compare_database_url)
    results["pages"] = {}
    for page in ("register_search", "delegate_queue", "governance_dashboard"):
        here = pages.get(page, {})
        if "skipped" in here or "error" in here:
            results["pages"][page] = here
            continue
        entry = {"p95_ms": here["p95_ms"], "p50_ms": here["p50_ms"], "status": here["status"]}
        other = (compare or {}).get(page, {})
        counts = {referrers: here["queries"]}
        if "queries" in other:
            counts[compare["referrers"]] = other["queries"]
        entry["queries_small"] = counts[min(counts)] if len(counts) > 1 else None
        entry["queries_large"] = counts[max(counts)] if len(counts) > 1 else here["queries"]
        entry["queries_at"] = {str(k): v for k, v in sorted(counts.items())}
        results["pages"][page] = entry

    say("Control run and letters, on a copy of the database...")
    copy = f"{name}_run"
    admin_sql(url, f'DROP DATABASE IF EXISTS "{copy}"')
    admin_sql(url, f'CREATE DATABASE "{copy}" TEMPLATE "{name}"')
    copy_url = with_database(url, copy)
    try:
        on = args.date or datetime.date.today().isoformat()
        results["controls"] = measure_controls(on, copy_url, say)
        say("Letters...")
        results["letters"] = measure_letters(args, copy_url, say)
    finally:
        admin_sql(url, f'DROP DATABASE IF EXISTS "{copy}"')

    results["targets"] = targets_met(results)
    return results


def measure_controls(on: str, database: str, say) -> dict:
    try:
        first = sub("bench.controls", "--date", on, database=database)
        second = sub("bench.controls", "--date", on, database=database)
    except BenchError as error:
        say(f"  the control run failed: {error}")
        return {"date": on, "error": str(error)[-2000:]}
    return {
        "date": on,
        "seconds": first["seconds"],
        "peak_mb": first["peak_mb"],
        "baseline_mb": first["baseline_mb"],
        "actions": first["actions"],
        "errors": first["errors"],
        "statements_per_action": first.get("statements_per_action"),
        "by_rule": first["by_rule"],
        "rerun_actions": second["actions"],
        "rerun_seconds": second["seconds"],
    }


def measure_letters(args, database: str, say) -> dict:
    try:
        letters = sub(
            "bench.letters",
            "--single",
            str(args.letters_single),
            "--bulk",
            str(args.letters_bulk),
            database=database,
        )
    except BenchError as error:
        say(f"  letters failed: {error}")
        return {"error": str(error)[-2000:]}
    return {
        "p50_s": letters["p50_s"],
        "p95_s": letters["p95_s"],
        "single_count": letters["single_count"],
        "bulk_count": letters["bulk_count"],
        "bulk_rendered": letters["bulk_rendered"],
        "bulk_failed": letters["bulk_failed"],
        "bulk_seconds": letters["bulk_seconds"],
        # 1,000 letters: measured when the run renders 1,000, scaled from the count
        # rendered otherwise (the quick run), and said so.
        "bulk_1000_s": round(letters["bulk_seconds"] * 1000 / max(1, letters["bulk_count"]), 1),
        "bulk_scaled": letters["bulk_count"] != 1000,
        "worker_concurrency": letters["worker_concurrency"],
    }


def value_at(results: dict, dotted: str):
    value = results
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def targets_met(results: dict) -> dict:
    met = {}
    for key, (op, target) in TARGETS.items():
        met[key] = check(value_at(results, key), op, target)
    for page, entry in results.get("pages", {}).items():
        if "skipped" in entry or "error" in entry:
            continue
        met[f"pages.{page}.p95_ms"] = check(entry["p95_ms"], "<=", PAGE_P95_TARGET_MS)
        if entry.get("queries_small") is not None:
            met[f"pages.{page}.queries"] = entry["queries_small"] == entry["queries_large"]
    return met


def _last_line(text: str) -> str:
    lines = [li.strip() for li in text.splitlines() if li.strip()]
    return (lines[-1] if lines else text)[:200].replace("|", "/")


def mark(ok) -> str:
    return {True: "met", False: "**missed**", None: "not measured"}[ok]


def readme(results: dict) -> str:
    lk, ct, lt = results["lookup"], results["controls"], results["letters"]
    met = results["targets"]
    rows = [
        (
            "Lookup: requests/s, 50 clients",
            f"{lk['rps']:.0f}",
            f"trivial view {lk['trivial_rps']:.0f}",
            "",
        ),
        (
            "Lookup: share of the trivial view's throughput",
            f"{lk['ratio_to_trivial']:.0%}",
            "≥ 50%",
            mark(met["lookup.ratio_to_trivial"]),
        ),
        (
            "Lookup: p50, 50 clients",
            f"{lk['p50_ms']:.1f} ms",
            f"trivial {lk['trivial_p50_ms']:.1f} ms",
            "",
        ),
        (
            "Lookup: p99, 50 clients",
            f"{lk['p99_ms']:.1f} ms",
            f"≤ 2 × trivial ({lk['trivial_p99_ms']:.1f} ms): {lk['p99_vs_trivial']:.2f} ×",
            mark(met["lookup.p99_vs_trivial"]),
        ),
        (
            "Lookup: p50, one client alone",
            f"{lk['single_client_p50_ms']:.2f} ms",
            "≤ 5 ms",
            mark(met["lookup.single_client_p50_ms"]),
        ),
        ("Lookup: database queries", str(lk["queries"]), "≤ 2", mark(met["lookup.queries"])),
    ]
    if "error" in ct:
        rows.append(("Control run", "failed", _last_line(ct["error"]), "not measured"))
    else:
        rows += [
            (
                f"Control run ({ct['actions']} actions on {ct['date']})",
                f"{ct['seconds']:.0f} s",
                "≤ 120 s",
                mark(met["controls.seconds"]),
            ),
            (
                "Control run: peak memory (ru_maxrss)",
                f"{ct['peak_mb']:.0f} MB",
                "≤ 300 MB",
                mark(met["controls.peak_mb"]),
            ),
            (
                "Control run again, same date",
                f"{ct['rerun_actions']} actions",
                "0",
                mark(met["controls.rerun_actions"]),
            ),
        ]
    if "error" in lt:
        rows.append(("Letters", "failed", _last_line(lt["error"]), "not measured"))
    else:
        rows += [
            (
                "Letter: render time p95",
                f"{lt['p95_s']:.2f} s",
                "≤ 1 s",
                mark(met["letters.p95_s"]),
            ),
            (
                "1,000 letters through the Celery worker"
                + (f" (scaled from {lt['bulk_count']})" if lt["bulk_scaled"] else ""),
                f"{lt['bulk_1000_s']:.0f} s",
                "≤ 600 s",
                mark(met["letters.bulk_1000_s"]),
            ),
        ]
    for page, entry in results["pages"].items():
        if "skipped" in entry or "error" in entry:
            why = entry.get("skipped") or entry.get("error")
            rows.append((f"Page {page}", "not measured", why, "not measured"))
            continue
        rows.append(
            (
                f"Page {page}: p95, one client",
                f"{entry['p95_ms']:.0f} ms",
                "≤ 200 ms",
                mark(met[f"pages.{page}.p95_ms"]),
            )
        )
        at = ", ".join(f"{v} at {int(k):,}" for k, v in entry["queries_at"].items())
        rows.append(
            (
                f"Page {page}: queries",
                at,
                "the same at 2,000 and 50,000",
                mark(met.get(f"pages.{page}.queries")),
            )
        )
    table = ["| Figure | Measured | Target or baseline | |", "|---|---|---|---|"]
    table += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    head = [
        "# Benchmark results",
        "",
        "Written by `make bench` (bench/run.py); the analysis below the table is kept in",
        "`bench/analysis.md`. How to run it: docs/performance.md.",
        "",
        f"- Commit `{results['commit']}`, measured {results['date']}",
        f"- {results['referrers']:,} referrers at {results['employers']} employers; "
        f"{results['cores']} cores; {lk['workers']} gunicorn workers, "
        f"{lk['connections']} wrk connections, {lk['seconds_each']} s per load"
        + (" (quick run)" if results["quick"] else ""),
        "",
    ]
    analysis = ROOT / "bench" / "analysis.md"
    tail = ["", analysis.read_text()] if analysis.exists() else []
    return "\n".join([*head, *table, *tail]) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--referrers", type=int, default=50_000)
    parser.add_argument("--employers", type=int, default=20)
    parser.add_argument("--duration", type=int, default=20, help="Seconds of each wrk load.")
    parser.add_argument("--quick", action="store_true", help="A few seconds of everything.")
    parser.add_argument(
        "--compare-database-url", default=os.environ.get("BENCH_COMPARE_DATABASE_URL", "")
    )
    parser.add_argument("--date", help="The control run's date (default today).")
    parser.add_argument("--out", default=str(ROOT / "bench"))
    parser.add_argument(
        "--readme-only",
        action="store_true",
        help="Write README.md again from the results.json already in --out (no measuring).",
    )
    args = parser.parse_args(argv)
    if args.readme_only:
        out = Path(args.out)
        results = json.loads((out / "results.json").read_text())
        (out / "README.md").write_text(readme(results))
        print(f"Wrote {out / 'README.md'}")
        return 0
    args.page_requests, args.letters_single, args.letters_bulk = 30, 50, 1000
    if args.quick:
        args.duration = min(args.duration, 3)
        args.page_requests, args.letters_single, args.letters_bulk = 5, 5, 20
    try:
        results = run(args)
    except BenchError as error:
        print(error, file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "README.md").write_text(readme(results))
    print(f"Wrote {out / 'results.json'} and {out / 'README.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
