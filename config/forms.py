"""Django forms rendered with the NHS.UK frontend components.

`nhsuk_field(bound_field)` turns a bound field into the component name and the parameters
its nhsuk-frontend-jinja macro takes; `templates/macros/forms.jinja` calls the macro. The
date field is the NHS pattern of three boxes (day, month, year).
"""

import datetime

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.forms.boundfield import BoundField


class DateWidget(forms.MultiWidget):
    template_name = ""  # rendered by the nhsuk dateInput macro

    def __init__(self, attrs=None):
        super().__init__(
            widgets={
                "day": forms.TextInput(attrs={"inputmode": "numeric"}),
                "month": forms.TextInput(attrs={"inputmode": "numeric"}),
                "year": forms.TextInput(attrs={"inputmode": "numeric"}),
            },
            attrs=attrs,
        )

    def decompress(self, value):
        if isinstance(value, datetime.date):
            return [value.day, value.month, value.year]
        return [None, None, None]


class DateField(forms.MultiValueField):
    """A date entered as day, month and year, with errors in plain English."""

    widget = DateWidget

    def __init__(self, **kwargs):
        error_messages = {
            "incomplete": "Enter a full date, including day, month and year",
            **kwargs.pop("error_messages", {}),
        }
        fields = (
            forms.IntegerField(error_messages={"invalid": "Enter the day as a number"}),
            forms.IntegerField(error_messages={"invalid": "Enter the month as a number"}),
            forms.IntegerField(error_messages={"invalid": "Enter the year as a number"}),
        )
        kwargs.setdefault("require_all_fields", False)
        super().__init__(fields=fields, error_messages=error_messages, **kwargs)

    def compress(self, data_list):
        if not data_list or all(v in (None, "") for v in data_list):
            return None
        if any(v in (None, "") for v in data_list):
            raise forms.ValidationError(self.error_messages["incomplete"], code="incomplete")
        day, month, year = data_list
        if not 1900 <= year <= 2200:
            raise forms.ValidationError("Enter a real year, like 2026", code="invalid")
        try:
            return datetime.date(year, month, day)
        except (ValueError, OverflowError):
            # OverflowError: a day or month too large for a C integer (found by hypothesis).
            raise forms.ValidationError("Enter a real date", code="invalid") from None


def _error(bf: BoundField):
    return {"text": " ".join(str(e) for e in bf.errors)} if bf.errors else None


def _choices(bf: BoundField):
    return [(str(value), str(label)) for value, label in bf.field.choices]


def nhsuk_field(
    bf: BoundField,
    *,
    label_size: str = "s",
    hint: str | None = None,
    width: int | None = None,
    page_heading: bool = False,
) -> dict:
    """The component and parameters that render `bf` with nhsuk-frontend."""
    widget = bf.field.widget
    label = {"text": str(bf.label), "size": label_size, "isPageHeading": page_heading}
    hint_text = hint if hint is not None else (str(bf.help_text) if bf.help_text else None)
    common = {
        "id": bf.id_for_label or bf.html_name,
        "name": bf.html_name,
        "errorMessage": _error(bf),
        "hint": {"text": hint_text} if hint_text else None,
    }
    value = bf.value()

    if isinstance(widget, DateWidget):
        day, month, year = value if isinstance(value, list | tuple) else widget.decompress(value)
        items = [
            {
                "id": f"{bf.auto_id}-{part}",
                "name": f"{bf.html_name}_{part}",
                "label": part.title(),
                "value": "" if v is None else str(v),
                "width": 4 if part == "year" else 2,
                "classes": "nhsuk-input--error" if bf.errors else "",
            }
            for part, v in (("day", day), ("month", month), ("year", year))
        ]
        return {
            "component": "dateInput",
            "params": {
                **common,
                "id": bf.auto_id,
                "items": items,
                "fieldset": {
                    "legend": {
                        "text": str(bf.label),
                        "size": label_size,
                        "isPageHeading": page_heading,
                    }
                },
            },
        }
    # CheckboxSelectMultiple is a subclass of RadioSelect: it must not render as radios.
    if isinstance(widget, forms.RadioSelect) and not isinstance(
        widget, forms.CheckboxSelectMultiple
    ):
        items = [{"value": v, "text": t, "checked": v == str(value)} for v, t in _choices(bf)]
        return {
            "component": "radios",
            "params": {
                **common,
                "idPrefix": bf.auto_id,
                "items": items,
                "fieldset": {
                    "legend": {
                        "text": str(bf.label),
                        "size": label_size,
                        "isPageHeading": page_heading,
                    }
                },
            },
        }
    if isinstance(widget, forms.CheckboxSelectMultiple):
        selected = {str(v) for v in (value or [])}
        items = [{"value": v, "text": t, "checked": v in selected} for v, t in _choices(bf)]
        return {
            "component": "checkboxes",
            "params": {
                **common,
                "idPrefix": bf.auto_id,
                "items": items,
                "fieldset": {"legend": {"text": str(bf.label), "size": label_size}},
            },
        }
    if isinstance(widget, forms.CheckboxInput):
        return {
            "component": "checkboxes",
            "params": {
                # The one checkbox takes the field's id (error summary links go to it); the
                # wrapper gets none, or the page would hold the same id twice.
                **{k: v for k, v in common.items() if k != "id"},
                "idPrefix": bf.auto_id,
                "items": [
                    {
                        "value": "on",
                        "text": str(bf.label),
                        "checked": bool(value),
                        "hint": {"text": hint_text} if hint_text else None,
                    }
                ],
                "hint": None,
            },
        }
    if isinstance(widget, forms.Select):
        items = [
            {"value": v, "text": t, "selected": v == str(value if value is not None else "")}
            for v, t in _choices(bf)
        ]
        return {"component": "select", "params": {**common, "label": label, "items": items}}
    if isinstance(widget, forms.Textarea):
        return {
            "component": "textarea",
            "params": {
                **common,
                "label": label,
                "value": value or "",
                "rows": widget.attrs.get("rows", 5),
            },
        }
    if isinstance(widget, forms.ClearableFileInput | forms.FileInput):
        return {"component": "fileUpload", "params": {**common, "label": label}}
    input_type = getattr(widget, "input_type", "text")
    params = {
        **common,
        "label": label,
        "type": input_type,
        "value": "" if value is None or input_type == "password" else str(value),
    }
    if isinstance(widget, forms.NumberInput):
        params.update(type="text", inputmode="numeric")
    if width:
        params["width"] = width
    if input_type == "email":
        params["autocomplete"] = "email"
        params["spellcheck"] = False
    return {"component": "input", "params": params}


def error_summary_items(form: forms.Form) -> list[dict]:
    """Links from the NHS error summary to each field in error, in field order."""
    items = []
    for error in form.non_field_errors():
        items.append({"text": str(error), "href": "#main-content-errors"})
    for bf in form:
        if bf.errors:
            target = bf.auto_id
            if isinstance(bf.field.widget, DateWidget):
                target = f"{bf.auto_id}-day"
            elif isinstance(
                bf.field.widget,
                forms.RadioSelect | forms.CheckboxSelectMultiple | forms.CheckboxInput,
            ):
                target = f"{bf.auto_id}"
            items.append({"text": " ".join(str(e) for e in bf.errors), "href": f"#{target}"})
    return items


def apply_validation_error(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: on its field when the form has it,
    otherwise above the fields."""
    if not hasattr(error, "error_dict"):
        for message in error.messages:
            form.add_error(None, message)
        return
    for name, messages in error.message_dict.items():
        target = name if name in form.fields and name != NON_FIELD_ERRORS else None
        for message in messages:
            form.add_error(target, message)
