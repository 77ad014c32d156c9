"""What each role may do at its organisation, as django-guardian object permissions.

A role is recorded as an `OrganisationRole` row; the permissions below are granted on the
organisation when the role is assigned and withdrawn when it is removed (services.py).
"""

from .models import Role

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.REFERRER: frozenset(),
    Role.CLINICAL_SUPERVISOR: frozenset({"view_organisation", "supervise"}),
    Role.ENTITLEMENT_DELEGATE: frozenset(
        {"view_organisation", "view_people", "decide_entitlements", "view_register"}
    ),
    Role.GOVERNANCE_LEAD: frozenset(
        {"view_organisation", "view_people", "view_register", "view_governance"}
    ),
    Role.IRMER_PRACTITIONER: frozenset({"view_organisation", "view_register", "report_referrals"}),
    Role.ORGANISATION_ADMINISTRATOR: frozenset(
        {
            "view_organisation",
            "view_people",
            "manage_catalogue",
            "manage_procedures",
            "manage_appointments",
        }
    ),
}


def permissions_for_roles(roles) -> set[str]:
    granted: set[str] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return granted


# Roles an organisation administrator grants by hand. The others follow from records:
# referrer from an employment, entitlement delegate from a delegate appointment.
GRANTABLE_ROLES = (
    Role.GOVERNANCE_LEAD,
    Role.IRMER_PRACTITIONER,
    Role.CLINICAL_SUPERVISOR,
    Role.ORGANISATION_ADMINISTRATOR,
)
