"""Setting a password: for people given a role before they had an account, and for anyone who
has forgotten theirs. Django's token generator makes the link; a Celery task sends it."""

from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import default_token_generator
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from .models import User
from .outbox import outbox_enqueue
from .tasks import email_send


def set_password_url(user: User, base_url: str) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return base_url.rstrip("/") + reverse("password_set", args=[uid, token])


def password_link_send(*, user: User, base_url: str, invited_by: User | None = None) -> None:
    """E-mail `user` a link to set their password, once the current transaction commits."""
    body = render_to_string(
        "registration/set_password_email.txt",
        {"user": user, "url": set_password_url(user, base_url), "invited_by": invited_by},
    )
    subject = (
        "You have been given access to imaging referrer entitlement"
        if invited_by
        else "Set your password for imaging referrer entitlement"
    )
    outbox_enqueue(
        task=email_send.name, kwargs={"to": user.email, "subject": subject, "body": body}
    )


class ForgottenPasswordForm(PasswordResetForm):
    """Django's form, sending through our task, and reaching invited people who have never
    set a password (Django's own form skips accounts without a usable password)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].label = "E-mail address"
        self.fields["email"].error_messages.update(
            required="Enter your e-mail address",
            invalid="Enter an e-mail address in the correct format, like name@example.nhs.uk",
        )

    def get_users(self, email):
        return User.objects.filter(email__iexact=email.strip(), is_active=True)

    def save(self, *, request, **kwargs) -> None:
        base_url = request.build_absolute_uri("/")
        for user in self.get_users(self.cleaned_data["email"]):
            password_link_send(user=user, base_url=base_url)
