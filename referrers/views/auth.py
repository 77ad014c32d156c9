"""Signing in and out, the second factor (TOTP) and the lockout page."""

import base64
import logging

import segno
from django import forms
from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.generic import FormView, TemplateView
from django_otp import devices_for_user, user_has_device
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from .. import services
from ..authentication import SIGNED_IN_WITH_KEY
from ..invitations import ForgottenPasswordForm

logger = logging.getLogger(__name__)


class SignInForm(AuthenticationForm):
    error_messages = {
        "invalid_login": "Enter a correct e-mail address and password",
        "inactive": "This account has been disabled. Contact your organisation administrator.",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "E-mail address"
        self.fields["username"].widget = forms.EmailInput(attrs={"autocomplete": "email"})
        self.fields["username"].error_messages["required"] = "Enter your e-mail address"
        self.fields["password"].error_messages["required"] = "Enter your password"


class SignInView(auth_views.LoginView):
    form_class = SignInForm
    template_name = "registration/sign_in.jinja"
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        self.request.session[SIGNED_IN_WITH_KEY] = "password"
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title="Sign in",
            oidc_enabled=settings.OIDC_ENABLED,
            oidc_provider=settings.OIDC_PROVIDER_NAME,
            oidc_failed="oidc" in self.request.GET,
        )
        return context


def locked_out(request, credentials=None, *args, **kwargs):
    """django-axes: the page for a sign-in refused after too many wrong passwords (429)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(
        request,
        "registration/message.jinja",
        {
            "title": "Too many attempts to sign in",
            "message": (
                "You have entered a wrong password too many times. For your security, "
                f"signing in with this e-mail address is paused for {minutes} minutes. "
                "If you have forgotten your password, you can set a new one."
            ),
            "link": {"href": reverse("password_forgotten"), "text": "Forgotten your password?"},
        },
        status=429,
    )


# --- The second factor ----------------------------------------------------------------------


class TotpCodeForm(forms.Form):
    code = forms.CharField(
        label="Security code",
        help_text="The 6-digit code your authenticator app shows now",
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"}
        ),
        error_messages={"required": "Enter the 6-digit security code"},
    )

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if not (code.isdigit() and len(code) == 6):
            raise forms.ValidationError("Enter the 6-digit security code, numbers only")
        return code


class _MfaStep(LoginRequiredMixin, FormView):
    form_class = TotpCodeForm

    def next_url(self) -> str:
        url = self.request.POST.get(REDIRECT_FIELD_NAME) or self.request.GET.get(
            REDIRECT_FIELD_NAME, ""
        )
        if url and url_has_allowed_host_and_scheme(
            url, allowed_hosts={self.request.get_host()}, require_https=self.request.is_secure()
        ):
            return url
        return reverse(settings.LOGIN_REDIRECT_URL)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(title=self.title, next=self.next_url())
        return context

    def check(self, form, devices) -> bool:
        """Whether the code is right for one of `devices`; if not, says why on the form.
        A wrong code makes the device wait before the next try (django-otp throttling)."""
        waiting = [d for d in devices if not d.verify_is_allowed()[0]]
        if devices and len(waiting) == len(devices):
            form.add_error(
                "code", "Too many wrong codes. Wait a minute, then enter the code shown now"
            )
            return False
        for device in devices:
            if device not in waiting and device.verify_token(form.cleaned_data["code"]):
                otp_login(self.request, device)
                return True
        form.add_error("code", "The security code is not right. Enter the code your app shows now")
        logger.warning("Wrong TOTP code for user %s", self.request.user.pk)
        return False


class MfaVerifyView(_MfaStep):
    """After the password: the code from the authenticator app set up before."""

    template_name = "registration/mfa_verify.jinja"
    title = "Enter your security code"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not user_has_device(request.user):
            return redirect(f"{reverse('mfa_setup')}?{request.GET.urlencode()}")
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        # for_verify locks the devices (select_for_update), so two requests racing with the
        # same code cannot both use it.
        with transaction.atomic():
            devices = list(devices_for_user(self.request.user, for_verify=True))
            verified = self.check(form, devices)
        if not verified:
            return self.form_invalid(form)
        return redirect(self.next_url())


def _grouped(key: bytes) -> str:
    text = base64.b32encode(key).decode("ascii").rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


class MfaSetupView(_MfaStep):
    """First sign-in of someone who needs a second factor: scan the QR code (or type the
    key) into an authenticator app, then enter a code to prove it works. Only for someone
    with no authenticator yet: a new one is never added on a password alone."""

    template_name = "registration/mfa_setup.jinja"
    title = "Set up your authenticator app"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and user_has_device(request.user):
            return redirect(f"{reverse('mfa_verify')}?{request.GET.urlencode()}")
        return super().dispatch(request, *args, **kwargs)

    def device(self) -> TOTPDevice:
        return services.mfa_device_pending(user=self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        device = self.device()
        qr = segno.make(device.config_url, error="m")
        svg = qr.svg_inline(
            scale=5,
            dark="#212b32",
            light="#ffffff",
            svgclass="app-qr",
            title="QR code to scan with your authenticator app",
        )
        context.update(
            qr_svg=mark_safe(svg),  # noqa: S308 - segno's own SVG of our own URL
            secret=_grouped(device.bin_key),
            issuer=settings.OTP_TOTP_ISSUER,
            account=self.request.user.email,
        )
        return context

    def form_valid(self, form):
        with transaction.atomic():
            device = self.device()
            verified = self.check(form, [device])
        if not verified:
            return self.form_invalid(form)
        services.mfa_device_confirm(device=device)
        logger.info("Authenticator set up for user %s", self.request.user.pk)
        return redirect(self.next_url())


class SignOutView(auth_views.LogoutView):
    """GET shows a page with a sign-out button (a form with a CSRF token); POST signs out."""

    http_method_names = ["get", "post", "options"]

    def get(self, request, *args, **kwargs):
        return render(request, "registration/sign_out.jinja", {"title": "Sign out"})


class ForgottenPasswordView(auth_views.PasswordResetView):
    form_class = ForgottenPasswordForm
    template_name = "registration/password_forgotten.jinja"
    success_url = reverse_lazy("password_forgotten_sent")
    extra_context = {"title": "Forgotten your password?"}


class ForgottenPasswordSentView(TemplateView):
    template_name = "registration/message.jinja"
    extra_context = {
        "title": "Check your e-mail",
        "message": "If an account uses that e-mail address, we have sent it a link to set a "
        "new password. The link works for 3 days.",
    }


class NewPasswordForm(SetPasswordForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].label = "New password"
        self.fields["new_password1"].help_text = "At least 12 characters, not a common password"
        self.fields["new_password2"].label = "Type the new password again"
        self.fields["new_password1"].error_messages["required"] = "Enter a new password"
        self.fields["new_password2"].error_messages["required"] = "Type the new password again"


class PasswordSetView(auth_views.PasswordResetConfirmView):
    form_class = NewPasswordForm
    template_name = "registration/password_set.jinja"
    success_url = reverse_lazy("password_set_done")
    extra_context = {"title": "Set your password"}


class PasswordSetDoneView(TemplateView):
    template_name = "registration/message.jinja"
    extra_context = {
        "title": "Your password has been set",
        "message": "You can now sign in with your e-mail address and new password.",
        "link": {"href": reverse_lazy("login"), "text": "Sign in"},
    }
