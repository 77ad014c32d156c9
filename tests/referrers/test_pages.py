"""Each role's home page shows that role's real data; forms explain what is wrong."""

import datetime

import pytest
from django.urls import reverse

from referrers.models import DelegateAppointment, ReferrerProfile
from tests.factories import EmploymentFactory, ReferrerProfileFactory
from tests.security.mfa import sign_in


def h1_count(response) -> int:
    return response.content.decode().count("<h1")


def test_sign_in_takes_a_single_role_user_to_their_home(client, governance_lead):
    response = sign_in(client, "governance@example.nhs.uk", "correct-horse-battery")
    assert response.redirect_chain[-1][0] == reverse("governance_home", args=["RDZ"])
    assert h1_count(response) == 1


def test_wrong_password_shows_the_error_summary(client, governance_lead):
    response = client.post(
        reverse("login"), {"username": "governance@example.nhs.uk", "password": "wrong"}
    )
    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    assert "Enter a correct e-mail address and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_home_lists_every_role_of_a_person_with_several(client, referrer, trust):
    from referrers.models import Role
    from tests.factories import give_role

    give_role(referrer, trust, Role.IRMER_PRACTITIONER)
    client.force_login(referrer)
    response = client.get(reverse("home"))
    body = response.content.decode()
    assert response.status_code == 200
    assert reverse("referrer_home") in body
    assert reverse("practitioner_home", args=["RDZ"]) in body


def test_sign_out_needs_a_post(client, referrer):
    client.force_login(referrer)
    assert client.get(reverse("sign_out")).status_code == 200
    assert "_auth_user_id" in client.session
    client.post(reverse("sign_out"))
    assert "_auth_user_id" not in client.session


def test_referrer_home_shows_registration_and_employment(client, referrer):
    client.force_login(referrer)
    response = client.get(reverse("referrer_home"))
    body = response.content.decode()
    assert "71A2998E" in body
    assert "Advanced nurse practitioner, Dorset Coast Hospitals NHS Trust" in body
    assert h1_count(response) == 1


def test_supervisor_home_lists_supervisees(client, supervisor):
    client.force_login(supervisor)
    body = client.get(reverse("supervisor_home")).content.decode()
    assert "Priya Shah" in body


def test_delegate_home_shows_appointment_and_referrers(client, delegate, referrer, other_referrer):
    client.force_login(delegate)
    body = client.get(reverse("delegate_home", args=["RDZ"])).content.decode()
    assert "Board paper 2025/01" in body
    assert "Priya Shah" in body
    assert "Sam Other" not in body  # employed by another trust


def test_governance_home_counts_referrers(client, governance_lead, referrer, other_referrer):
    client.force_login(governance_lead)
    body = client.get(reverse("governance_home", args=["RDZ"])).content.decode()
    assert "1 referrer is employed here now" in body
    assert "Nurse" in body


def test_practitioner_finds_a_referrer_by_registration(client, practitioner, referrer):
    client.force_login(practitioner)
    url = reverse("practitioner_home", args=["RDZ"])
    assert "Priya Shah" in client.get(url, {"q": "71a 2998e"}).content.decode()
    assert "Nobody employed here matches" in client.get(url, {"q": "82B1234C"}).content.decode()


def test_lists_are_paginated(client, delegate, trust):
    for _ in range(55):
        EmploymentFactory(organisation=trust)
    client.force_login(delegate)
    body = client.get(reverse("delegate_home", args=["RDZ"])).content.decode()
    assert body.count('<tr class="nhsuk-table__row">') == 50
    assert "Referrers, page 1 of 2" in body
    assert "page=2" in body


class TestRegistration:
    url = reverse("referrer_registration")

    def post(self, client, **overrides):
        data = {
            "profession": "radiographer",
            "regulator": "HCPC",
            "registration_number": "RA12345",
            "registration_expires_on_day": "31",
            "registration_expires_on_month": "3",
            "registration_expires_on_year": "2027",
            **overrides,
        }
        return client.post(self.url, data)

    def test_support_workers_are_told_why_they_cannot_refer(self, client, django_user_model):
        user = django_user_model.objects.create_user("sw@example.nhs.uk", "pw", full_name="S W")
        client.force_login(user)
        response = self.post(client, profession="support_worker")
        body = response.content.decode()
        assert response.status_code == 200
        assert "There is a problem" in body
        assert "Support workers and assistant practitioners cannot be entitled to refer" in body
        assert not ReferrerProfile.objects.exists()

    def test_wrong_format_is_explained_and_nothing_saved(self, client, django_user_model):
        user = django_user_model.objects.create_user("r@example.nhs.uk", "pw", full_name="R R")
        client.force_login(user)
        body = self.post(client, registration_number="RA12").content.decode()
        assert "Enter an HCPC registration number in the correct format" in body
        assert 'href="#id_registration_number"' in body
        assert not ReferrerProfile.objects.exists()

    def test_impossible_date_is_explained(self, client, django_user_model):
        user = django_user_model.objects.create_user("r@example.nhs.uk", "pw", full_name="R R")
        client.force_login(user)
        body = self.post(
            client, registration_expires_on_day="31", registration_expires_on_month="2"
        ).content.decode()
        assert "Enter a real date" in body
        assert not ReferrerProfile.objects.exists()

    def test_valid_registration_is_saved_with_history_naming_the_user(
        self, client, django_user_model
    ):
        user = django_user_model.objects.create_user("r@example.nhs.uk", "pw", full_name="R R")
        client.force_login(user)
        response = self.post(client, registration_number="ra 12345")
        assert response.status_code == 302
        profile = ReferrerProfile.objects.get(user=user)
        assert profile.registration_number == "RA12345"
        assert profile.registration_expires_on == datetime.date(2027, 3, 31)
        assert profile.history.get().history_user == user

    def test_someone_elses_number_is_refused(self, client, django_user_model):
        ReferrerProfileFactory(
            profession="radiographer", regulator="HCPC", registration_number="RA12345"
        )
        user = django_user_model.objects.create_user("r@example.nhs.uk", "pw", full_name="R R")
        client.force_login(user)
        body = self.post(client).content.decode()
        assert "already recorded for someone else" in body
        assert not ReferrerProfile.objects.filter(user=user).exists()


class TestDelegateAppointments:
    def test_admin_appoints_a_delegate_and_history_names_them(
        self, client, org_admin, referrer, trust
    ):
        client.force_login(org_admin)
        response = client.post(
            reverse("delegate_appointment_add", args=["RDZ"]),
            {
                "delegate": referrer.pk,
                "all_modalities": "no",
                "modalities": ["XR", "US"],
                "valid_from_day": "1",
                "valid_from_month": "12",
                "valid_from_year": "2026",
                "document_reference": "Board paper 2026/12",
            },
        )
        assert response.status_code == 302
        appointment = DelegateAppointment.objects.get(delegate=referrer)
        assert appointment.modalities == ["US", "XR"]
        assert appointment.history.get().history_user == org_admin
        assert appointment.appointed_by == org_admin

    def test_no_modalities_selected_is_an_error_on_that_field(self, client, org_admin, referrer):
        client.force_login(org_admin)
        body = client.post(
            reverse("delegate_appointment_add", args=["RDZ"]),
            {
                "delegate": referrer.pk,
                "all_modalities": "no",
                "valid_from_day": "1",
                "valid_from_month": "12",
                "valid_from_year": "2026",
                "document_reference": "Board paper",
            },
        ).content.decode()
        assert "Select at least one modality" in body
        assert not DelegateAppointment.objects.filter(delegate=referrer).exists()

    @pytest.mark.django_db
    def test_ending_an_appointment_keeps_it(self, client, org_admin, delegate, time_machine):
        time_machine.move_to(datetime.datetime(2026, 6, 1, 12))
        appointment = DelegateAppointment.objects.get(delegate=delegate)
        client.force_login(org_admin)
        response = client.post(
            reverse("delegate_appointment_end", args=["RDZ", appointment.pk]),
            {"ends_on_day": "30", "ends_on_month": "6", "ends_on_year": "2026"},
        )
        assert response.status_code == 302
        appointment.refresh_from_db()
        assert appointment.valid_to == datetime.date(2026, 6, 30)
        assert appointment.history.count() == 2
