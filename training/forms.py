"""Forms for training records: add one (the referrer, or a delegate for them), reject one,
mark a registration lapsed, import a learning-management system's CSV export.

The forms check what was typed; the services in training.services (and
referrers.services) decide whether it may be saved, and their errors are put back here.
"""

from decimal import Decimal

from django import forms

from config.forms import DateField
from entitlements.uploads import ALLOWED_LABEL

from .csv_import import MAX_FILE_BYTES
from .models import RecordKind

REASON_MAX = 2000

KIND_HINTS = {
    RecordKind.RADIATION_PROTECTION: "IR(ME)R referrer training: needed to request any "
    "examination that uses ionising radiation (X-ray, CT, fluoroscopy, nuclear medicine)",
    RecordKind.CONTRAST_SAFETY: "Needed to request examinations where contrast may be given",
    RecordKind.MRI_SAFETY: "Needed to request MRI examinations",
    RecordKind.REFERRAL_GUIDELINES: "Needed by every referrer",
    RecordKind.CPD: "Hours of learning about requesting or interpreting imaging",
}


class TrainingRecordForm(forms.Form):
    kind = forms.ChoiceField(
        label="What was the training?",
        choices=RecordKind.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Select what the training was",
            "invalid_choice": "Select what the training was",
        },
    )
    title = forms.CharField(
        label="Course or module name (optional)",
        max_length=200,
        required=False,
        help_text="For example, e-Learning for Healthcare: IR(ME)R for referrers",
        error_messages={"max_length": "The course name must be 200 characters or fewer"},
    )
    provider = forms.CharField(
        label="Who provided it?",
        max_length=200,
        help_text="For example, NHS England e-Learning for Healthcare, or your trust's "
        "radiation protection adviser",
        error_messages={
            "required": "Enter who provided the training",
            "max_length": "The provider must be 200 characters or fewer",
        },
    )
    completed_on = DateField(
        label="When did you complete it?",
        help_text="For example, 27 3 2026",
        error_messages={"required": "Enter the date the training was completed"},
    )
    certificate_expires_on = DateField(
        label="Expiry date on the certificate (optional)",
        required=False,
        help_text="Only if the certificate states one. Otherwise it stays valid for as long as "
        "your employer's procedure says. For example, 27 3 2028",
    )
    hours = forms.DecimalField(
        label="Hours (for CPD only)",
        required=False,
        min_value=Decimal("0.1"),
        max_value=Decimal("999.9"),
        decimal_places=1,
        help_text="How many hours of CPD, for example 7.5",
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        error_messages={
            "invalid": "Enter hours as a number, like 7.5",
            "min_value": "Hours must be more than 0",
            "max_value": "Hours must be 999.9 or fewer",
            "max_decimal_places": "Enter hours to one decimal place at most, like 7.5",
            "max_digits": "Hours must be 999.9 or fewer",
        },
    )
    certificate = forms.FileField(
        label="Upload the certificate (optional)",
        required=False,
        help_text=f"It must be {ALLOWED_LABEL}, and smaller than 10 MB. A certificate helps "
        "a delegate verify the record.",
        allow_empty_file=False,
        max_length=None,
        error_messages={
            "empty": "The selected file is empty",
            "invalid": "Select a file to upload",
        },
    )

    field_order = [
        "kind",
        "title",
        "provider",
        "completed_on",
        "certificate_expires_on",
        "hours",
        "certificate",
    ]

    def kind_items(self) -> list[dict]:
        value = str(self["kind"].value() or "")
        return [
            {
                "value": kind,
                "text": label,
                "hint": {"text": KIND_HINTS[kind]},
                "checked": kind == value,
            }
            for kind, label in RecordKind.choices
        ]


class DelegateTrainingRecordForm(TrainingRecordForm):
    """A delegate adds a record for a referrer, and may verify it at once."""

    verify = forms.BooleanField(
        label="I have seen the certificate or the provider's record, and verify this record",
        required=False,
        help_text="A verified record counts towards the referrer's requirements straight away",
    )

    field_order = [*TrainingRecordForm.field_order, "verify"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["completed_on"].label = "When was it completed?"
        self.fields["certificate_expires_on"].help_text = (
            "Only if the certificate states one. Otherwise it stays valid for as long as the "
            "procedure says. For example, 27 3 2028"
        )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Why is the record rejected?",
        help_text="The referrer is told this reason, so say what they need to do",
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "required": "Enter why the record is rejected",
            "max_length": f"The reason must be {REASON_MAX:,} characters or fewer",
        },
    )


class RegistrationLapsedForm(forms.Form):
    reason = forms.CharField(
        label="How do you know the registration has lapsed?",
        help_text="For example, checked the NMC register on 3 March 2026: registration lapsed "
        "on 1 March 2026",
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "required": "Enter how you know the registration has lapsed",
            "max_length": f"The reason must be {REASON_MAX:,} characters or fewer",
        },
    )


class RegistrationRenewedForm(forms.Form):
    renewal_due_on = DateField(
        label="When is the registration next due for renewal?",
        help_text="As the regulator's register shows it. For example, 31 3 2028",
        error_messages={"required": "Enter the date the registration is next due for renewal"},
    )
    reason = forms.CharField(
        label="How do you know the registration is current?",
        help_text="For example, checked the NMC register on 3 April 2026: registered, renewal "
        "due 31 March 2028",
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "required": "Enter how you know the registration is current",
            "max_length": f"The reason must be {REASON_MAX:,} characters or fewer",
        },
    )


class TrainingImportForm(forms.Form):
    file = forms.FileField(
        label="Upload a CSV file",
        help_text=f"UTF-8 CSV, smaller than {MAX_FILE_BYTES // (1024 * 1024)} MB",
        error_messages={
            "required": "Select a CSV file",
            "empty": "The selected file is empty",
            "invalid": "Select a CSV file",
        },
    )
    confirm = forms.BooleanField(
        label="These records come from our own learning-management system, and I verify them",
        help_text="Each imported record is recorded as verified by you",
        error_messages={
            "required": "Confirm that the records come from your learning-management system "
            "and that you verify them"
        },
    )
