"""Build the RIS export (referrer codes and the examinations each may request) here and now:
for one organisation or every organisation with a published procedure, for today or a given
day. An export already built for that day is left as it is (and rewritten to the export
directory if it is missing there)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from config.commands import a_date
from entitlements.selectors.integration import organisations_with_published_procedure
from entitlements.services.ris_export import (
    export_file_name,
    ris_export_build,
)

from .create_api_client import organisation_named, validation_message


class Command(BaseCommand):
    help = "Build the RIS export CSV for today (or --date) for every organisation (or one)."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="The day, YYYY-MM-DD (default today).")
        parser.add_argument("--organisation", help="Only this ODS code.")

    def handle(self, *args, date, organisation, **options):
        day = a_date(date) if date else timezone.localdate()
        organisations = (
            [organisation_named(organisation)]
            if organisation
            else list(organisations_with_published_procedure())
        )
        for org in organisations:
            try:
                export = ris_export_build(organisation=org, for_date=day)
            except ValidationError as error:
                raise CommandError(validation_message(error)) from None
            self.stdout.write(
                f"{export_file_name(org, day)}: {export.rows} rows, sha256 {export.sha256}"
            )
        self.stdout.write(f"{len(organisations)} exports built or already there for {day}")
