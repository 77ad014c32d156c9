"""Per-client Bearer tokens.

`Authorization: Bearer <token>`: the token's SHA-256 is looked up (the token itself is never
stored; the client it belongs to is remembered in the cache for a minute, see token_cache),
compared in constant time, and refused when unknown or revoked. The request's user
stays anonymous: the client is `request.auth`, an `ApiClient`, and it sees only its own
organisation's register.
"""

import hmac
import time

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from ..models import ApiClient
from ..services.api_clients import api_client_touch, token_hash
from .token_cache import client_and_count, due_a_touch

# Longer than any token we issue; anything longer is not hashed at all.
MAX_TOKEN_LENGTH = 200


class ApiTokenAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        parts = header.split()
        if not parts or parts[0].lower() != self.keyword.lower():
            return None
        if len(parts) != 2 or len(parts[1]) > MAX_TOKEN_LENGTH:
            raise exceptions.AuthenticationFailed(
                "Send the token as one value after Bearer: Authorization: Bearer <token>"
            )
        digest = token_hash(parts[1])
        # With Redis, the rate-limit count rides on the same round trip (the throttle reads
        # it from the request).
        client, request.api_rate_count = client_and_count(digest, now=time.time())
        if client is None or not hmac.compare_digest(client.token_hash, digest):
            raise exceptions.AuthenticationFailed("The token is not valid")
        if client.is_revoked:
            raise exceptions.AuthenticationFailed(
                "This token has been revoked. Ask the organisation for a new one"
            )
        if due_a_touch(client):
            api_client_touch(client=client)
        return AnonymousUser(), client

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'


class HasApiClient(BasePermission):
    """Only a request made with a valid client token."""

    message = "Send a valid API token: Authorization: Bearer <token>"

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiClient)


def client_of(request) -> ApiClient:
    """The client the request was authenticated as (views behind `HasApiClient` only)."""
    client = request.auth
    if not isinstance(client, ApiClient):
        raise exceptions.NotAuthenticated()
    return client


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes the token."""

    target_class = "entitlements.api.authentication.ApiTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A client token from `manage.py create_api_client` (starts ent_).",
        }
