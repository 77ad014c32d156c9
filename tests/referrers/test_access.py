"""Nobody sees or changes another organisation's people, appointments or agreements."""

import datetime

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from referrers import selectors, services
from referrers.models import (
    DelegateAppointment,
    OrganisationUserObjectPermission,
    Role,
    SharedResponsibilityAgreement,
)
from referrers.views.mixins import OrganisationMixin
from tests.factories import UserFactory

ADMIN_PAGES = [
    "administration_home",
    "delegate_appointments",
    "delegate_appointment_add",
    "agreements",
    "agreement_add",
    "people",
    "role_grant",
    "departments",
]


def all_patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from all_patterns(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def test_every_organisation_page_resolves_its_organisation_through_the_selector():
    """Views never build their own permission filter: every URL that names an organisation
    is served by a view built on OrganisationMixin, which asks referrers.selectors."""
    organisation_patterns = [(route, p) for route, p in all_patterns() if "<str:ods_code>" in route]
    assert len(organisation_patterns) >= 9
    for route, pattern in organisation_patterns:
        view_class = getattr(pattern.callback, "view_class", None)
        assert view_class is not None and issubclass(view_class, OrganisationMixin), route
        assert view_class.permission in selectors.PERMISSIONS, route


@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_another_trusts_administrator_is_refused(client, name, org_admin, other_trust_admin):
    client.force_login(other_trust_admin)
    assert client.get(reverse(name, args=["RDZ"])).status_code == 403


@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_a_referrer_is_refused_administration(client, name, referrer):
    client.force_login(referrer)
    assert client.get(reverse(name, args=["RDZ"])).status_code == 403


@pytest.mark.parametrize(
    "name",
    [*ADMIN_PAGES, "delegate_home", "governance_home", "practitioner_home", "referrer_home"],
)
def test_anonymous_visitors_are_sent_to_sign_in(client, trust, name):
    args = [] if name == "referrer_home" else ["RDZ"]
    response = client.get(reverse(name, args=args))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_unknown_organisation_is_not_found(client, org_admin):
    client.force_login(org_admin)
    assert client.get(reverse("administration_home", args=["RZZ"])).status_code == 404


@pytest.mark.parametrize(
    ("persona", "page"),
    [
        ("other_trust_delegate", "delegate_home"),
        ("other_trust_governance_lead", "governance_home"),
        ("other_trust_admin", "practitioner_home"),
        ("referrer", "delegate_home"),
        ("referrer", "governance_home"),
        ("practitioner", "governance_home"),
    ],
)
def test_role_homes_of_an_organisation_refuse_outsiders(client, request, trust, persona, page):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    assert client.get(reverse(page, args=["RDZ"])).status_code == 403


def test_another_trusts_admin_cannot_appoint_a_delegate_here(client, trust, other_trust_admin):
    client.force_login(other_trust_admin)
    response = client.post(
        reverse("delegate_appointment_add", args=["RDZ"]),
        {
            "delegate": other_trust_admin.pk,
            "all_modalities": "yes",
            "valid_from_day": "1",
            "valid_from_month": "1",
            "valid_from_year": "2027",
            "document_reference": "Forged",
        },
    )
    assert response.status_code == 403
    assert not DelegateAppointment.objects.exists()


def test_an_appointment_cannot_be_ended_through_another_organisations_url(
    client, delegate, other_trust_admin
):
    appointment = DelegateAppointment.objects.get(delegate=delegate)
    client.force_login(other_trust_admin)
    data = {"ends_on_day": "1", "ends_on_month": "1", "ends_on_year": "2030"}
    own_url = reverse("delegate_appointment_end", args=["RX9", appointment.pk])
    assert client.post(own_url, data).status_code == 404
    their_url = reverse("delegate_appointment_end", args=["RDZ", appointment.pk])
    assert client.post(their_url, data).status_code == 403
    appointment.refresh_from_db()
    assert appointment.valid_to is None


def test_another_trusts_admin_cannot_record_an_agreement_here(client, trust, other_trust_admin):
    client.force_login(other_trust_admin)
    response = client.post(
        reverse("agreement_add", args=["RDZ"]),
        {
            "referring_organisation": other_trust_admin.organisation_roles.get().organisation_id,
            "valid_from_day": "1",
            "valid_from_month": "1",
            "valid_from_year": "2027",
            "document_reference": "Forged",
        },
    )
    assert response.status_code == 403
    assert not SharedResponsibilityAgreement.objects.exists()


def test_permissions_are_direct_foreign_key_rows_and_follow_roles(trust, governance_lead):
    assert selectors.has_permission(governance_lead, "view_governance", trust)
    assert OrganisationUserObjectPermission.objects.filter(
        user=governance_lead, content_object=trust, permission__codename="view_governance"
    ).exists()
    services.role_remove(
        user=governance_lead, organisation=trust, role=Role.GOVERNANCE_LEAD, by=governance_lead
    )
    fresh = type(governance_lead).objects.get(pk=governance_lead.pk)
    assert not selectors.has_permission(fresh, "view_governance", trust)
    assert not OrganisationUserObjectPermission.objects.filter(user=governance_lead).exists()


def test_removing_one_role_keeps_what_another_role_grants(trust):
    user = UserFactory()
    services.role_assign(user=user, organisation=trust, role=Role.GOVERNANCE_LEAD, by=None)
    services.role_assign(user=user, organisation=trust, role=Role.ENTITLEMENT_DELEGATE, by=None)
    services.role_remove(user=user, organisation=trust, role=Role.ENTITLEMENT_DELEGATE, by=user)
    fresh = type(user).objects.get(pk=user.pk)
    assert selectors.has_permission(fresh, "view_register", trust)  # governance lead has it
    assert not selectors.has_permission(fresh, "decide_entitlements", trust)


def test_a_disabled_user_has_no_permissions(trust, org_admin):
    org_admin.is_active = False
    org_admin.save()
    assert not selectors.has_permission(org_admin, "manage_catalogue", trust)
    assert not selectors.organisations_with(org_admin, "manage_catalogue").exists()


def test_role_assignment_history_names_who_granted_it(trust, org_admin):
    user = UserFactory()
    role = services.role_assign(
        user=user, organisation=trust, role=Role.GOVERNANCE_LEAD, by=org_admin
    )
    assert role.history.get().history_user == org_admin


def test_the_django_admin_is_for_superusers_only(client, org_admin, django_user_model):
    org_admin.is_staff = True
    org_admin.save()
    client.force_login(org_admin)
    response = client.get("/django-admin/")
    assert response.status_code == 302
    assert "/django-admin/login/" in response["Location"]
    superuser = django_user_model.objects.create_superuser(
        "root@example.nhs.uk", "pw", full_name="R"
    )
    client.force_login(superuser)
    assert client.get("/django-admin/").status_code == 200


def test_appointment_dates_are_checked_by_the_database(trust, org_admin):
    from django.db import IntegrityError, transaction

    appointment = services.delegate_appointment_create(
        organisation=trust,
        delegate=org_admin,
        valid_from=datetime.date(2026, 1, 1),
        document_reference="ref",
        by=org_admin,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        DelegateAppointment.objects.filter(pk=appointment.pk).update(
            valid_to=datetime.date(2025, 1, 1)
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        DelegateAppointment.objects.filter(pk=appointment.pk).update(
            all_modalities=False, modalities=[]
        )
