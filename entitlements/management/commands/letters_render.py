"""Render letters here and now, without the broker: every letter still pending, or the ones
named by id (a failed one, say, once its cause is fixed). A ready letter is never rendered
again."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from entitlements.services.letters import LetterRenderFailed, letter_render, letters_pending


class Command(BaseCommand):
    help = "Render pending letters (or the letters with the ids given) to PDF."

    def add_arguments(self, parser):
        parser.add_argument("letter_ids", nargs="*", type=int, help="Letters to render.")
        parser.add_argument(
            "--older-than-minutes",
            type=int,
            default=0,
            help="Only pending letters issued at least this long ago (default: all).",
        )

    def handle(self, *args, letter_ids, older_than_minutes, **options):
        ids = letter_ids or letters_pending(
            older_than=datetime.timedelta(minutes=older_than_minutes)
        )
        failed = 0
        for letter_id in ids:
            try:
                letter = letter_render(letter_id=letter_id)
            except LetterRenderFailed as error:
                failed += 1
                self.stderr.write(f"Letter {letter_id}: {error}")
            else:
                self.stdout.write(f"Letter {letter_id}: {letter.get_status_display().lower()}")
        if failed:
            raise CommandError(f"{failed} of {len(ids)} letters could not be rendered")
        self.stdout.write(f"{len(ids)} letters rendered or already ready")
