"""Signing in through the real page in a test-client test, second factor included.

A delegate's, governance lead's or administrator's real sign-in goes on to the TOTP step, in
tests as in production (only `force_login` sessions skip it: config/settings/test.py).
`sign_in` does both steps, as the person with their authenticator app would.
"""

from urllib.parse import parse_qs

from django.urls import reverse
from django_otp.oath import TOTP

from referrers import services
from referrers.models import User


def sign_in(client, email: str, password: str, **extra):
    """POST the sign-in form, then the code if asked for one; the last response, followed."""
    response = client.post(
        reverse("login"), {"username": email, "password": password}, follow=True, **extra
    )
    path = response.request["PATH_INFO"]
    if path not in (reverse("mfa_setup"), reverse("mfa_verify")):
        return response
    user = User.objects.get(email=email)
    device = user.totpdevice_set.filter(confirmed=True).first() or services.mfa_device_pending(
        user=user
    )
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if device.last_t >= totp.t():  # that step's code was used: the app's next one
        totp.drift += device.last_t + 1 - totp.t()
    next_url = parse_qs(response.request.get("QUERY_STRING", "")).get("next", [""])[0]
    return client.post(
        path, {"code": f"{totp.token():06d}", "next": next_url}, follow=True, **extra
    )
