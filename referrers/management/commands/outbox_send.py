"""Send the tasks waiting in the outbox (their broker was down when their change committed),
as beat's `referrers.outbox_send` does every minute."""

from django.core.management.base import BaseCommand, CommandError

from referrers.outbox import outbox_send_pending, outbox_waiting


class Command(BaseCommand):
    help = "Send every outbox message still waiting; fails if the broker refuses any."

    def handle(self, *args, **options):
        sent = outbox_send_pending()
        left = outbox_waiting()
        self.stdout.write(f"sent: {sent}\nwaiting: {left['waiting']}")
        if left["waiting"]:
            raise CommandError(
                f"{left['waiting']} message(s) still waiting, the oldest from "
                f"{left['oldest']:%Y-%m-%d %H:%M}: is the broker up?"
            )
