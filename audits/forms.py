"""Forms of the audits app. They check what was typed; the services decide whether it may be
saved, and their errors are put back here."""

from django import forms

from config.forms import DateField

from .csv_import import MAX_FILE_BYTES
from .models import AuditOutcome, ReportCategory

TEXT_MAX = 5000


class ExtractUploadForm(forms.Form):
    file = forms.FileField(
        label="Upload your request extract (CSV)",
        help_text=f"UTF-8 CSV, smaller than {MAX_FILE_BYTES // (1024 * 1024)} MB",
        error_messages={
            "required": "Select a CSV file",
            "empty": "The selected file is empty",
            "invalid": "Select a CSV file",
        },
    )


class AuditSubmitForm(forms.Form):
    reflection = forms.CharField(
        label="Your reflection",
        help_text="What the audit shows about your requesting, and what you will change",
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=TEXT_MAX,
        error_messages={
            "required": "Enter your reflection on what the audit shows",
            "max_length": f"The reflection must be {TEXT_MAX:,} characters or fewer",
        },
    )


class AuditReviewForm(forms.Form):
    outcome = forms.ChoiceField(
        label="Outcome",
        choices=AuditOutcome.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Select the outcome of the audit",
            "invalid_choice": "Select the outcome of the audit",
        },
    )
    notes = forms.CharField(
        label="Notes for the referrer",
        help_text="Needed unless the audit meets the standard",
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        max_length=TEXT_MAX,
        error_messages={"max_length": f"The notes must be {TEXT_MAX:,} characters or fewer"},
    )


class AuditActionForm(forms.Form):
    description = forms.CharField(
        label="What must be done",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=TEXT_MAX,
        error_messages={
            "required": "Enter what must be done",
            "max_length": f"The action must be {TEXT_MAX:,} characters or fewer",
        },
    )
    owner = forms.CharField(
        label="Who will do it",
        help_text="For example, the referrer, or their clinical supervisor by name",
        max_length=200,
        error_messages={
            "required": "Enter who will do it",
            "max_length": "The owner must be 200 characters or fewer",
        },
    )
    due_on = DateField(
        label="Due by",
        help_text="For example, 27 3 2026",
        error_messages={"required": "Enter the date it must be done by"},
    )


class InappropriateReferralForm(forms.Form):
    examination = forms.ChoiceField(
        label="Examination requested",
        error_messages={
            "required": "Select the examination that was requested",
            "invalid_choice": "Select the examination that was requested",
        },
    )
    referred_on = DateField(
        label="Date of the request",
        help_text="For example, 27 3 2026",
        error_messages={"required": "Enter the date of the request"},
    )
    category = forms.ChoiceField(
        label="Why was the referral inappropriate?",
        choices=ReportCategory.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Select why the referral was inappropriate",
            "invalid_choice": "Select why the referral was inappropriate",
        },
    )
    details = forms.CharField(
        label="What happened",
        help_text="Do not include patient identifiers such as the NHS number or name",
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=2000,
        error_messages={
            "required": "Describe what was inappropriate",
            "max_length": "The description must be 2,000 characters or fewer",
        },
    )

    def __init__(self, *args, examinations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.examinations = {str(e.pk): e for e in examinations}
        self.fields["examination"].choices = [("", "Select an examination")] + [
            (str(e.pk), f"{e.name} ({e.code})") for e in examinations
        ]

    def clean_examination(self):
        return self.examinations.get(self.cleaned_data["examination"])


class ReportReviewForm(forms.Form):
    upheld = forms.ChoiceField(
        label="Is the report upheld?",
        choices=[("yes", "Upheld: the referrer sees this feedback"), ("no", "Not upheld")],
        widget=forms.RadioSelect,
        error_messages={
            "required": "Select whether the report is upheld",
            "invalid_choice": "Select whether the report is upheld",
        },
    )
    notes = forms.CharField(
        label="Feedback for the referrer",
        help_text="Needed when the report is upheld. Do not include patient identifiers",
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        max_length=2000,
        error_messages={"max_length": "The feedback must be 2,000 characters or fewer"},
    )

    def clean_upheld(self):
        return self.cleaned_data["upheld"] == "yes"
