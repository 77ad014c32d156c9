"""Make an API client for an organisation's register and print its token, once."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from entitlements.services.api_clients import DEFAULT_RATE_LIMIT_PER_MINUTE, api_client_create
from referrers.models import Organisation, User


def organisation_named(ods_code: str) -> Organisation:
    try:
        return Organisation.objects.get(ods_code=ods_code.strip().upper())
    except Organisation.DoesNotExist:
        raise CommandError(f"No organisation has the ODS code {ods_code}") from None


def user_named(email: str | None) -> User | None:
    if not email:
        return None
    try:
        return User.objects.get(email=email.strip().lower())
    except User.DoesNotExist:
        raise CommandError(f"No user has the e-mail address {email}") from None


def validation_message(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return "; ".join(m for messages in error.message_dict.values() for m in messages)
    return "; ".join(error.messages)


class Command(BaseCommand):
    help = (
        "Make an API client (an order-comms or RIS system) for an organisation's register "
        "and print its token. The token is shown only this once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organisation", required=True, help="The ODS code, e.g. RDZ.")
        parser.add_argument("--name", required=True, help="The system's name, e.g. 'CRIS'.")
        parser.add_argument(
            "--rate-limit",
            type=int,
            default=DEFAULT_RATE_LIMIT_PER_MINUTE,
            help=f"Requests a minute (default {DEFAULT_RATE_LIMIT_PER_MINUTE}).",
        )
        parser.add_argument("--by", help="E-mail address of the person making it, for the record.")

    def handle(self, *args, organisation, name, rate_limit, by, **options):
        try:
            client, token = api_client_create(
                organisation=organisation_named(organisation),
                name=name,
                rate_limit_per_minute=rate_limit,
                by=user_named(by),
            )
        except ValidationError as error:
            raise CommandError(validation_message(error)) from None
        self.stdout.write(
            f"API client {client.name} made for {client.organisation.name} "
            f"({client.organisation.ods_code}), {client.rate_limit_per_minute} requests a minute."
        )
        self.stdout.write("Its token (send it as 'Authorization: Bearer <token>'):")
        self.stdout.write("")
        self.stdout.write(token)
        self.stdout.write("")
        self.stdout.write(
            self.style.WARNING(
                "Copy it now into the client system's configuration: it will not be shown "
                "again, and only its hash is kept. If it is lost, revoke this client and make "
                "a new one."
            )
        )
