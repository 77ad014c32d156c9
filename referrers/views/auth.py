"""Signing in and out."""

from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.shortcuts import render
from django.urls import reverse_lazy
from django.views.generic import TemplateView

from ..invitations import ForgottenPasswordForm


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
    extra_context = {"title": "Sign in"}


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
