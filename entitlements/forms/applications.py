"""Forms of the referrer's application journey (principle 2), one per step.

Each form checks what was typed and says what is wrong on the field at fault; the services
in `entitlements.services.applications` check again and have the last word (their
ValidationErrors are put back on the form by the views).
"""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from config.forms import DateField
from referrers.models import Department, LevelOfPractice, Organisation, OrganisationKind, User

from .. import selectors
from ..modalities import Modality
from ..models import EntitlementKind, EvidenceKind
from ..models.scope import CareSetting
from ..services import supervisor_by_email
from ..services.applications import MAX_AGE, scope_condition_errors
from ..uploads import ALLOWED_LABEL

KIND_HINTS = {
    EntitlementKind.REFERRAL: "Asking for imaging examinations for your patients.",
    EntitlementKind.CLINICAL_EVALUATION: "Looking at images and recording what they show. "
    "This is a separate entitlement, with its own application and decision, even if you "
    "also refer.",
}


def _text(label, *, required=True, max_length=None, what="", rows=5, **kwargs):
    what = what or label[0].lower() + label[1:]
    messages = {"required": f"Enter {what}"}
    if max_length:
        messages["max_length"] = f"{label} must be {max_length:,} characters or fewer"
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        widget=forms.Textarea(attrs={"rows": rows}),
        error_messages=messages,
        **kwargs,
    )


def _whole_number(label, *, what, required=True, min_value=None, max_value=None, **kwargs):
    messages = {
        "required": f"Enter {what}",
        "invalid": f"Enter {what} as a whole number, like 12",
    }
    if min_value is not None:
        messages["min_value"] = f"Enter {what} as {min_value:,} or more"
    if max_value is not None:
        messages["max_value"] = f"Enter {what} as {max_value:,} or fewer"
    return forms.IntegerField(
        label=label,
        required=required,
        min_value=min_value,
        max_value=max_value,
        error_messages=messages,
        widget=forms.NumberInput,
        **kwargs,
    )


# --- Step 1: the role and the kind ---------------------------------------------------------


class ApplicationStartForm(forms.Form):
    """Which of the referrer's roles, which employer they apply to, and the kind."""

    choice = forms.ChoiceField(
        label="Which role is this application for?",
        widget=forms.RadioSelect,
        error_messages={
            "required": "Select the role and the employer you are applying to",
            "invalid_choice": "Select the role and the employer you are applying to",
        },
    )
    kind = forms.ChoiceField(
        label="What do you want to be entitled to do?",
        choices=EntitlementKind.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Select what you want to be entitled to do",
            "invalid_choice": "Select what you want to be entitled to do",
        },
    )

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.entitling_choices = list(choices)
        self.fields["choice"].choices = [(c.value, c.value) for c in self.entitling_choices]

    def clean(self):
        data = super().clean()
        if "choice" in data:
            employment_id, organisation_id = data["choice"].split(":")
            data["employment_id"] = int(employment_id)
            data["organisation_id"] = int(organisation_id)
        return data

    @staticmethod
    def service_errors(error: ValidationError) -> ValidationError:
        """The service speaks of `employment`; on this page that is the `choice` field."""
        if hasattr(error, "error_dict"):
            return ValidationError(
                {("choice" if k == "employment" else k): v for k, v in error.error_dict.items()}
            )
        return error


# --- Adding a role that is not recorded ----------------------------------------------------


def employer_choices():
    return Organisation.objects.exclude(kind=OrganisationKind.ICS).order_by("name")


class EmployerForm(forms.Form):
    """First half of adding a role: the employer, so the departments can be offered."""

    organisation = forms.ModelChoiceField(
        label="Who employs you in this role?",
        queryset=Organisation.objects.none(),
        empty_label="Select your employer",
        to_field_name="ods_code",
        error_messages={
            "required": "Select your employer",
            "invalid_choice": "Select your employer from the list",
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = employer_choices()
        self.fields["organisation"].label_from_instance = lambda o: f"{o.name} ({o.ods_code})"


class EmploymentAddForm(forms.Form):
    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.none(),
        to_field_name="ods_code",
        widget=forms.HiddenInput,
        error_messages={
            "required": "Select your employer",
            "invalid_choice": "Select your employer from the list",
        },
    )
    job_title = forms.CharField(
        label="Job title",
        max_length=200,
        help_text="As it appears on your contract, for example Advanced nurse practitioner",
        error_messages={
            "required": "Enter your job title",
            "max_length": "Job title must be 200 characters or fewer",
        },
    )
    level = forms.ChoiceField(
        label="Level of practice",
        choices=LevelOfPractice.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Select your level of practice",
            "invalid_choice": "Select your level of practice",
        },
    )
    department = forms.ModelChoiceField(
        label="Department (optional)",
        queryset=Department.objects.none(),
        required=False,
        empty_label="Not in a department listed here",
        error_messages={"invalid_choice": "Select a department of your employer"},
    )
    starts_on = DateField(
        label="When did you start in this role?",
        help_text="For example, 1 9 2024",
        error_messages={"required": "Enter the date you started in this role"},
    )

    def __init__(self, *args, organisation: Organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        self.fields["organisation"].queryset = employer_choices()
        self.fields["organisation"].initial = organisation.ods_code
        # Only this employer's departments are offered, and only they are accepted.
        self.fields["department"].queryset = organisation.departments.order_by("name")

    def clean_organisation(self):
        organisation = self.cleaned_data["organisation"]
        if organisation.pk != self.organisation.pk:
            raise ValidationError("Select your employer again")
        return organisation

    def clean_starts_on(self):
        starts_on = self.cleaned_data["starts_on"]
        if starts_on > timezone.localdate():
            raise ValidationError(
                "The start date must be today or in the past: you can add a role once it "
                "has started"
            )
        return starts_on


# --- Step 2: service need ------------------------------------------------------------------


class ServiceNeedForm(forms.Form):
    service_need = _text(
        "Why does your role need to request imaging?",
        max_length=5000,
        what="why your role needs to request imaging",
        rows=8,
        help_text="Describe the patients you see, where you see them, and how requesting "
        "imaging yourself helps them, for example by avoiding a wait for a doctor.",
    )
    expected_volume = _whole_number(
        "How many requests do you expect to make in a year?",
        what="how many requests you expect to make in a year",
        min_value=1,
        max_value=1_000_000,
        help_text="An estimate is fine, for example 400",
    )


# --- Step 3: scope -------------------------------------------------------------------------


class ScopeItemForm(forms.Form):
    """One examination, or one group of examinations, from the employer's catalogue."""

    examination = forms.ChoiceField(
        label="Examination or group of examinations",
        error_messages={
            "required": "Select an examination or a group of examinations",
            "invalid_choice": "Select an examination or a group of examinations from the list",
        },
    )
    age_min = _whole_number(
        "Youngest patient age (years)",
        what="the youngest patient age",
        min_value=0,
        max_value=MAX_AGE,
        initial=0,
        help_text="Enter 0 for any age",
    )
    age_max = _whole_number(
        "Oldest patient age (years, optional)",
        what="the oldest patient age",
        required=False,
        min_value=0,
        max_value=MAX_AGE,
        help_text="Leave empty if there is no upper limit",
    )
    settings = forms.MultipleChoiceField(
        label="Where will you request it from?",
        choices=CareSetting.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Select all that apply",
        error_messages={
            "required": "Select at least one setting",
            "invalid_choice": "Select settings from the list",
        },
    )
    clinical_indications = _text(
        "Clinical indications (optional)",
        required=False,
        max_length=2000,
        rows=4,
        help_text="When you would request it, for example suspected fracture after injury, "
        "or as in iRefer",
    )
    exclusions = _text(
        "Exclusions (optional)",
        required=False,
        max_length=2000,
        rows=4,
        help_text='What you would not request, for example "no CT" or "no '
        'pregnancy-possible patients under 16"',
    )

    def __init__(self, *args, organisation: Organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        self.examinations = list(selectors.examinations_of(organisation, active_only=True))
        self.groups = list(selectors.examination_groups_of(organisation))
        self.fields["examination"].choices = [
            ("", "Select an examination"),
            *((f"g:{g.pk}", g.name) for g in self.groups),
            *((f"e:{e.pk}", str(e)) for e in self.examinations),
        ]

    def option_groups(self) -> list[dict]:
        """The choices as labelled groups: the employer's groups first, then each modality."""
        value = str(self["examination"].value() or "")
        groups = []
        if self.groups:
            groups.append(
                {
                    "label": "Groups of examinations",
                    "options": [
                        {
                            "value": f"g:{g.pk}",
                            "text": f"{g.name} ({g.examination_count} examinations)",
                            "selected": value == f"g:{g.pk}",
                        }
                        for g in self.groups
                    ],
                }
            )
        labels = dict(Modality.choices)
        by_modality: dict[str, list] = {}
        for e in self.examinations:
            by_modality.setdefault(e.modality, []).append(e)
        for modality, examinations in by_modality.items():
            groups.append(
                {
                    "label": labels.get(modality, modality),
                    "options": [
                        {
                            "value": f"e:{e.pk}",
                            "text": str(e),
                            "selected": value == f"e:{e.pk}",
                        }
                        for e in examinations
                    ],
                }
            )
        return groups

    def clean_examination(self):
        value = self.cleaned_data["examination"]
        kind, pk = value.split(":")
        if kind == "g":
            group = next(g for g in self.groups if str(g.pk) == pk)
            self.cleaned_data["subject"] = (None, group)
        else:
            examination = next(e for e in self.examinations if str(e.pk) == pk)
            self.cleaned_data["subject"] = (examination, None)
        return value

    def clean(self):
        data = super().clean()
        # The rules on conditions live in the service; asking it here shows every problem
        # at once instead of one round trip at a time.
        # A field already in error is left out (its own message says what is wrong).
        has_min = data.get("age_min") is not None
        problems = scope_condition_errors(
            age_min=data["age_min"] if has_min else 0,
            age_max=data.get("age_max") if has_min else None,
            settings=data.get("settings") or [CareSetting.ED],
        )
        for name, message in problems.items():
            if name in self.fields and name not in self.errors:
                self.add_error(name, message)
        return data

    @staticmethod
    def initial_from(item) -> dict:
        subject = f"e:{item.examination_id}" if item.examination_id else f"g:{item.group_id}"
        return {
            "examination": subject,
            "age_min": item.age_min,
            "age_max": item.age_max,
            "settings": list(item.settings),
            "clinical_indications": item.clinical_indications,
            "exclusions": item.exclusions,
        }


# --- Step 4: supervision and accountability ------------------------------------------------


class SupervisionForm(forms.Form):
    clinical_supervisor = forms.EmailField(
        label="Your clinical supervisor's email address",
        max_length=254,
        help_text="The person who will confirm your service need and supervision. They must "
        "have an account on this service.",
        error_messages={
            "required": "Enter your clinical supervisor's email address",
            "invalid": "Enter an email address in the correct format, like name@example.nhs.uk",
        },
    )
    decision_line = _text(
        "Decision-making line",
        max_length=2000,
        what="your decision-making line",
        rows=3,
        help_text="Who you go to when a decision is beyond your scope, for example the "
        "consultant in emergency medicine on shift",
    )
    accountability_line = _text(
        "Accountability line",
        max_length=2000,
        what="your accountability line",
        rows=3,
        help_text="Who you are accountable to for your practice, for example the clinical "
        "lead for emergency medicine",
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_clinical_supervisor(self):
        email = self.cleaned_data["clinical_supervisor"]
        supervisor = supervisor_by_email(email)
        if supervisor is None:
            raise ValidationError(
                "No active user has that email address. Check it, or ask your supervisor "
                "to sign in to this service first"
            )
        if supervisor.pk == self.user.pk:
            raise ValidationError("Your clinical supervisor must be someone else")
        return supervisor


# --- Step 5: evidence ----------------------------------------------------------------------


class EvidenceForm(forms.Form):
    file = forms.FileField(
        label="Choose a file",
        help_text=f"It must be {ALLOWED_LABEL}, and smaller than 10 MB",
        allow_empty_file=False,
        max_length=None,
        error_messages={
            "required": "Select a file to upload",
            "empty": "The selected file is empty",
            "invalid": "Select a file to upload",
            "missing": "Select a file to upload",
        },
    )
    kind = forms.ChoiceField(
        label="What does the file show?",
        choices=EvidenceKind.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Select what the file shows",
            "invalid_choice": "Select what the file shows",
        },
    )
    description = forms.CharField(
        label="Description (optional)",
        max_length=200,
        required=False,
        help_text="For example, IRMER referrer training certificate, March 2026",
        error_messages={"max_length": "Description must be 200 characters or fewer"},
    )
