"""Registration numbers and ODS codes: valid and invalid examples for each format."""

import pytest
from django.core.exceptions import ValidationError

from referrers.models import OrganisationKind
from referrers.ods import validate_ods_code_for_kind, validate_site_code
from referrers.regulators import Profession, Regulator, validate_registration

VALID = [
    (Regulator.GMC, "1234567", Profession.DOCTOR),
    (Regulator.NMC, "71A2998E", Profession.NURSE),
    (Regulator.NMC, "05i1234x", Profession.MIDWIFE),  # normalised to upper case
    (Regulator.GPHC, "2012345", Profession.PHARMACIST),
    (Regulator.HCPC, "RA12345", Profession.RADIOGRAPHER),
    (Regulator.HCPC, "PA 123456", Profession.PARAMEDIC),  # spaces removed
    (Regulator.HCPC, "PH12345", Profession.PHYSIOTHERAPIST),
    (Regulator.HCPC, "CH12345", Profession.PODIATRIST),
    (Regulator.HCPC, "OT12345", Profession.OCCUPATIONAL_THERAPIST),
    (Regulator.HCPC, "SL12345", Profession.SPEECH_THERAPIST),
    (Regulator.HCPC, "ODP12345", Profession.OPERATING_DEPARTMENT_PRACTITIONER),
    (Regulator.HCPC, "DT12345", Profession.DIETITIAN),
    (Regulator.HCPC, "OR12345", Profession.ORTHOPTIST),
    (Regulator.HCPC, "PO12345", Profession.PROSTHETIST_ORTHOTIST),
    (Regulator.GDC, "123456", Profession.DENTIST),
    (Regulator.GOSC, "12345", Profession.OSTEOPATH),
    (Regulator.GCC, "01234", Profession.CHIROPRACTOR),
]

INVALID = [
    (Regulator.GMC, "123456"),  # 6 digits
    (Regulator.GMC, "12345678"),
    (Regulator.GMC, "A234567"),
    (Regulator.NMC, "71A2998"),  # missing final letter
    (Regulator.NMC, "7A12998E"),
    (Regulator.NMC, "71A29989"),
    (Regulator.GPHC, "201234"),
    (Regulator.GPHC, "20123456"),
    (Regulator.HCPC, "XX12345"),  # unknown prefix
    (Regulator.HCPC, "RA1234"),  # too few digits
    (Regulator.HCPC, "RA1234567"),
    (Regulator.HCPC, "12345"),
    (Regulator.GDC, "12"),
    (Regulator.GOSC, "123456"),
    (Regulator.GCC, "ABCDE"),
    (Regulator.NMC, ""),
]


@pytest.mark.parametrize(("regulator", "number", "profession"), VALID)
def test_valid_registration_numbers_are_accepted_and_normalised(regulator, number, profession):
    normalised = validate_registration(regulator, number, profession)
    assert normalised == number.replace(" ", "").upper()


@pytest.mark.parametrize(("regulator", "number"), INVALID)
def test_invalid_registration_numbers_are_refused_with_the_format(regulator, number):
    with pytest.raises(ValidationError) as error:
        validate_registration(regulator, number)
    message = error.value.message_dict["registration_number"][0]
    assert message.startswith("Enter")


def test_format_message_names_the_regulator_and_an_example():
    with pytest.raises(ValidationError) as error:
        validate_registration(Regulator.NMC, "12345")
    assert error.value.message_dict["registration_number"] == [
        "Enter an NMC registration number in the correct format: "
        "2 digits, a letter, 4 digits and a letter, like 71A2998E"
    ]


def test_article_follows_how_the_initialism_is_said():
    with pytest.raises(ValidationError) as error:
        validate_registration(Regulator.GMC, "12")
    assert error.value.message_dict["registration_number"][0].startswith("Enter a GMC ")


def test_hcpc_prefix_must_match_the_profession():
    with pytest.raises(ValidationError) as error:
        validate_registration(Regulator.HCPC, "PA12345", Profession.RADIOGRAPHER)
    assert (
        "for a paramedic, not a radiographer" in error.value.message_dict["registration_number"][0]
    )


def test_regulator_must_register_the_profession():
    with pytest.raises(ValidationError) as error:
        validate_registration(Regulator.GMC, "1234567", Profession.NURSE)
    assert error.value.message_dict["profession"] == ["The GMC does not register nurses"]


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        (OrganisationKind.NHS_TRUST, "RDZ"),
        (OrganisationKind.NHS_TRUST, "RJ1"),
        (OrganisationKind.NHS_TRUST, "TAF"),
        (OrganisationKind.GP_PRACTICE, "J81012"),
        (OrganisationKind.ICS, "QSL"),
        (OrganisationKind.INDEPENDENT_PROVIDER, "NT4"),
        (OrganisationKind.INDEPENDENT_PROVIDER, "8HV48"),
    ],
)
def test_valid_ods_codes(kind, code):
    validate_ods_code_for_kind(code, kind)


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        (OrganisationKind.NHS_TRUST, "RD"),
        (OrganisationKind.NHS_TRUST, "RDZ1"),
        (OrganisationKind.NHS_TRUST, "ADZ"),  # trusts start R or T
        (OrganisationKind.GP_PRACTICE, "J8101"),
        (OrganisationKind.GP_PRACTICE, "J810123"),
        (OrganisationKind.GP_PRACTICE, "181012"),
        (OrganisationKind.ICS, "RSL"),
        (OrganisationKind.INDEPENDENT_PROVIDER, "NT4X"),
        (OrganisationKind.NHS_TRUST, ""),
    ],
)
def test_invalid_ods_codes(kind, code):
    with pytest.raises(ValidationError) as error:
        validate_ods_code_for_kind(code, kind)
    assert error.value.message_dict["ods_code"][0].startswith("Enter an ODS code")


def test_site_code_is_five_characters_starting_with_the_trust_code():
    validate_site_code("RDZ20", "RDZ")
    for bad in ("RDZ2", "RX120", "RDZ200"):
        with pytest.raises(ValidationError):
            validate_site_code(bad, "RDZ")
