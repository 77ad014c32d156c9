"""Disable a person's account from the command line: `referrers.services.user_disable`."""

from django.core.management.base import BaseCommand, CommandError

from referrers import services
from referrers.models import User


class Command(BaseCommand):
    help = (
        "Stop a person signing in from now on: the account is made inactive, their sessions "
        "end at once and the API tokens they created are revoked."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True, help="the person's sign-in e-mail")
        parser.add_argument("--reason", required=True, help="why, for the record's history")

    def handle(self, *args, **options):
        reason = options["reason"].strip()
        if not reason:
            raise CommandError("Give a reason: it is kept in the account's history")
        user = User.objects.filter(email__iexact=options["email"].strip()).first()
        if user is None:
            raise CommandError(f"No account has the e-mail address {options['email']!r}")
        ended = services.user_disable(user=user, by=None, reason=reason)
        self.stdout.write(
            f"disabled {user.email}: {ended['sessions']} session(s) ended, "
            f"{ended['api_clients']} API token(s) revoked"
        )
