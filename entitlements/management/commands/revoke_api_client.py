"""Revoke an organisation's API client: its token is refused from now on."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from entitlements.selectors.integration import api_client_named
from entitlements.services.api_clients import api_client_revoke

from .create_api_client import organisation_named, user_named, validation_message


class Command(BaseCommand):
    help = "Revoke an organisation's API client: its token is refused from now on."

    def add_arguments(self, parser):
        parser.add_argument("--organisation", required=True, help="The ODS code, e.g. RDZ.")
        parser.add_argument("--name", required=True, help="The client's name.")
        parser.add_argument("--by", help="E-mail address of the person revoking it.")

    def handle(self, *args, organisation, name, by, **options):
        org = organisation_named(organisation)
        client = api_client_named(org, " ".join(name.split()))
        if client is None:
            raise CommandError(f"{org.name} has no API client called {name} that is not revoked")
        try:
            client = api_client_revoke(client=client, by=user_named(by))
        except ValidationError as error:
            raise CommandError(validation_message(error)) from None
        self.stdout.write(
            f"API client {client.name} of {org.name} ({org.ods_code}) revoked: its token "
            f"(starting {client.token_prefix}) is refused from now on."
        )
