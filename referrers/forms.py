"""Forms for people, appointments and agreements. Each validates fully and explains itself."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from config.forms import DateField, apply_validation_error
from entitlements.modalities import Modality

from .models import Organisation, ReferrerProfile, User
from .regulators import (
    UNREGISTERED_ROLE_MESSAGE,
    UNREGISTERED_ROLES,
    Profession,
    Regulator,
    validate_registration,
)
from .roles import GRANTABLE_ROLES


def check_date_range(form: forms.Form, data: dict) -> None:
    """A `valid_to` before `valid_from` is an error on `valid_to`."""
    start, end = data.get("valid_from"), data.get("valid_to")
    if start and end and end < start:
        form.add_error("valid_to", "The end date must be on or after the start date")


class RegistrationForm(forms.Form):
    profession = forms.ChoiceField(
        label="Your profession",
        choices=[("", "Select your profession"), *Profession.choices, *UNREGISTERED_ROLES.items()],
        error_messages={"required": "Select your profession"},
    )
    regulator = forms.ChoiceField(
        label="Professional regulator",
        choices=[("", "Select your regulator"), *Regulator.choices],
        error_messages={"required": "Select your professional regulator"},
    )
    registration_number = forms.CharField(
        label="Registration number",
        max_length=20,
        help_text="As it appears on your regulator's register, for example RA12345 or 71A2998E",
        error_messages={"required": "Enter your registration number"},
    )
    registration_expires_on = DateField(
        label="When does your registration next need renewing?",
        help_text="For example, 31 3 2027",
        error_messages={"required": "Enter the date your registration next needs renewing"},
    )

    def __init__(self, *args, user: User, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        profession = data.get("profession")
        if profession in UNREGISTERED_ROLES:
            self.add_error("profession", UNREGISTERED_ROLE_MESSAGE)
            return data
        if not (profession and data.get("regulator") and data.get("registration_number")):
            return data
        try:
            data["registration_number"] = validate_registration(
                data["regulator"], data["registration_number"], profession
            )
        except ValidationError as error:
            apply_validation_error(self, error)
            return data
        taken = (
            ReferrerProfile.objects.filter(
                regulator=data["regulator"], registration_number=data["registration_number"]
            )
            .exclude(user=self.user)
            .exists()
        )
        if taken:
            self.add_error(
                "registration_number",
                "This registration number is already recorded for someone else. "
                "Check the number, or contact your organisation administrator.",
            )
        return data


class DelegateAppointmentForm(forms.Form):
    delegate = forms.ModelChoiceField(
        label="Delegate",
        queryset=User.objects.none(),
        empty_label="Select a person",
        help_text="The named person the organisation has appointed to grant entitlement",
        error_messages={"required": "Select the person being appointed"},
    )
    all_modalities = forms.TypedChoiceField(
        label="Which modalities does the appointment cover?",
        choices=[("yes", "Every modality"), ("no", "Only the modalities I select")],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
        error_messages={"required": "Select which modalities the appointment covers"},
    )
    modalities = forms.MultipleChoiceField(
        label="Modalities covered",
        choices=Modality.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    departments = forms.ModelMultipleChoiceField(
        label="Departments covered",
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Select none for every department",
    )
    valid_from = DateField(
        label="Appointed from", error_messages={"required": "Enter the date the appointment starts"}
    )
    valid_to = DateField(
        label="Appointed until (optional)",
        required=False,
        help_text="Leave empty if the appointment has no end date",
    )
    document_reference = forms.CharField(
        label="Document reference",
        max_length=200,
        help_text="The board paper, letter or procedure that made the appointment",
        error_messages={"required": "Enter the reference of the appointing document"},
    )

    def __init__(self, *args, organisation: Organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        self.fields["delegate"].queryset = (
            User.objects.filter(organisation_roles__organisation=organisation, is_active=True)
            .distinct()
            .order_by("full_name")
        )
        self.fields["delegate"].label_from_instance = lambda u: f"{u.full_name} ({u.email})"
        self.fields["departments"].queryset = organisation.departments.order_by("name")

    def clean(self):
        data = super().clean()
        if data.get("all_modalities") is False and not data.get("modalities"):
            self.add_error("modalities", "Select at least one modality, or choose every modality")
        check_date_range(self, data)
        return data


class DelegateAppointmentEndForm(forms.Form):
    ends_on = DateField(
        label="Last day of the appointment",
        error_messages={"required": "Enter the last day of the appointment"},
    )

    def __init__(self, *args, appointment, **kwargs):
        super().__init__(*args, **kwargs)
        self.appointment = appointment

    def clean_ends_on(self):
        ends_on = self.cleaned_data["ends_on"]
        if ends_on < self.appointment.valid_from:
            raise ValidationError("The last day must be on or after the appointment's first day")
        if ends_on < timezone.localdate():
            raise ValidationError(
                "The last day cannot be in the past: decisions already made stay on record"
            )
        return ends_on


class AgreementForm(forms.Form):
    referring_organisation = forms.ModelChoiceField(
        label="Referring organisation",
        queryset=Organisation.objects.none(),
        empty_label="Select an organisation",
        help_text="The organisation that employs the referrers, for example a GP practice",
        error_messages={"required": "Select the referring organisation"},
    )
    valid_from = DateField(
        label="In force from", error_messages={"required": "Enter the date the agreement starts"}
    )
    valid_to = DateField(label="In force until (optional)", required=False)
    document_reference = forms.CharField(
        label="Document reference",
        max_length=200,
        error_messages={"required": "Enter the reference of the signed agreement"},
    )

    def __init__(self, *args, organisation: Organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["referring_organisation"].queryset = Organisation.objects.exclude(
            pk=organisation.pk
        ).order_by("name")

    def clean(self):
        data = super().clean()
        check_date_range(self, data)
        return data


class RoleGrantForm(forms.Form):
    email = forms.EmailField(
        label="E-mail address",
        help_text="Their work e-mail address, which is also how they sign in",
        error_messages={
            "required": "Enter their e-mail address",
            "invalid": "Enter an e-mail address in the correct format, like name@example.nhs.uk",
        },
    )
    full_name = forms.CharField(
        label="Full name",
        max_length=200,
        required=False,
        help_text="Needed only if they do not have an account yet",
    )
    role = forms.ChoiceField(
        label="Role",
        widget=forms.RadioSelect,
        choices=[],
        error_messages={"required": "Select the role to give"},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(role.value, role.label) for role in GRANTABLE_ROLES]


class DepartmentForm(forms.Form):
    name = forms.CharField(
        label="Department name",
        max_length=200,
        error_messages={"required": "Enter the department's name"},
    )
    site_ods_code = forms.CharField(
        label="Site ODS code (optional)",
        max_length=5,
        required=False,
        help_text="5 characters, starting with the organisation's code",
    )

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation = organisation

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if self.organisation.departments.filter(name__iexact=name).exists():
            raise ValidationError("There is already a department with this name")
        return name
