"""ODS (Organisation Data Service) code formats."""

import re

from django.core.exceptions import ValidationError

# NHS trusts: 3 characters (RDZ, RJ1, TAF); their sites: the trust code and 2 more (RDZ20);
# GP practices: a letter and 5 digits (J81012); ICBs: Q and 2 characters (QSL);
# independent providers: 3 or 5 characters (NT4, 8HV48).
TRUST = re.compile(r"[RT][A-Z0-9]{2}")
SITE = re.compile(r"[A-Z0-9]{5}")
GP_PRACTICE = re.compile(r"[A-Z]\d{5}")
ICB = re.compile(r"Q[A-Z0-9]{2}")
INDEPENDENT = re.compile(r"[A-Z0-9]{3}|[A-Z0-9]{5}")


def normalise_ods_code(value: str) -> str:
    return (value or "").strip().upper()


def validate_ods_code_for_kind(code: str, kind: str) -> None:
    """Raise ValidationError when `code` is not an ODS code for this kind of organisation."""
    from .models import OrganisationKind

    checks = {
        OrganisationKind.NHS_TRUST: (TRUST, "3 characters starting with R or T, like RDZ"),
        OrganisationKind.GP_PRACTICE: (GP_PRACTICE, "a letter then 5 digits, like J81012"),
        OrganisationKind.ICS: (ICB, "3 characters starting with Q, like QSL"),
        OrganisationKind.INDEPENDENT_PROVIDER: (INDEPENDENT, "3 or 5 letters or digits, like NT4"),
    }
    pattern, description = checks[kind]
    if not pattern.fullmatch(code or ""):
        raise ValidationError(
            {"ods_code": f"Enter an ODS code in the correct format: {description}"}
        )


def validate_site_code(site_code: str, organisation_code: str) -> None:
    if not SITE.fullmatch(site_code) or not site_code.startswith(organisation_code):
        raise ValidationError(
            {
                "site_ods_code": (
                    f"Enter a site ODS code of 5 characters starting with the organisation's "
                    f"code {organisation_code}, like {organisation_code}01"
                )
            }
        )
