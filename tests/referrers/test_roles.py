"""An organisation administrator gives and removes roles and adds departments; people given
a role without an account are e-mailed a link to set their password."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from config.celery import app as celery_app
from referrers import selectors
from referrers.models import Department, OrganisationRole, Role, User
from tests.security.mfa import sign_in


@pytest.fixture
def eager_celery():
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def grant(client, **data):
    return client.post(reverse("role_grant", args=["RDZ"]), data)


def test_a_new_person_gets_the_role_and_a_link_to_set_their_password(
    client, org_admin, trust, eager_celery, django_capture_on_commit_callbacks
):
    client.force_login(org_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = grant(
            client, email="New.Lead@Example.nhs.uk", full_name="Nia Newlead", role="governance_lead"
        )
    assert response.status_code == 302
    person = User.objects.get(email="new.lead@example.nhs.uk")
    assert not person.has_usable_password()
    assert selectors.has_permission(person, "view_governance", trust)
    assert OrganisationRole.objects.get(user=person).history.get().history_user == org_admin

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.lead@example.nhs.uk"]
    assert "Alex Admin has given you access" in message.body
    link = re.search(r"http://testserver(/password/set/\S+)", message.body).group(1)

    client.logout()
    form_url = client.get(link)["Location"]  # Django swaps the token for a session
    response = client.post(
        form_url,
        {"new_password1": "a-long-new-password-9", "new_password2": "a-long-new-password-9"},
    )
    assert response["Location"] == reverse("password_set_done")
    signed_in = sign_in(client, "new.lead@example.nhs.uk", "a-long-new-password-9")
    assert signed_in.redirect_chain[-1][0] == reverse("governance_home", args=["RDZ"])
    # The link works once.
    assert "has expired or been used" in client.get(link, follow=True).content.decode()


def test_an_existing_person_is_given_the_role_without_an_email(
    client, org_admin, practitioner, trust, eager_celery, django_capture_on_commit_callbacks
):
    client.force_login(org_admin)
    with django_capture_on_commit_callbacks(execute=True):
        grant(client, email=practitioner.email, full_name="", role="clinical_supervisor")
    assert OrganisationRole.objects.filter(
        user=practitioner, role=Role.CLINICAL_SUPERVISOR
    ).exists()
    assert mail.outbox == []


def test_giving_a_role_twice_is_explained_and_changes_nothing(client, org_admin, practitioner):
    client.force_login(org_admin)
    body = grant(
        client, email=practitioner.email, full_name="", role="irmer_practitioner"
    ).content.decode()
    assert "is already ir(me)r practitioner here" in body.lower()
    assert OrganisationRole.objects.filter(user=practitioner).count() == 1


def test_a_new_person_needs_a_name(client, org_admin):
    client.force_login(org_admin)
    body = grant(client, email="nobody@example.nhs.uk", full_name="", role="governance_lead")
    assert "Enter the person&#39;s full name" in body.content.decode()
    assert not User.objects.filter(email="nobody@example.nhs.uk").exists()


def test_delegate_and_referrer_roles_cannot_be_given_by_hand(client, org_admin, practitioner):
    client.force_login(org_admin)
    for role in ("entitlement_delegate", "referrer"):
        body = grant(client, email=practitioner.email, full_name="", role=role).content.decode()
        assert "There is a problem" in body
    assert OrganisationRole.objects.filter(user=practitioner).count() == 1


def test_removing_a_role_asks_first_then_removes_it(client, org_admin, governance_lead, trust):
    organisation_role = OrganisationRole.objects.get(user=governance_lead)
    url = reverse("role_remove", args=["RDZ", organisation_role.pk])
    client.force_login(org_admin)
    assert "Remove Gita Governance" in client.get(url).content.decode()
    assert OrganisationRole.objects.filter(pk=organisation_role.pk).exists()
    client.post(url)
    assert not OrganisationRole.objects.filter(pk=organisation_role.pk).exists()
    fresh = User.objects.get(pk=governance_lead.pk)
    assert not selectors.has_permission(fresh, "view_governance", trust)


def test_the_last_administrator_cannot_be_removed(client, org_admin):
    organisation_role = OrganisationRole.objects.get(user=org_admin)
    client.force_login(org_admin)
    response = client.post(reverse("role_remove", args=["RDZ", organisation_role.pk]), follow=True)
    assert "only administrator" in response.content.decode()
    assert OrganisationRole.objects.filter(pk=organisation_role.pk).exists()


def test_another_trust_cannot_see_or_remove_roles_here(client, governance_lead, other_trust_admin):
    organisation_role = OrganisationRole.objects.get(user=governance_lead)
    client.force_login(other_trust_admin)
    assert client.get(reverse("people", args=["RDZ"])).status_code == 403
    assert (
        client.post(reverse("role_remove", args=["RX9", organisation_role.pk])).status_code == 404
    )
    assert (
        client.post(reverse("role_remove", args=["RDZ", organisation_role.pk])).status_code == 403
    )
    assert OrganisationRole.objects.filter(pk=organisation_role.pk).exists()


def test_people_page_lists_roles(client, org_admin, governance_lead, practitioner):
    client.force_login(org_admin)
    body = client.get(reverse("people", args=["RDZ"])).content.decode()
    assert "Gita Governance" in body and "Pat Practitioner" in body
    assert body.count("<h1") == 1


class TestDepartments:
    url = reverse("departments", args=["RDZ"])

    def test_add_a_department_with_its_site(self, client, org_admin, trust):
        client.force_login(org_admin)
        response = client.post(self.url, {"name": "Emergency department", "site_ods_code": "rdz20"})
        assert response.status_code == 302
        department = Department.objects.get(organisation=trust)
        assert department.site_ods_code == "RDZ20"
        assert department.history.get().history_user == org_admin

    def test_a_duplicate_or_bad_site_code_is_explained(self, client, org_admin, trust):
        Department.objects.create(organisation=trust, name="Radiology")
        client.force_login(org_admin)
        body = client.post(self.url, {"name": "radiology", "site_ods_code": ""}).content.decode()
        assert "There is already a department with this name" in body
        body = client.post(self.url, {"name": "Fracture clinic", "site_ods_code": "RX120"})
        assert "starting with the organisation&#39;s code RDZ" in body.content.decode()
        assert Department.objects.filter(organisation=trust).count() == 1


def test_forgotten_password_for_an_unknown_address_says_the_same_and_sends_nothing(
    client, db, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("password_forgotten"), {"email": "stranger@example.nhs.uk"}, follow=True
        )
    assert "If an account uses that e-mail address" in response.content.decode()
    assert mail.outbox == []
