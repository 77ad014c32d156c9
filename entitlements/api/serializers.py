"""What the entitlement check takes (query parameters) and gives (the JSON answer).

The query serializer gives one plain-English message per bad parameter; the answer
serializers describe the response for the OpenAPI schema and shape it from a `CheckAnswer`.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from referrers.ods import normalise_ods_code
from referrers.regulators import Regulator, normalise_registration_number, validate_registration

from ..models import CareSetting
from ..selectors.register import OLDEST_PATIENT_AGE, CheckAnswer, as_of_problem

REGULATORS = ", ".join(Regulator.values[:-1]) + " or " + Regulator.values[-1]
SETTINGS = ", ".join(CareSetting.values[:-1]) + " or " + CareSetting.values[-1]
EXAMINATION_CODE_MAX = 16

REGISTRATION_HELP = (
    "The referrer's regulator and registration number, separated by a colon, "
    "like NMC:71A2998E. Regulators: " + REGULATORS + "."
)
MESSAGES = {
    "registration": {
        "required": "Enter the referrer's registration as REGULATOR:NUMBER, like NMC:71A2998E",
        "blank": "Enter the referrer's registration as REGULATOR:NUMBER, like NMC:71A2998E",
        "max_length": "The registration must be 24 characters or fewer, like NMC:71A2998E",
    },
    "examination": {
        "required": "Enter the examination code from the organisation's catalogue, like XCHES",
        "blank": "Enter the examination code from the organisation's catalogue, like XCHES",
        "max_length": f"The examination code must be {EXAMINATION_CODE_MAX} characters or fewer",
    },
    "employer": {
        "required": "Enter the ODS code of the employer whose register to ask, like RDZ",
        "blank": "Enter the ODS code of the employer whose register to ask, like RDZ",
        "max_length": "Enter an ODS code of 3 to 6 letters or digits, like RDZ",
    },
    "patient_age": dict.fromkeys(
        ("required", "invalid", "null", "min_value", "max_value", "max_string_length"),
        f"Enter the patient's age in whole years, from 0 to {OLDEST_PATIENT_AGE}",
    ),
    "setting": dict.fromkeys(
        ("required", "invalid_choice", "blank", "null"), f"Enter the care setting: {SETTINGS}"
    ),
    "as_of": dict.fromkeys(
        ("invalid", "datetime"), "Enter the date as YYYY-MM-DD, like 2026-03-02"
    ),
}


class EntitlementCheckQuery(serializers.Serializer):
    registration = serializers.CharField(
        max_length=24, help_text=REGISTRATION_HELP, error_messages=MESSAGES["registration"]
    )
    examination = serializers.CharField(
        max_length=EXAMINATION_CODE_MAX,
        help_text="The examination code in the employer's catalogue, like XCHES.",
        error_messages=MESSAGES["examination"],
    )
    employer = serializers.CharField(
        max_length=6,
        help_text="The ODS code of the employer whose register to ask: the client's own.",
        error_messages=MESSAGES["employer"],
    )
    patient_age = serializers.IntegerField(
        min_value=0,
        max_value=OLDEST_PATIENT_AGE,
        help_text="The patient's age in whole years (0 for under one).",
        error_messages=MESSAGES["patient_age"],
    )
    setting = serializers.ChoiceField(
        choices=CareSetting.choices,
        help_text="Where the request is made from.",
        error_messages=MESSAGES["setting"],
    )
    as_of = serializers.DateField(
        required=False,
        input_formats=["iso-8601"],
        help_text="Answer as the register stood at the end of this day (today or earlier).",
        error_messages=MESSAGES["as_of"],
    )

    def to_internal_value(self, data):
        # Setting codes are compared in capitals; accept what a system sends in any case.
        data = data.copy()
        if isinstance(data.get("setting"), str):
            data["setting"] = data["setting"].strip().upper()
        return super().to_internal_value(data)

    def validate_registration(self, value: str) -> dict:
        regulator, colon, number = value.partition(":")
        regulator = regulator.strip()
        match = next((r for r in Regulator.values if r.lower() == regulator.lower()), None)
        if not colon or match is None:
            raise serializers.ValidationError(
                f"Enter the registration as REGULATOR:NUMBER, like NMC:71A2998E, "
                f"where the regulator is {REGULATORS}"
            )
        try:
            number = validate_registration(match, normalise_registration_number(number))
        except DjangoValidationError as error:
            raise serializers.ValidationError(next(iter(error.message_dict.values()))[0]) from None
        return {"regulator": match, "registration_number": number}

    def validate_examination(self, value: str) -> str:
        code = value.strip().upper()
        if not code or any(ch.isspace() for ch in code):
            raise serializers.ValidationError(
                "Enter the examination code without spaces, like XCHES"
            )
        return code

    def validate_employer(self, value: str) -> str:
        code = normalise_ods_code(value)
        if not (3 <= len(code) <= 6 and code.isalnum() and code.isascii()):
            raise serializers.ValidationError(MESSAGES["employer"]["max_length"])
        return code

    def validate_as_of(self, value):
        problem = as_of_problem(value)
        if problem:
            raise serializers.ValidationError(
                f"{problem}: the register cannot answer for a future date"
            )
        return value


QUESTION_FIELDS = ("registration", "examination", "employer", "patient_age", "setting")
SETTING_VALUES = frozenset(CareSetting.values)
REGULATOR_VALUES = tuple(Regulator.values)


def _plain_text(value, max_length: int) -> str | None:
    """What DRF's CharField makes of `value` (stripped), or None where it would say more
    than "fine": not text, blank, too long, or a NUL or surrogate character."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > max_length or "\x00" in value:
        return None
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        return None
    return value


def quick_validated(params) -> dict | None:
    """`EntitlementCheckQuery(data=params).validated_data` for a plainly valid question
    without an `as_of`, in a fraction of the serializer's time (it deep-copies its fields on
    every request); None for anything else, which the serializer then decides (and words
    the errors for). A test holds the two to the same result."""
    if params.get("as_of") is not None:
        return None
    values = {}
    for name in QUESTION_FIELDS:
        value = params.get(name)
        if value is None:
            return None
        values[name] = value
    registration = _plain_text(values["registration"], 24)
    examination = _plain_text(values["examination"], EXAMINATION_CODE_MAX)
    employer = _plain_text(values["employer"], 6)
    age = values["patient_age"]
    setting = values["setting"]
    if registration is None or examination is None or employer is None:
        return None
    regulator, colon, number = registration.partition(":")
    regulator = regulator.strip()
    match = next((r for r in REGULATOR_VALUES if r.lower() == regulator.lower()), None)
    if not colon or match is None:
        return None
    try:
        number = validate_registration(match, normalise_registration_number(number))
    except DjangoValidationError:
        return None
    code = examination.upper()
    if any(ch.isspace() for ch in code):
        return None
    employer = normalise_ods_code(employer)
    if not (3 <= len(employer) <= 6 and employer.isalnum() and employer.isascii()):
        return None
    if not (isinstance(age, str) and age.isascii() and age.isdigit() and len(age) <= 3):
        return None
    age = int(age)
    if age > OLDEST_PATIENT_AGE:
        return None
    if not isinstance(setting, str) or setting.strip().upper() not in SETTING_VALUES:
        return None
    return {
        "registration": {"regulator": match, "registration_number": number},
        "examination": code,
        "employer": employer,
        "patient_age": age,
        "setting": setting.strip().upper(),
    }


def first_messages(errors: dict) -> dict[str, str]:
    """One message per parameter."""
    flat = {}
    for name, messages in errors.items():
        while isinstance(messages, list | dict):
            messages = messages[0] if isinstance(messages, list) else next(iter(messages.values()))
        flat[name] = str(messages)
    return flat


# --- The answer ---------------------------------------------------------------------------------


class ExaminationAnswer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    modality = serializers.CharField()


class ReferrerAnswer(serializers.Serializer):
    name = serializers.CharField()
    profession = serializers.CharField()
    registration = serializers.CharField(help_text="REGULATOR:NUMBER")


class EntitlementAnswer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField(help_text="Like ENT-000012.")
    state = serializers.ChoiceField(
        choices=["active", "suspended", "revoked", "expired", "superseded"]
    )
    review_due_on = serializers.DateField()
    decided_by = serializers.CharField(allow_blank=True, help_text="The delegate who granted it.")
    procedure_version = serializers.CharField(allow_blank=True, help_text="Like RDZ procedure v1.")
    letter_code = serializers.CharField(
        allow_blank=True, help_text="Verification code of the letter current then ('' if none)."
    )


class ConditionsAnswer(serializers.Serializer):
    age_min = serializers.IntegerField()
    age_max = serializers.IntegerField(allow_null=True)
    settings = serializers.ListField(child=serializers.CharField())
    clinical_indications = serializers.CharField(allow_blank=True)
    exclusions = serializers.CharField(allow_blank=True)


class ScopeItemAnswer(serializers.Serializer):
    id = serializers.IntegerField()
    subject = serializers.CharField(help_text="The examination, or the group that holds it.")
    state = serializers.ChoiceField(choices=["active", "suspended"])
    conditions = ConditionsAnswer()


class EntitlementCheckAnswer(serializers.Serializer):
    entitled = serializers.BooleanField(
        help_text="True only when the referrer may request this examination now (or on as_of)."
    )
    reasons = serializers.ListField(
        child=serializers.CharField(), help_text="Why, in plain sentences."
    )
    registration = serializers.CharField(help_text="As understood: REGULATOR:NUMBER.")
    examination_code = serializers.CharField()
    employer = serializers.CharField()
    patient_age = serializers.IntegerField()
    setting = serializers.CharField()
    as_of = serializers.DateField(allow_null=True)
    referrer = ReferrerAnswer(allow_null=True)
    examination = ExaminationAnswer(allow_null=True)
    entitlement = EntitlementAnswer(allow_null=True)
    scope_item = ScopeItemAnswer(allow_null=True)
    checked_at = serializers.DateTimeField()


class ErrorAnswer(serializers.Serializer):
    entitled = serializers.BooleanField(help_text="Always false.")
    message = serializers.CharField()


class InvalidParametersAnswer(ErrorAnswer):
    errors = serializers.DictField(
        child=serializers.CharField(), help_text="One message per bad parameter."
    )


def check_answer_data(answer: CheckAnswer, *, query: dict) -> dict:
    """The JSON answer for `answer` to the question in `query` (validated parameters)."""
    referrer = answer.referrer
    examination = answer.examination
    entitlement = answer.entitlement
    item = answer.scope_item
    conditions = answer.conditions or {}
    return {
        "entitled": bool(answer.entitled),
        "reasons": list(answer.reasons),
        "registration": f"{query['registration']['regulator']}:"
        f"{query['registration']['registration_number']}",
        "examination_code": query["examination"],
        "employer": query["employer"],
        "patient_age": query["patient_age"],
        "setting": query["setting"],
        "as_of": answer.as_of,
        "referrer": {
            "name": referrer.user.full_name,
            "profession": referrer.profession,
            "registration": referrer.registration,
        }
        if referrer is not None
        else None,
        "examination": {
            "code": examination.code,
            "name": examination.name,
            "modality": examination.modality,
        }
        if examination is not None
        else None,
        "entitlement": {
            "id": entitlement.pk,
            "reference": entitlement.reference,
            "state": entitlement.state,
            "review_due_on": entitlement.review_due_on,
            "decided_by": answer.decided_by,
            "procedure_version": answer.procedure_version,
            "letter_code": answer.letter_code,
        }
        if entitlement is not None
        else None,
        "scope_item": {
            "id": item.pk,
            "subject": conditions.get("subject", ""),
            "state": item.state,
            "conditions": {
                "age_min": conditions.get("age_min", item.age_min),
                "age_max": conditions.get("age_max", item.age_max),
                "settings": list(conditions.get("settings", item.settings)),
                "clinical_indications": conditions.get(
                    "clinical_indications", item.clinical_indications
                ),
                "exclusions": conditions.get("exclusions", item.exclusions),
            },
        }
        if item is not None
        else None,
        "checked_at": answer.checked_at,
    }
