"""One control run, alone in its process: `python -m bench.controls --date YYYY-MM-DD`.

Prints one JSON line: wall time, actions taken, and the process's peak resident memory
(`resource.getrusage(RUSAGE_SELF).ru_maxrss`, which includes Python and Django themselves,
about 80 MB before the run starts; reported separately as `baseline_mb`), and the SQL
statements the run sent (counted by a connection wrapper), in all and per action.
"""

import argparse
import datetime
import json
import os
import resource
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--date", required=True, type=datetime.date.fromisoformat)
    args = parser.parse_args()
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.bench"
    import django

    django.setup()
    from django.db import connection

    from training.controls.engine import run_controls

    statements = 0

    def count(execute, sql, params, many, context):
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    connection.ensure_connection()
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.monotonic()
    with connection.execute_wrapper(count):
        result = run_controls(on=args.date)
    seconds = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rules: dict[str, int] = {}
    for line in result.actions:
        rules[f"{line.rule} {line.action}"] = rules.get(f"{line.rule} {line.action}", 0) + 1
    print(
        "BENCHJSON "
        + json.dumps(
            {
                "seconds": round(seconds, 2),
                "actions": result.count,
                "errors": len(result.errors),
                "peak_mb": round(peak, 1),
                "baseline_mb": round(baseline, 1),
                "statements": statements,
                "statements_per_action": round(statements / max(result.count, 1), 1),
                "by_rule": rules,
            }
        )
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
