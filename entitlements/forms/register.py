"""The register's two GET forms: searching the register, and asking "may this referrer request
this examination?". Both take an optional "as of" date, which cannot be in the future.

The forms check what was typed and give each field its own message; the answer itself comes
from `selectors.entitlement_check`.
"""

from django import forms
from django.core.exceptions import ValidationError

from config.forms import DateField
from referrers.models import Department, LevelOfPractice, Organisation
from referrers.regulators import Profession, Regulator, validate_registration

from ..modalities import Modality
from ..models import EntitlementState, Examination
from ..models.scope import CareSetting
from ..selectors.register import (
    ANY_STATE,
    LIVE_FILTER,
    OLDEST_PATIENT_AGE,
    RegisterFilters,
    as_of_problem,
)

AS_OF_HINT = (
    "Leave blank for now. To see the register as it stood at the end of a past day, enter "
    "the date, for example 15 3 2026"
)
NAME_MAX = 200


def _as_of_field() -> DateField:
    return DateField(label="As of (optional)", help_text=AS_OF_HINT, required=False)


def _clean_as_of(form: forms.Form):
    day = form.cleaned_data.get("as_of")
    problem = as_of_problem(day)
    if problem:
        raise ValidationError(problem)
    return day


def _choice(label: str, choices, *, blank: str, message: str) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        choices=[("", blank), *choices],
        required=False,
        error_messages={"invalid_choice": message},
    )


class RegisterSearchForm(forms.Form):
    """Who is on the register: each filter narrows the list; blank means any."""

    name = forms.CharField(
        label="Name",
        required=False,
        max_length=NAME_MAX,
        error_messages={"max_length": f"Name must be {NAME_MAX} characters or fewer"},
    )
    registration = forms.CharField(
        label="Registration number",
        help_text="For example, 71A2998E or NMC:71A2998E",
        required=False,
        max_length=24,
        error_messages={"max_length": "Registration number must be 24 characters or fewer"},
    )
    examination = forms.CharField(
        label="Examination",
        help_text="Its code or part of its name, for example XCHES or chest",
        required=False,
        max_length=NAME_MAX,
        error_messages={"max_length": f"Examination must be {NAME_MAX} characters or fewer"},
    )
    modality = _choice(
        "Modality",
        Modality.choices,
        blank="Any modality",
        message="Select a modality from the list",
    )
    department = forms.ChoiceField(
        label="Department",
        required=False,
        error_messages={"invalid_choice": "Select a department from the list"},
    )
    profession = _choice(
        "Profession",
        Profession.choices,
        blank="Any profession",
        message="Select a profession from the list",
    )
    level = _choice(
        "Level of practice",
        LevelOfPractice.choices,
        blank="Any level",
        message="Select a level of practice from the list",
    )
    state = forms.ChoiceField(
        label="State",
        choices=[
            (LIVE_FILTER, "Active or suspended"),
            *EntitlementState.choices,
            (ANY_STATE, "Any state"),
        ],
        required=False,
        error_messages={"invalid_choice": "Select a state from the list"},
    )
    as_of = _as_of_field()

    def __init__(self, *args, organisation: Organisation, **kwargs):
        super().__init__(*args, **kwargs)
        departments = Department.objects.filter(organisation=organisation).order_by("name")
        self.fields["department"].choices = [
            ("", "Any department"),
            *((str(d.pk), d.name) for d in departments),
        ]

    def clean_as_of(self):
        return _clean_as_of(self)

    def filters(self) -> RegisterFilters:
        data = self.cleaned_data
        return RegisterFilters(
            name=data["name"].strip(),
            registration=data["registration"].strip(),
            examination=data["examination"].strip(),
            modality=data["modality"],
            department_id=int(data["department"]) if data["department"] else None,
            profession=data["profession"],
            level=data["level"],
            state=data["state"],
        )


class CheckForm(forms.Form):
    """May this referrer request this examination, for this patient, in this setting?"""

    regulator = forms.ChoiceField(
        label="Professional regulator",
        choices=[("", "Select the regulator"), *Regulator.choices],
        error_messages={
            "required": "Select the referrer's professional regulator",
            "invalid_choice": "Select the referrer's professional regulator",
        },
    )
    registration_number = forms.CharField(
        label="Registration number",
        help_text="As it appears on the request, for example 71A2998E",
        max_length=24,
        error_messages={
            "required": "Enter the referrer's registration number",
            "max_length": "Registration number must be 24 characters or fewer",
        },
    )
    examination = forms.ChoiceField(
        label="Examination",
        error_messages={
            "required": "Select the examination requested",
            "invalid_choice": "Select an examination from the catalogue",
        },
    )
    patient_age = forms.IntegerField(
        label="Patient's age in years",
        help_text="For a baby under 1, enter 0",
        min_value=0,
        max_value=OLDEST_PATIENT_AGE,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
        error_messages={
            "required": "Enter the patient's age in years",
            "invalid": "Enter the patient's age as a whole number of years, like 42",
            "min_value": f"Enter an age from 0 to {OLDEST_PATIENT_AGE}",
            "max_value": f"Enter an age from 0 to {OLDEST_PATIENT_AGE}",
        },
    )
    setting = forms.ChoiceField(
        label="Where is the request made from?",
        choices=CareSetting.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Select where the request is made from",
            "invalid_choice": "Select where the request is made from",
        },
    )
    as_of = _as_of_field()

    def __init__(self, *args, organisation: Organisation, **kwargs):
        super().__init__(*args, **kwargs)
        # Every examination in the catalogue, retired ones included: an entitlement granted
        # before an examination was retired still covers it.
        examinations = Examination.objects.filter(organisation=organisation).order_by(
            "modality", "name", "code"
        )
        self.fields["examination"].choices = [
            ("", "Select the examination"),
            *(
                (e.code, f"{e.name} ({e.code})" + ("" if e.is_active else ", no longer offered"))
                for e in examinations
            ),
        ]

    def clean_examination(self):
        return self.cleaned_data["examination"].strip().upper()

    def clean_as_of(self):
        return _clean_as_of(self)

    def clean(self):
        data = super().clean()
        regulator, number = data.get("regulator"), data.get("registration_number")
        if regulator and number:
            try:
                data["registration_number"] = validate_registration(regulator, number)
            except ValidationError as error:
                for message in error.message_dict.get("registration_number", error.messages):
                    self.add_error("registration_number", message)
        return data
