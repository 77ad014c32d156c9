"""The optional OpenID Connect sign-in (NHS CIS2), against a fake provider.

The provider is a real HTTP server on 127.0.0.1 in a thread: it issues authorisation codes,
checks the client secret, redirect URI and PKCE verifier at its token endpoint, signs RS256 ID
tokens, and serves its JWKS and userinfo. The browser's visit to the provider is played by
the test (it reads the authorisation request and makes up the code the provider would give).
"""

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.urls import reverse

from referrers.authentication import MFA_SESSION_KEY

CLIENT_ID = "entitlement-test-client"
CLIENT_SECRET = "s3cret-for-tests-only"


class FakeProvider:
    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.codes: dict[str, dict] = {}
        self.tokens: dict[str, dict] = {}
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == "/jwks":
                    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(
                        provider.key.public_key(), as_dict=True
                    )
                    self.reply(200, {"keys": [{**jwk, "kid": "k1", "alg": "RS256"}]})
                elif self.path == "/userinfo":
                    token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                    claims = provider.tokens.get(token)
                    self.reply(200, claims) if claims else self.reply(401, {})
                else:
                    self.reply(404, {})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                self.reply(*provider.token(form))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, form):
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or form.get("client_secret") != CLIENT_SECRET:
            return 400, {"error": "invalid_grant"}
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return 400, {"error": "invalid_grant"}
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(form["code_verifier"].encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if challenge != grant["code_challenge"]:
            return 400, {"error": "invalid_grant"}
        access_token = secrets.token_urlsafe(16)
        self.tokens[access_token] = {"sub": grant["sub"], "email": grant["email"]}
        now = int(time.time())
        id_token = jwt.encode(
            {
                "iss": self.url,
                "aud": grant["audience"],
                "sub": grant["sub"],
                "nonce": grant["nonce"],
                "acr": grant["acr"],
                "iat": now,
                "exp": now + 300,
            },
            self.key,
            algorithm="RS256",
            headers={"kid": "k1"},
        )
        return 200, {"access_token": access_token, "id_token": id_token, "token_type": "Bearer"}

    def authorise(self, authorisation_url, *, email, acr="AAL3_ANY", audience=CLIENT_ID):
        """What the provider does when the person signs in there: a code for the callback."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorisation_url).query).items()}
        assert query["client_id"] == CLIENT_ID
        assert query["response_type"] == "code"
        assert query["code_challenge_method"] == "S256"
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "redirect_uri": query["redirect_uri"],
            "code_challenge": query["code_challenge"],
            "nonce": query["nonce"],
            "sub": "cis2-" + email,
            "email": email,
            "acr": acr,
            "audience": audience,
        }
        return {"code": code, "state": query["state"]}

    def close(self):
        self.server.shutdown()


@pytest.fixture
def provider(settings):
    fake = FakeProvider()
    settings.OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = fake.url + "/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = fake.url + "/token"
    settings.OIDC_OP_USER_ENDPOINT = fake.url + "/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = fake.url + "/jwks"
    settings.OIDC_OP_ISSUER = fake.url
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "referrers.authentication.OidcBackend",
    ]
    settings.MFA_TRUST_FORCE_LOGIN = False
    yield fake
    fake.close()


def sign_in_with_provider(client, provider, *, next_url="", **identity):
    start = reverse("oidc_authentication_init") + (f"?next={next_url}" if next_url else "")
    response = client.get(start)
    assert response.status_code == 302
    assert response["Location"].startswith(provider.url + "/authorize?")
    callback = provider.authorise(response["Location"], **identity)
    return client.get(reverse("oidc_authentication_callback"), callback)


def test_the_sign_in_page_offers_the_provider_only_when_configured(client, settings, provider):
    assert "Sign in with NHS Care Identity Service 2" in client.get(reverse("login")).text
    settings.OIDC_ENABLED = False
    assert "Care Identity Service" not in client.get(reverse("login")).text
    assert client.get(reverse("oidc_authentication_init")).status_code == 404
    assert client.get(reverse("oidc_authentication_callback")).status_code == 404


def test_a_known_delegate_signs_in_and_the_providers_mfa_counts(client, provider, delegate):
    url = reverse("delegate_home", args=["RDZ"])
    response = sign_in_with_provider(client, provider, email=delegate.email, next_url=url)
    assert response.status_code == 302
    assert response["Location"] == url
    assert client.session["_auth_user_id"] == str(delegate.pk)
    assert client.session[MFA_SESSION_KEY] == "oidc"
    assert client.get(url).status_code == 200


def test_a_sign_in_without_mfa_at_the_provider_still_needs_the_totp_step(
    client, provider, delegate
):
    sign_in_with_provider(client, provider, email=delegate.email, acr="AAL1_ANY")
    assert client.session["_auth_user_id"] == str(delegate.pk)
    response = client.get(reverse("delegate_home", args=["RDZ"]))
    assert urlsplit(response["Location"]).path == reverse("mfa_setup")


def test_matching_ignores_the_case_of_the_email_address(client, provider, referrer):
    sign_in_with_provider(client, provider, email=referrer.email.upper())
    assert client.session["_auth_user_id"] == str(referrer.pk)


def test_nobody_is_created_for_an_unknown_email(client, provider, django_user_model):
    before = django_user_model.objects.count()
    response = sign_in_with_provider(client, provider, email="stranger@example.nhs.uk")
    assert response["Location"] == "/sign-in/?oidc=failed"
    assert "_auth_user_id" not in client.session
    assert django_user_model.objects.count() == before
    assert "We could not sign you in with" in client.get(response["Location"]).text


def test_a_disabled_account_cannot_sign_in_through_the_provider(client, provider, referrer):
    referrer.is_active = False
    referrer.save()
    sign_in_with_provider(client, provider, email=referrer.email)
    assert "_auth_user_id" not in client.session


def test_a_token_issued_to_another_client_is_refused(client, provider, referrer):
    sign_in_with_provider(client, provider, email=referrer.email, audience="someone-else")
    assert "_auth_user_id" not in client.session


def test_a_callback_with_a_state_we_did_not_issue_is_refused(client, provider, referrer):
    client.get(reverse("oidc_authentication_init"))
    response = client.get(
        reverse("oidc_authentication_callback"), {"code": "forged", "state": "not-ours"}
    )
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session
