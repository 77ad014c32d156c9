"""The services of the whole journey, end to end, in one place (pages are tested elsewhere)."""

from entitlements.models import ApplicationStatus, EntitlementState, Letter


def test_a_granted_application_becomes_an_active_entitlement_with_a_letter(
    entitlement, endorsed_application, delegate, procedure
):
    endorsed_application.refresh_from_db()
    assert endorsed_application.status == ApplicationStatus.GRANTED
    assert entitlement.state == EntitlementState.ACTIVE
    assert entitlement.granted_by == delegate
    assert entitlement.procedure_version == procedure
    assert entitlement.scope_items.count() == 2
    letter = Letter.objects.get(entitlement=entitlement)
    assert letter.content["referrer"]["name"] == "Priya Shah"
    assert [row["name"] for row in letter.content["scope"]] == ["XR Chest", "CT Head with contrast"]
