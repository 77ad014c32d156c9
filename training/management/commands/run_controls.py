"""Run the automatic control rules (principles 6 and 8) for one date, as the nightly Celery
task does: every organisation with a procedure in force, or one. Prints one line per action
and ends with `actions: <N>`; `--dry-run` changes nothing and prints what it would do, each
line starting with "would"."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from config.commands import a_date
from referrers.models import Organisation
from training.controls import run_controls


class Command(BaseCommand):
    help = "Run the automatic control rules for today (or --date), at every organisation."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="The day to run for, YYYY-MM-DD (default today).")
        parser.add_argument("--organisation", help="Only this organisation (its ODS code).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Change nothing: say what would be done."
        )

    def handle(self, *args, date=None, organisation=None, dry_run=False, **options):
        on = a_date(date) if date else timezone.localdate()
        org = None
        if organisation:
            org = Organisation.objects.filter(ods_code=organisation.strip().upper()).first()
            if org is None:
                raise CommandError(f"No organisation has the ODS code {organisation}")
        result = run_controls(on=on, organisation=org, dry_run=dry_run, out=self.stdout)
        if org is not None and not result.organisations:
            self.stderr.write(
                f"{org.ods_code} has no published procedure in force on {on}: nothing to do"
            )
        self.stdout.write(f"actions: {result.count}")
        if result.errors:
            for error in result.errors:
                self.stderr.write(f"failed: {error}")
            raise CommandError(
                f"{len(result.errors)} action(s) failed; the rest were done. Run the same "
                "date again once the cause is fixed: nothing is done twice."
            )
