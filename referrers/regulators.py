"""Professional regulators, their registration number formats and the professions they cover.

Only registered professionals may be entitled to refer (IR(ME)R 2017 reg. 2 and the 2025
guidance): support workers and assistant practitioners are not registered and never refer.
"""

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import models


class Regulator(models.TextChoices):
    HCPC = "HCPC", "Health and Care Professions Council (HCPC)"
    NMC = "NMC", "Nursing and Midwifery Council (NMC)"
    GPHC = "GPhC", "General Pharmaceutical Council (GPhC)"
    GMC = "GMC", "General Medical Council (GMC)"
    GDC = "GDC", "General Dental Council (GDC)"
    GOSC = "GOsC", "General Osteopathic Council (GOsC)"
    GCC = "GCC", "General Chiropractic Council (GCC)"


class Profession(models.TextChoices):
    NURSE = "nurse", "Nurse"
    MIDWIFE = "midwife", "Midwife"
    PHYSIOTHERAPIST = "physiotherapist", "Physiotherapist"
    RADIOGRAPHER = "radiographer", "Radiographer"
    PARAMEDIC = "paramedic", "Paramedic"
    PODIATRIST = "podiatrist", "Podiatrist"
    OCCUPATIONAL_THERAPIST = "occupational_therapist", "Occupational therapist"
    SPEECH_THERAPIST = "speech_and_language_therapist", "Speech and language therapist"
    OPERATING_DEPARTMENT_PRACTITIONER = "odp", "Operating department practitioner"
    DIETITIAN = "dietitian", "Dietitian"
    ORTHOPTIST = "orthoptist", "Orthoptist"
    PROSTHETIST_ORTHOTIST = "prosthetist_orthotist", "Prosthetist or orthotist"
    PHARMACIST = "pharmacist", "Pharmacist"
    DOCTOR = "doctor", "Doctor"
    DENTIST = "dentist", "Dentist"
    OSTEOPATH = "osteopath", "Osteopath"
    CHIROPRACTOR = "chiropractor", "Chiropractor"


# Roles that are offered on the form only so that the form can say why they cannot refer.
UNREGISTERED_ROLES = {
    "support_worker": "Support worker",
    "assistant_practitioner": "Assistant practitioner",
}
UNREGISTERED_ROLE_MESSAGE = (
    "Support workers and assistant practitioners cannot be entitled to refer for imaging. "
    "Only registered healthcare professionals can be referrers."
)

# HCPC numbers start with the prefix of the profession's part of the register.
HCPC_PREFIXES = {
    "RA": Profession.RADIOGRAPHER,
    "PA": Profession.PARAMEDIC,
    "PH": Profession.PHYSIOTHERAPIST,
    "CH": Profession.PODIATRIST,
    "OT": Profession.OCCUPATIONAL_THERAPIST,
    "SL": Profession.SPEECH_THERAPIST,
    "ODP": Profession.OPERATING_DEPARTMENT_PRACTITIONER,
    "DT": Profession.DIETITIAN,
    "OR": Profession.ORTHOPTIST,
    "PO": Profession.PROSTHETIST_ORTHOTIST,
}


@dataclass(frozen=True)
class RegulatorRules:
    pattern: re.Pattern
    example: str
    description: str
    professions: frozenset
    renewal_cycle_months: int


RULES: dict[str, RegulatorRules] = {
    Regulator.GMC: RegulatorRules(
        re.compile(r"\d{7}"), "1234567", "7 digits", frozenset({Profession.DOCTOR}), 12
    ),
    Regulator.NMC: RegulatorRules(
        re.compile(r"\d{2}[A-Z]\d{4}[A-Z]"),
        "71A2998E",
        "2 digits, a letter, 4 digits and a letter",
        frozenset({Profession.NURSE, Profession.MIDWIFE}),
        36,
    ),
    Regulator.GPHC: RegulatorRules(
        re.compile(r"\d{7}"), "2012345", "7 digits", frozenset({Profession.PHARMACIST}), 12
    ),
    Regulator.HCPC: RegulatorRules(
        re.compile(r"(?:ODP|RA|PA|PH|CH|OT|SL|DT|OR|PO)\d{5,6}"),
        "RA12345",
        "the profession's prefix (such as RA, PA, PH, CH, OT, SL, ODP, DT, OR or PO) "
        "then 5 or 6 digits",
        frozenset(HCPC_PREFIXES.values()),
        24,
    ),
    Regulator.GDC: RegulatorRules(
        re.compile(r"\d{4,6}"), "123456", "4 to 6 digits", frozenset({Profession.DENTIST}), 12
    ),
    Regulator.GOSC: RegulatorRules(
        re.compile(r"\d{4,5}"), "12345", "4 or 5 digits", frozenset({Profession.OSTEOPATH}), 12
    ),
    Regulator.GCC: RegulatorRules(
        re.compile(r"\d{4,5}"), "01234", "4 or 5 digits", frozenset({Profession.CHIROPRACTOR}), 12
    ),
}


def normalise_registration_number(value: str) -> str:
    return re.sub(r"\s+", "", value or "").upper()


def _article(initialism: str) -> str:
    # Said letter by letter: "an NMC", "an HCPC", "a GMC".
    return "an" if initialism[0] in "AEFHILMNORSX" else "a"


def _plural(profession: str) -> str:
    return f"{Profession(profession).label.lower()}s"


def validate_registration(regulator: str, number: str, profession: str | None = None) -> str:
    """Return the normalised number, or raise ValidationError saying what is wrong."""
    if regulator not in RULES:
        raise ValidationError({"regulator": "Select the professional regulator"})
    rules = RULES[regulator]
    number = normalise_registration_number(number)
    label = Regulator(regulator).name if regulator != Regulator.GPHC else "GPhC"
    if not number:
        raise ValidationError({"registration_number": "Enter the registration number"})
    if not rules.pattern.fullmatch(number):
        raise ValidationError(
            {
                "registration_number": (
                    f"Enter {_article(label)} {label} registration number in the correct format: "
                    f"{rules.description}, like {rules.example}"
                )
            }
        )
    if profession:
        if profession not in rules.professions:
            raise ValidationError(
                {"profession": f"The {label} does not register {_plural(profession)}"}
            )
        if regulator == Regulator.HCPC:
            prefix = re.match(r"[A-Z]+", number).group(0)
            if HCPC_PREFIXES[prefix] != profession:
                raise ValidationError(
                    {
                        "registration_number": (
                            f"An HCPC number starting {prefix} is for a "
                            f"{HCPC_PREFIXES[prefix].label.lower()}, not a "
                            f"{Profession(profession).label.lower()}"
                        )
                    }
                )
    return number
