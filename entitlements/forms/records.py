"""Forms for an entitlement's life: the referrer notifies a change; a delegate suspends,
reinstates or revokes with a reason.

The forms check what was typed; the services in entitlements.services.lifecycle and
.changes decide whether the change is allowed, and their errors are put back on the form.
"""

from django import forms
from django.core.exceptions import ValidationError

from config.forms import DateField, nhsuk_field

from ..models import ChangeKind, ScopeItem

REASON_MAX = 2000

# What each kind of change does, said on the form before the referrer chooses.
CHANGE_HINTS = {
    ChangeKind.ROLE: "Your entitlement will end: it cannot move with you to a new role or "
    "employer. You can apply again in your new role.",
    ChangeKind.EMPLOYER: "Your entitlement will end: it cannot move with you to a new role or "
    "employer. You can apply again in your new role.",
    ChangeKind.DEPARTMENT: "Your entitlement delegate will be told and will decide whether "
    "anything needs to change",
    ChangeKind.LEAVE: "Your entitlement delegate will be told and will decide whether anything "
    "needs to change",
    ChangeKind.CRITERIA: "Your entitlement will be suspended straight away",
}


def _reason_field(label: str, hint: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        help_text=hint,
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "required": "Enter the reason",
            "max_length": f"The reason must be {REASON_MAX:,} characters or fewer",
        },
    )


class ChangeNotifyForm(forms.Form):
    kind = forms.ChoiceField(
        label="What has changed?",
        choices=ChangeKind.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Select what has changed",
            "invalid_choice": "Select what has changed",
        },
    )
    details = forms.CharField(
        label="Tell us about the change",
        help_text="For example, your new role or employer, or which criteria you no longer meet",
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "required": "Tell us what has changed",
            "max_length": f"Details must be {REASON_MAX:,} characters or fewer",
        },
    )
    effective_on = DateField(
        label="Date of the change",
        help_text="The day it happened or will happen. For example, 15 3 2026",
        error_messages={"required": "Enter the date of the change"},
    )

    def clean_effective_on(self):
        day = self.cleaned_data.get("effective_on")
        if day is None:
            raise ValidationError("Enter the date of the change")
        return day

    def kind_params(self) -> dict:
        """The radios with a hint under each kind saying what it does."""
        params = nhsuk_field(self["kind"], label_size="m")["params"]
        params["items"] = [
            {**item, "hint": {"text": CHANGE_HINTS[item["value"]]}} for item in params["items"]
        ]
        return params


class ReasonForm(forms.Form):
    """Revoke: only a reason."""

    reason = _reason_field(
        "Reason",
        "The referrer sees this reason, and it is recorded on the entitlement's timeline and "
        "in its letter",
    )


WHOLE = "whole"
ITEMS = "items"


class ScopedReasonForm(ReasonForm):
    """Suspend or reinstate: the whole entitlement or some of its scope items, with a reason.

    `whole` says whether the whole entitlement can make the change; `items` are the scope
    items that can. Only what is possible is offered."""

    def __init__(self, *args, whole: bool, items: list[ScopeItem], verb: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.verb = verb
        self.offers_whole = whole
        self.offers_items = bool(items)
        item_choices = [(str(item.pk), item.subject_label) for item in items]
        if whole and items:
            self.fields["what"] = forms.ChoiceField(
                label=f"What do you want to {verb}?",
                choices=[
                    (WHOLE, "The whole entitlement"),
                    (ITEMS, "Only the examinations selected below"),
                ],
                widget=forms.RadioSelect,
                error_messages={
                    "required": f"Select what you want to {verb}",
                    "invalid_choice": f"Select what you want to {verb}",
                },
            )
        if items:
            self.fields["scope_items"] = forms.MultipleChoiceField(
                label=f"Examinations to {verb}",
                choices=item_choices,
                required=False,
                widget=forms.CheckboxSelectMultiple,
                error_messages={
                    "invalid_choice": "Select examinations of this entitlement",
                },
            )
        self.order_fields(["what", "scope_items", "reason"])

    @property
    def offers_anything(self) -> bool:
        return self.offers_whole or self.offers_items

    def clean(self):
        data = super().clean()
        if self.has_error("what") or self.has_error("scope_items"):
            return data
        if not self.offers_anything:
            # Nothing can change now (the page was out of date): the whole entitlement is
            # asked for, and the state machine says why it cannot.
            data["selected_items"] = None
            return data
        what = data.get("what") or (WHOLE if self.offers_whole else ITEMS)
        chosen = data.get("scope_items") or []
        if what == ITEMS and not chosen:
            self.add_error("scope_items", f"Select the examinations to {self.verb}")
        data["selected_items"] = [int(pk) for pk in chosen] if what == ITEMS else None
        return data
