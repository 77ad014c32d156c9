"""Forms for the clinical supervisor's endorsement and the delegate's decision (principle 1).

The forms check what was typed; `services.application_endorse` and
`services.application_decide` check again (authority, status, that a narrower grant is not
wider than asked for) and their ValidationErrors are shown on these fields. The narrower
grant's fields are named `item-<id>-<field>`, the keys the service uses for its errors.
"""

from django import forms

from ..models import ApplicationScopeItem, DecisionOutcome, EndorsementOutcome
from ..models.scope import CareSetting
from ..services import ItemDecision
from ..services.applications import MAX_AGE


def _rationale(label: str, *, help_text: str = "", required_message: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        help_text=help_text,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={
            "required": required_message,
            "max_length": f"{label} must be 5,000 characters or fewer",
        },
    )


class EndorsementForm(forms.Form):
    outcome = forms.ChoiceField(
        label="Do you endorse this application?",
        choices=[
            (
                EndorsementOutcome.ENDORSED.value,
                "Yes, I endorse the service need and supervision arrangements",
            ),
            (EndorsementOutcome.DECLINED.value, "No"),
        ],
        widget=forms.RadioSelect,
        error_messages={
            "required": "Select whether you endorse the application",
            "invalid_choice": "Select whether you endorse the application",
        },
    )
    comment = forms.CharField(
        label="Comment",
        required=False,
        max_length=5000,
        help_text="Required if you do not endorse it: the referrer will see this.",
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"max_length": "Comment must be 5,000 characters or fewer"},
    )

    def clean(self):
        data = super().clean()
        if data.get("outcome") == EndorsementOutcome.DECLINED and not data.get("comment", ""):
            self.add_error("comment", "Say why you cannot endorse it")
        return data


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(
        label="Your decision",
        choices=[
            (DecisionOutcome.GRANTED.value, "Grant as requested"),
            (DecisionOutcome.GRANTED_NARROWER.value, "Grant a narrower scope"),
            (DecisionOutcome.DECLINED.value, "Decline"),
            (DecisionOutcome.RETURNED.value, "Return for more information"),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Select a decision", "invalid_choice": "Select a decision"},
    )
    rationale = _rationale(
        "Rationale",
        help_text="Why you made this decision. It is kept with the decision and the referrer "
        "sees it.",
        required_message="Enter the rationale for your decision",
    )


def _age(label: str) -> forms.CharField:
    # A CharField, parsed in NarrowScopeForm.clean, so a removed item's boxes are never checked.
    return forms.CharField(label=label, required=False, widget=forms.NumberInput)


class NarrowScopeForm(forms.Form):
    """Per requested item: keep it or not, and its (possibly tightened) conditions."""

    narrowing_reasons = _rationale(
        "Reasons for narrowing the scope",
        help_text="What was removed or tightened, and why.",
        required_message="Say why the scope granted is narrower",
    )
    rationale = _rationale(
        "Rationale",
        help_text="Why you made this decision. It is kept with the decision and the referrer "
        "sees it.",
        required_message="Enter the rationale for your decision",
    )

    def __init__(self, *args, items: list[ApplicationScopeItem], **kwargs):
        super().__init__(*args, **kwargs)
        self.items = items
        fields = {}
        for item in items:
            prefix = f"item-{item.pk}-"
            fields[prefix + "include"] = forms.BooleanField(
                label="Grant this item", required=False, initial=True
            )
            fields[prefix + "age_min"] = _age("Youngest patient age (years)")
            fields[prefix + "age_max"] = _age("Oldest patient age (years)")
            fields[prefix + "settings"] = forms.MultipleChoiceField(
                label="Settings",
                choices=CareSetting.choices,
                required=False,
                widget=forms.CheckboxSelectMultiple,
                error_messages={"invalid_choice": "Select settings from the list"},
            )
            fields[prefix + "clinical_indications"] = forms.CharField(
                label="Clinical indications",
                required=False,
                widget=forms.Textarea(attrs={"rows": 3}),
            )
            fields[prefix + "exclusions"] = forms.CharField(
                label="Exclusions", required=False, widget=forms.Textarea(attrs={"rows": 3})
            )
            for name, value in {
                "age_min": item.age_min,
                "age_max": "" if item.age_max is None else item.age_max,
                "settings": list(item.settings),
                "clinical_indications": item.clinical_indications,
                "exclusions": item.exclusions,
            }.items():
                fields[prefix + name].initial = value
        # The rationale and reasons come last, after the items.
        self.fields = {
            **fields,
            "narrowing_reasons": self.fields["narrowing_reasons"],
            "rationale": self.fields["rationale"],
        }

    def item_rows(self) -> list[dict]:
        """Each requested item with its bound fields, for the template."""
        return [
            {
                "item": item,
                **{
                    name: self[f"item-{item.pk}-{name}"]
                    for name in (
                        "include",
                        "age_min",
                        "age_max",
                        "settings",
                        "clinical_indications",
                        "exclusions",
                    )
                },
            }
            for item in self.items
        ]

    def _age_value(self, name: str, what: str, *, blank):
        raw = (self.cleaned_data.get(name) or "").strip()
        if not raw:
            return blank
        if not raw.isdigit() or int(raw) > MAX_AGE:
            self.add_error(name, f"Enter the {what} age as a whole number from 0 to {MAX_AGE}")
            return blank
        return int(raw)

    def clean(self):
        data = super().clean()
        decisions = []
        for item in self.items:
            prefix = f"item-{item.pk}-"
            if not data.get(prefix + "include"):
                decisions.append(ItemDecision(item_id=item.pk, include=False))
                continue
            decisions.append(
                ItemDecision(
                    item_id=item.pk,
                    include=True,
                    age_min=self._age_value(prefix + "age_min", "youngest", blank=0),
                    age_max=self._age_value(prefix + "age_max", "oldest", blank=None),
                    settings=tuple(data.get(prefix + "settings") or ()),
                    clinical_indications=data.get(prefix + "clinical_indications", ""),
                    exclusions=data.get(prefix + "exclusions", ""),
                )
            )
        self.item_decisions = decisions
        return data
