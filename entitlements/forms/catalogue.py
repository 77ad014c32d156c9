"""Forms for the examination catalogue and the written procedures.

Forms check what a person typed, with messages on the field at fault; the services check
again and have the last word (their ValidationErrors are put back on the form by
`referrers.views.mixins.ServiceFormMixin`).
"""

import datetime
import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils import dateformat, timezone

from config.forms import DateField
from referrers.models import Organisation

from .. import selectors
from ..csv_import import MAX_FILE_BYTES, ImportProblem, ParsedCatalogue, read_catalogue_upload
from ..modalities import Modality
from ..models import ProcedureVersion, TrainingKind
from ..models.catalogue import Examination, examination_flag_errors
from ..models.procedures import (
    AuditOverdueAction,
    FeedbackAction,
    LapseAction,
    RenewalAction,
    RequirementTrigger,
    ReviewOverdueAction,
    procedure_rule_errors,
)
from ..services import PROCEDURE_RULE_FIELDS, TrainingRuleData


def _text(label: str, *, max_length: int, required: bool = True, **kwargs) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        error_messages={
            "required": f"Enter the {label.lower()}",
            "max_length": f"{label} must be {max_length} characters or fewer",
        },
        **kwargs,
    )


def _number(label: str, *, required: bool = True, what: str = "", **kwargs) -> forms.IntegerField:
    what = what or label[0].lower() + label[1:]
    return forms.IntegerField(
        label=label,
        required=required,
        min_value=0,
        error_messages={
            "required": f"Enter {what}",
            "invalid": f"Enter {what} as a whole number, like 12",
            "min_value": f"Enter {what} as 0 or more",
        },
        **kwargs,
    )


def _radios(label: str, choices, what: str) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        choices=choices,
        widget=forms.RadioSelect,
        error_messages={"required": f"Select {what}", "invalid_choice": f"Select {what}"},
    )


# --- Examination catalogue ----------------------------------------------------------------


class ExaminationForm(forms.Form):
    code = _text(
        "Code",
        max_length=Examination._meta.get_field("code").max_length,
        help_text="The NICIP code where there is one, for example CCHAPC",
    )
    name = _text("Name", max_length=200, help_text="For example, CT chest, abdomen and pelvis")
    modality = forms.ChoiceField(
        label="Modality",
        choices=[("", "Select a modality"), *Modality.choices],
        error_messages={"required": "Select a modality", "invalid_choice": "Select a modality"},
    )
    body_area = _text("Body area", max_length=100, help_text="For example, chest or left knee")
    ionising = forms.BooleanField(
        label="Uses ionising radiation",
        required=False,
        help_text="Every X-ray, CT, nuclear medicine, fluoroscopy, DEXA and mammography "
        "examination uses ionising radiation",
    )
    contrast = forms.BooleanField(label="Contrast may be given", required=False)
    mri = forms.BooleanField(
        label="Magnetic resonance (MRI safety applies)",
        required=False,
        help_text="Every MR examination, and only MR examinations",
    )
    is_active = forms.BooleanField(
        label="Offered for new applications",
        required=False,
        help_text="Untick to stop referrers applying for it. Existing entitlements keep it.",
    )

    def __init__(self, *args, organisation: Organisation, examination=None, **kwargs):
        if examination is not None:
            kwargs.setdefault(
                "initial",
                {f: getattr(examination, f) for f in self.base_fields},
            )
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        self.examination = examination
        if examination is None:
            del self.fields["is_active"]

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip().upper()
        exclude = self.examination.pk if self.examination else None
        if selectors.examination_code_taken(self.organisation, code, exclude_pk=exclude):
            raise ValidationError(f"Code {code} is already used in this catalogue")
        return code

    def clean(self):
        data = super().clean()
        modality = data.get("modality")
        if modality:
            flag_errors = examination_flag_errors(
                modality, data.get("ionising", False), data.get("mri", False)
            )
            for name, message in flag_errors.items():
                self.add_error(name, message)
        return data


class CatalogueImportForm(forms.Form):
    file = forms.FileField(
        label="Upload a CSV file",
        help_text=f"UTF-8 CSV, smaller than {MAX_FILE_BYTES // (1024 * 1024)} MB",
        error_messages={
            "required": "Select a CSV file",
            "empty": "The file is empty",
            "invalid": "Select a CSV file",
        },
    )

    parsed: ParsedCatalogue | None = None

    @property
    def problems(self) -> list[ImportProblem]:
        return self.parsed.problems if self.parsed else []

    def clean_file(self):
        upload = self.cleaned_data["file"]
        self.parsed = read_catalogue_upload(upload)
        problems = self.parsed.problems
        if problems:
            lines = {p.line for p in problems if p.line is not None}
            if len(problems) == 1 and problems[0].line in (None, 1):
                raise ValidationError(f"{problems[0].message}. Nothing has been imported")
            raise ValidationError(
                f"The file has {len(problems)} problem{'s' if len(problems) > 1 else ''} "
                f"on {len(lines)} line{'s' if len(lines) != 1 else ''}. Nothing has been "
                f"imported: correct the file and upload it again"
            )
        return upload


# --- Written procedures -------------------------------------------------------------------

DEFAULT_REQUIRED_FOR = {
    TrainingKind.RADIATION_PROTECTION: RequirementTrigger.IONISING,
    TrainingKind.CONTRAST_SAFETY: RequirementTrigger.CONTRAST,
    TrainingKind.MRI_SAFETY: RequirementTrigger.MRI,
    TrainingKind.REFERRAL_GUIDELINES: RequirementTrigger.ALL,
}
LEAD_DAYS = re.compile(r"\d+")


def parse_lead_days(text: str) -> list[int]:
    """'60, 30, 7' -> [60, 30, 7]. Raises ValidationError for anything else."""
    parts = [p.strip() for p in re.split(r"[,;\s]+", text.strip()) if p.strip()]
    if not parts:
        raise ValidationError(
            "Enter at least one warning lead time, so no training lapses without a warning"
        )
    if not all(LEAD_DAYS.fullmatch(p) for p in parts):
        raise ValidationError(
            "Enter warning lead times as whole numbers of days separated by commas, like 60, 30, 7"
        )
    return sorted((int(p) for p in parts), reverse=True)


def training_field_names(kind: str) -> tuple[str, str]:
    return f"{kind}_required_for", f"{kind}_validity_months"


class ProcedureVersionForm(forms.Form):
    """Every rule of a procedure version, and the four kinds of training it may require."""

    procedure_title = _text(
        "Procedure title",
        max_length=200,
        help_text="The title of your written procedure for entitling referrers, for example "
        "Non-medical referrer entitlement procedure",
    )
    document_reference = _text(
        "Document reference",
        max_length=200,
        help_text="The reference and version of the approved document, for example "
        "RAD-POL-012 version 4",
    )
    effective_from = DateField(
        label="Start date",
        help_text="The first day this version is in force. For example, 1 4 2026",
        error_messages={"required": "Enter the start date"},
    )
    warning_lead_days = forms.CharField(
        label="Warn before training expires (days)",
        help_text="How many days before a training record expires to warn the referrer and "
        "their supervisor. Separate several with commas, for example 60, 30, 7",
        error_messages={"required": "Enter at least one warning lead time"},
    )
    lapse_action = _radios(
        "When required training lapses", LapseAction.choices, "what happens when training lapses"
    )
    grace_days = _number(
        "Grace period (days)",
        required=False,
        what="the grace period",
        help_text="How long an entitlement stays suspended for lapsed training before it is "
        "revoked. Leave empty to never revoke automatically",
    )
    renewal_action = _radios(
        "When lapsed training is renewed",
        RenewalAction.choices,
        "what happens when lapsed training is renewed",
    )
    review_interval_months = _number(
        "Review interval (months)",
        what="the review interval",
        help_text="How often each entitlement must be reviewed, between 1 and 60 months",
    )
    review_overdue_action = _radios(
        "When a review is overdue",
        ReviewOverdueAction.choices,
        "what happens when a review is overdue",
    )
    audit_frequency_months = _number(
        "Audit frequency (months)",
        what="the audit frequency",
        help_text="How often each referrer audits their requests, between 1 and 60 months",
    )
    audit_minimum_sample = _number(
        "Minimum audit sample (requests)",
        what="the minimum audit sample",
        help_text="The fewest requests an audit may look at",
    )
    audit_compliance_standard_percent = _number(
        "Compliance standard (%)",
        what="the compliance standard",
        help_text="The share of audited requests that must be appropriate, between 1 and 100",
    )
    audit_overdue_action = _radios(
        "When an audit is overdue",
        AuditOverdueAction.choices,
        "what happens when an audit is overdue",
    )
    audit_overdue_suspend_after_days = _number(
        "Suspend after (days overdue)",
        required=False,
        what="the days after the due date",
        help_text="Needed when an overdue audit leads to suspension",
    )
    feedback_threshold_count = _number(
        "Inappropriate-referral threshold (upheld reports)",
        what="the threshold",
        help_text="How many upheld inappropriate-referral reports trigger the action below",
    )
    feedback_window_months = _number(
        "Counted over (months)",
        what="the months reports are counted over",
        help_text="Between 1 and 36 months",
    )
    feedback_action = _radios(
        "When the threshold is reached", FeedbackAction.choices, "what happens at the threshold"
    )
    cpd_hours_per_year = _number(
        "CPD hours a year",
        required=False,
        what="the CPD hours",
        help_text="Continuing professional development each referrer needs. Leave empty if "
        "the procedure sets none",
    )

    def __init__(
        self,
        *args,
        organisation: Organisation,
        needs_title: bool,
        version: ProcedureVersion | None = None,
        today: datetime.date | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        self.version = version
        self.today = today or timezone.localdate()
        if not needs_title:
            del self.fields["procedure_title"]
        for kind in TrainingKind:
            required_for, validity = training_field_names(kind)
            self.fields[required_for] = forms.ChoiceField(
                label="Needed for",
                choices=[("", "Not required"), *RequirementTrigger.choices],
                required=False,
            )
            self.fields[validity] = _number(
                "Valid for (months)",
                required=False,
                what=f"how many months {kind.label} stays valid",
                help_text="Between 1 and 120 months",
            )
        # The order the page shows them in, so the error summary follows the page.
        training = [name for kind in TrainingKind for name in training_field_names(kind)]
        first = ["procedure_title", "document_reference", "effective_from"]
        then = ["warning_lead_days", "lapse_action", "grace_days", "renewal_action"]
        self.order_fields([*first, *training, *then, "cpd_hours_per_year"])

    @property
    def training_kinds(self) -> list[tuple[TrainingKind, forms.BoundField, forms.BoundField]]:
        """Each training kind with its two fields, for the template's fieldsets."""
        return [
            (kind, *(self[name] for name in training_field_names(kind))) for kind in TrainingKind
        ]

    def clean_warning_lead_days(self) -> list[int]:
        return parse_lead_days(self.cleaned_data["warning_lead_days"])

    def clean_effective_from(self) -> datetime.date:
        day = self.cleaned_data["effective_from"]
        if day is None:
            raise ValidationError("Enter the start date")
        if day < self.today:
            raise ValidationError(
                "The start date must be today or in the future, so what was in force on days "
                "already gone never changes"
            )
        latest = selectors.latest_published_procedure_version(self.organisation)
        if latest is not None and day <= latest.effective_from:
            raise ValidationError(
                f"The start date must be after {dateformat.format(latest.effective_from, 'j F Y')}"
                f", when version {latest.number} starts"
            )
        return day

    def clean(self):
        data = super().clean()
        for kind in TrainingKind:
            required_for, validity = training_field_names(kind)
            if self.has_error(required_for) or self.has_error(validity):
                continue
            if data.get(required_for) and data.get(validity) is None:
                self.add_error(
                    validity, f"Enter how many months {kind.label} stays valid, between 1 and 120"
                )
            elif data.get(validity) is not None and not data.get(required_for):
                self.add_error(
                    required_for,
                    f"Select which scopes need {kind.label}, or leave its validity empty",
                )
            elif data.get(validity) is not None and not 1 <= data[validity] <= 120:
                self.add_error(validity, f"{kind.label} must stay valid for 1 to 120 months")
        # The rules that only make sense together, each on the field it concerns.
        candidate = ProcedureVersion(
            **{name: data.get(name) for name in PROCEDURE_RULE_FIELDS if name in data}
        )
        if candidate.warning_lead_days is None:
            candidate.warning_lead_days = []
        for name, message in procedure_rule_errors(candidate).items():
            if name in self.fields and not self.has_error(name):
                self.add_error(name, message)
        return data

    def rules(self) -> dict:
        return {name: self.cleaned_data[name] for name in PROCEDURE_RULE_FIELDS}

    def training_rules(self) -> list[TrainingRuleData]:
        rules = []
        for kind in TrainingKind:
            required_for, validity = training_field_names(kind)
            if self.cleaned_data.get(required_for):
                rules.append(
                    TrainingRuleData(
                        training_kind=kind.value,
                        required_for=self.cleaned_data[required_for],
                        validity_months=self.cleaned_data[validity],
                    )
                )
        return rules


def procedure_version_initial(version: ProcedureVersion | None, *, copy: bool) -> dict:
    """What the form starts with: `version`'s rules (without its date and reference when
    `copy`ing it into a new draft), or the model's defaults when there is none."""
    initial: dict = {}
    if version is None:
        for name in PROCEDURE_RULE_FIELDS:
            field = ProcedureVersion._meta.get_field(name)
            if field.has_default() and name != "warning_lead_days":
                initial[name] = field.get_default()
        for kind, trigger in DEFAULT_REQUIRED_FOR.items():
            initial[training_field_names(kind)[0]] = trigger.value
        return initial
    for name in PROCEDURE_RULE_FIELDS:
        initial[name] = getattr(version, name)
    initial["warning_lead_days"] = ", ".join(str(d) for d in version.warning_lead_days)
    if copy:
        del initial["effective_from"], initial["document_reference"]
    for rule in version.training_rules.all():
        required_for, validity = training_field_names(rule.training_kind)
        initial[required_for] = rule.required_for
        initial[validity] = rule.validity_months
    return initial
