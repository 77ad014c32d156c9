"""Helpers for the security tests."""

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice


@pytest.fixture
def mfa_on(settings):
    """The second factor enforced exactly as in production: no session counts as verified
    unless it passed the TOTP step (or an OIDC sign-in with MFA)."""
    settings.MFA_REQUIRED = True
    settings.MFA_TRUST_FORCE_LOGIN = False
    return settings


def code_for(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code an authenticator app with `device`'s key shows now (or `steps_ahead` 30-second
    steps later)."""
    code = totp(
        device.bin_key,
        step=device.step,
        t0=device.t0,
        digits=device.digits,
        drift=device.drift + steps_ahead,
    )
    return f"{code:06d}"


def confirmed_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
