"""Production settings keep the second factor on and refuse a half-configured OIDC sign-in.

Each case starts a fresh Python with a clean production environment (tests/test_settings.py).
"""

import json

import pytest

from tests.test_settings import SETUP, assert_refused, run_python, safe_environment

OIDC = {
    "OIDC_RP_CLIENT_ID": "entitlement",
    "OIDC_RP_CLIENT_SECRET": "not-a-secret",
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "https://cis2.example/authorize",
    "OIDC_OP_TOKEN_ENDPOINT": "https://cis2.example/token",
    "OIDC_OP_USER_ENDPOINT": "https://cis2.example/userinfo",
    "OIDC_OP_JWKS_ENDPOINT": "https://cis2.example/jwks",
}


@pytest.mark.parametrize("value", ["False", "0", "off"])
def test_production_refuses_to_turn_the_second_factor_off(value):
    env = safe_environment()
    env["MFA_REQUIRED"] = value
    assert_refused(run_python(SETUP, env), "MFA_REQUIRED")


@pytest.mark.parametrize("name", [n for n in OIDC if n != "OIDC_RP_CLIENT_ID"])
def test_production_refuses_oidc_without_each_endpoint(name):
    env = {**safe_environment(), **OIDC}
    del env[name]
    assert_refused(run_python(SETUP, env), name)


def test_production_security_settings():
    code = SETUP + (
        "import json\n"
        "from django.conf import settings as s\n"
        "print(json.dumps({'mfa': s.MFA_REQUIRED, 'trust': s.MFA_TRUST_FORCE_LOGIN,"
        " 'oidc': s.OIDC_ENABLED, 'backends': s.AUTHENTICATION_BACKENDS,"
        " 'axes': s.AXES_FAILURE_LIMIT, 'csp': s.CONTENT_SECURITY_POLICY['DIRECTIVES']"
        "['script-src']}, default=str))\n"
    )
    result = run_python(code, {**safe_environment(), **OIDC})
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["mfa"] is True
    assert values["trust"] is False
    assert values["oidc"] is True
    assert values["backends"][0] == "axes.backends.AxesStandaloneBackend"
    assert values["backends"][-1] == "referrers.authentication.OidcBackend"
    assert values["axes"] == 5
    assert values["csp"] == ["'self'", "csp.constants.NONCE"]
