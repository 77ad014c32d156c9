"""`manage.py seed_scale --referrers 50000 --employers 20`: the benchmark's data set.

Loads an integrated care system at scale into an empty PostgreSQL database (see
bench/seed.py and docs/performance.md). Refuses SQLite: it loads with COPY.
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from config.commands import a_date


class Command(BaseCommand):
    help = "Load a realistic integrated care system at scale (PostgreSQL only) for make bench."

    def add_arguments(self, parser):
        parser.add_argument("--referrers", type=int, default=50_000)
        parser.add_argument("--employers", type=int, default=20)
        parser.add_argument(
            "--date", type=a_date, help="The day the data is relative to (default today)."
        )

    def handle(self, *args, referrers, employers, date=None, **options):
        from bench.seed import seed_scale

        if connection.vendor != "postgresql":
            raise CommandError(
                "seed_scale needs PostgreSQL (it loads with COPY): set DATABASE_URL to an "
                "empty database made for the benchmark, never your working one"
            )
        if referrers < 1 or not 1 <= employers <= 999:
            raise CommandError("Give at least 1 referrer and 1 to 999 employers")
        today = date or timezone.localdate()
        started = time.monotonic()
        self.stdout.write(f"Loading {referrers} referrers at {employers} employers for {today}")
        try:
            counts = seed_scale(
                referrers=referrers, employers=employers, today=today, out=self.stdout
            )
        except RuntimeError as error:
            raise CommandError(str(error)) from None
        for name, count in counts.items():
            self.stdout.write(f"  {name}: {count}")
        # What autovacuum does to a database that has been in use: statistics, and the
        # visibility map that lets PostgreSQL answer from an index alone (index-only scans).
        # Outside the load's transaction, as VACUUM must be.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        self.stdout.write(f"Loaded in {time.monotonic() - started:.0f} s")
