"""Letters: `python -m bench.letters --single 50 --bulk 1000`.

1. The render time of one letter: `services.letters.letter_pdf` (HTML to PDF with
   WeasyPrint, as the task does) for `--single` pending letters in turn; p50 and p95.
2. `--bulk` pending letters through a real Celery worker (a separate process, prefork,
   concurrency = the number of cores, on its own queue): enqueued at once, timed until every
   one is rendered and stored (status ready), as the database sees it.

Renders into a temporary media root. Prints one JSON line.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUEUE = "bench-letters"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--single", type=int, default=50)
    parser.add_argument("--bulk", type=int, default=1000)
    parser.add_argument("--timeout", type=int, default=1800)
    args = parser.parse_args()
    media = tempfile.mkdtemp(prefix="bench-media-")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.bench"
    os.environ["PRIVATE_MEDIA_ROOT"] = media
    import django

    django.setup()
    from entitlements.models import Letter, LetterStatus
    from entitlements.services.letters import letter_pdf
    from entitlements.tasks import letter_render

    pending = list(
        Letter.objects.filter(status=LetterStatus.PENDING)
        .order_by("-id")
        .values_list("pk", flat=True)[: args.single + args.bulk]
    )
    single_ids, bulk_ids = pending[: args.single], pending[args.single :]
    times = []
    for letter in Letter.objects.filter(pk__in=single_ids):
        started = time.perf_counter()
        letter_pdf(letter)
        times.append(time.perf_counter() - started)

    worker = subprocess.Popen(  # noqa: S603
        [
            str(ROOT / ".venv" / "bin" / "celery"),
            "-A",
            "config",
            "worker",
            "-Q",
            QUEUE,
            "-n",
            f"bench-{os.getpid()}@%h",
            "--concurrency",
            str(os.cpu_count() or 2),
            "--without-gossip",
            "--without-mingle",
            "-l",
            "WARNING",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        started = time.perf_counter()
        for letter_id in bulk_ids:
            letter_render.apply_async(kwargs={"letter_id": letter_id}, queue=QUEUE)
        done = failed = 0
        while time.perf_counter() - started < args.timeout:
            done = Letter.objects.filter(pk__in=bulk_ids, status=LetterStatus.READY).count()
            failed = Letter.objects.filter(pk__in=bulk_ids, status=LetterStatus.FAILED).count()
            if done + failed >= len(bulk_ids):
                break
            time.sleep(0.5)
        bulk_seconds = time.perf_counter() - started
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
    print(
        "BENCHJSON "
        + json.dumps(
            {
                "single_count": len(times),
                "p50_s": round(percentile(times, 0.50), 3),
                "p95_s": round(percentile(times, 0.95), 3),
                "bulk_count": len(bulk_ids),
                "bulk_rendered": done,
                "bulk_failed": failed,
                "bulk_seconds": round(bulk_seconds, 1),
                "worker_concurrency": os.cpu_count() or 2,
            }
        )
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
