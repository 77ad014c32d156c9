"""Fixtures for the API tests."""

import pytest

from entitlements import services


@pytest.fixture
def make_client(db):
    """make_client(organisation, name=..., rate_limit=...) -> (ApiClient, token)."""

    def make(organisation, *, name: str = "CRIS", rate_limit: int = 600):
        return services.api_client_create(
            organisation=organisation, name=name, rate_limit_per_minute=rate_limit
        )

    return make
