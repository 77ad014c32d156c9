"""Integration clients (order-comms and RIS systems) and their API tokens.

A token is made from `secrets.token_urlsafe(32)` behind a recognisable prefix (`ent_`), shown
once when the client is made, and never stored: only its SHA-256 is kept, with its first
characters so people can tell tokens apart. A revoked client's token is refused for good; a
system that still needs access gets a new client and token.
"""

import datetime
import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from referrers.attribution import save_attributed
from referrers.models import Organisation, User

from ..models import ApiClient

TOKEN_PREFIX = "ent_"
# ApiClient.token_prefix holds this many characters: the prefix and 8 random ones.
SHOWN_PREFIX_LENGTH = 12
DEFAULT_RATE_LIMIT_PER_MINUTE = 600
MAX_RATE_LIMIT_PER_MINUTE = 100_000
# last_used_at is a hint for people ("is this system still calling?"), so it is written at
# most once a minute per client rather than on every request.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


def token_hash(token: str) -> str:
    """The SHA-256 (hex) of a token: what is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "Enter a name for the client, such as the system's name"})
    if len(name) > 200:
        raise ValidationError({"name": "The name must be 200 characters or fewer"})
    return name


def api_client_create(
    *,
    organisation: Organisation,
    name: str,
    rate_limit_per_minute: int = DEFAULT_RATE_LIMIT_PER_MINUTE,
    by: User | None = None,
) -> tuple[ApiClient, str]:
    """Make a client of `organisation`'s register and return it with its token.

    The token is returned here and nowhere else: only its hash is stored. Names are unique
    among an organisation's clients that are not revoked.
    """
    name = _clean_name(name)
    if not 1 <= rate_limit_per_minute <= MAX_RATE_LIMIT_PER_MINUTE:
        raise ValidationError(
            {
                "rate_limit_per_minute": (
                    f"The rate limit must be from 1 to {MAX_RATE_LIMIT_PER_MINUTE:,} "
                    "requests a minute"
                )
            }
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    client = ApiClient(
        organisation=organisation,
        name=name,
        token_prefix=token[:SHOWN_PREFIX_LENGTH],
        token_hash=token_hash(token),
        rate_limit_per_minute=rate_limit_per_minute,
        created_by=by,
    )
    message = f"{organisation.name} already has a client called {name}; revoke it first"
    if ApiClient.objects.filter(
        organisation=organisation, name=name, revoked_at__isnull=True
    ).exists():
        raise ValidationError({"name": message})
    try:
        # A savepoint, so a client made at the same moment under the same name is reported.
        with transaction.atomic():
            save_attributed(client, by=by, reason="API client created")
    except IntegrityError:
        raise ValidationError({"name": message}) from None
    return client, token


@transaction.atomic
def api_client_revoke(*, client: ApiClient, by: User | None) -> ApiClient:
    """Refuse the client's token from now on. Records who revoked it and when.

    A client already revoked stays as it was (the first revocation is the one on record).
    """
    client = ApiClient.objects.select_for_update().get(pk=client.pk)
    if client.revoked_at is not None:
        raise ValidationError(
            f"{client.name} was already revoked on {timezone.localtime(client.revoked_at):%d %B %Y}"
        )
    client.revoked_at = timezone.now()
    client.revoked_by = by
    save_attributed(client, by=by, reason="API client revoked")
    from ..api.token_cache import forget  # the API remembers tokens' clients for a minute

    # Now, and again once committed: a request between the two cannot keep the old state.
    forget(client.token_hash)
    transaction.on_commit(lambda: forget(client.token_hash))
    return client


def api_client_touch(*, client: ApiClient, now: datetime.datetime | None = None) -> None:
    """Note that the client called, at most once a minute (one cheap UPDATE, no history)."""
    now = now or timezone.now()
    if client.last_used_at and now - client.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
    client.last_used_at = now
