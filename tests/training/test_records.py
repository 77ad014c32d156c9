"""Training records (principle 4): a referrer adds their own with a certificate; a delegate
of an employer that employs or entitles them verifies, rejects, or adds one; nobody verifies
their own; a refused certificate leaves nothing behind; certificates are private."""

import datetime
import os
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from referrers import services as people_services
from referrers.models import DelegateAppointment, Notification, ReferrerProfile
from tests.factories import EmploymentFactory, ReferrerProfileFactory
from tests.journeys import PDF_BYTES
from training import services
from training.models import RecordKind, TrainingRecord

from .builders import TODAY, frozen_today, make_record  # noqa: F401 (an autouse fixture)

pytestmark = pytest.mark.django_db

D = datetime.date
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """A storage folder of this test's own, so "nothing stored" can be checked exactly."""
    location = tmp_path / "media"
    location.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(location)},
        },
    }
    return location


def stored_files(location) -> list[str]:
    return sorted(
        os.path.relpath(os.path.join(folder, name), location)
        for folder, _, names in os.walk(location)
        for name in names
    )


def form(**overrides) -> dict:
    data = {
        "kind": RecordKind.RADIATION_PROTECTION,
        "title": "IR(ME)R for referrers",
        "provider": "e-Learning for Healthcare",
        "completed_on_day": "14",
        "completed_on_month": "1",
        "completed_on_year": "2026",
        "certificate_expires_on_day": "",
        "certificate_expires_on_month": "",
        "certificate_expires_on_year": "",
        "hours": "",
    }
    data.update(overrides)
    return data


def add(referrer, by, **overrides) -> TrainingRecord:
    values = {
        "kind": RecordKind.RADIATION_PROTECTION,
        "provider": "e-Learning for Healthcare",
        "title": "IR(ME)R for referrers",
        "completed_on": D(2026, 1, 14),
        "certificate_expires_on": None,
        "hours": None,
    }
    values.update(overrides)
    return services.training_record_add(referrer=referrer.referrer_profile, by=by, **values)


# --- The referrer adds their own ---------------------------------------------------------


def test_a_referrer_adds_a_record_with_its_certificate_and_waits_for_verification(
    client, referrer, media
):
    client.force_login(referrer)
    page = client.get(reverse("training_record_add")).content.decode()
    assert page.count("<h1") == 1 and "Add a training record" in page

    response = client.post(
        reverse("training_record_add"),
        {**form(), "certificate": SimpleUploadedFile("IRMER certificate.pdf", PDF_BYTES)},
    )

    assert response.status_code == 302 and response["Location"] == reverse("training")
    record = TrainingRecord.objects.get()
    assert record.referrer == referrer.referrer_profile
    assert (record.kind, record.completed_on) == (RecordKind.RADIATION_PROTECTION, D(2026, 1, 14))
    assert record.recorded_by == referrer and not record.is_verified
    assert record.certificate_name == "IRMER certificate.pdf"
    assert record.certificate_content_type == "application/pdf"
    # Stored under a random name, never the uploaded one.
    assert stored_files(media) == [record.certificate.name]
    assert "IRMER" not in record.certificate.name
    assert record.history.get().history_user == referrer

    page = client.get(reverse("training")).content.decode()
    assert "Waiting for verification" in page
    assert reverse("training_certificate", args=[record.pk]) in page


def test_a_certificate_that_is_a_program_named_pdf_is_refused_and_nothing_is_stored(
    client, referrer, media
):
    client.force_login(referrer)

    response = client.post(
        reverse("training_record_add"),
        {**form(), "certificate": SimpleUploadedFile("certificate.pdf", EXE_BYTES)},
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in page
    assert page.count("(it is a Windows program)") == 2  # the summary and the field
    assert 'href="#id_certificate"' in page
    assert not TrainingRecord.objects.exists()
    assert not TrainingRecord.history.exists()
    assert stored_files(media) == []


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"completed_on_day": "3", "completed_on_month": "3", "completed_on_year": "2026"},
            "completed_on",
            "The completion date must be today or in the past",
        ),
        (
            {
                "certificate_expires_on_day": "14",
                "certificate_expires_on_month": "1",
                "certificate_expires_on_year": "2026",
            },
            "certificate_expires_on",
            "The expiry date on the certificate must be after the date the training was completed",
        ),
        ({"kind": RecordKind.CPD}, "hours", "Enter the number of CPD hours"),
        ({"provider": ""}, "provider", "Enter who provided the training"),
        ({"kind": ""}, "kind", "Select what the training was"),
        ({"kind": RecordKind.CPD, "hours": "7.25"}, "hours", "one decimal place"),
    ],
    ids=["future", "expiry-before-completion", "cpd-without-hours", "provider", "kind", "hours"],
)
def test_a_record_with_a_problem_says_what_and_saves_nothing(
    client, referrer, media, overrides, field, message
):
    client.force_login(referrer)

    response = client.post(
        reverse("training_record_add"),
        {**form(**overrides), "certificate": SimpleUploadedFile("c.pdf", PDF_BYTES)},
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in page and message in page
    assert f'href="#id_{field}' in page
    assert not TrainingRecord.objects.exists()
    assert stored_files(media) == []


def test_a_referrer_cannot_verify_their_own_record_by_adding_it(referrer):
    with pytest.raises(ValidationError, match="cannot verify your own"):
        add(referrer, referrer, verify=True)
    assert not TrainingRecord.objects.exists()


def test_someone_with_no_profile_is_sent_to_the_training_page(client, delegate):
    client.force_login(delegate)
    assert client.get(reverse("training_record_add")).status_code == 302
    page = client.get(reverse("training")).content.decode()
    assert "Record your registration" in page


# --- Verify and reject -------------------------------------------------------------------


def test_a_delegate_verifies_a_record_and_the_referrer_is_told(referrer, delegate):
    record = add(referrer, referrer)

    services.training_record_verify(record=record, by=delegate)

    record.refresh_from_db()
    assert record.verified_by == delegate and record.verified_at is not None
    latest = record.history.latest()
    assert (latest.history_user, latest.history_change_reason) == (
        delegate,
        "Training record verified",
    )
    assert Notification.objects.filter(
        user=referrer, subject="Your training record has been verified"
    ).exists()


def test_verifying_twice_says_who_verified_first_and_changes_nothing(referrer, delegate, trust):
    second = ReferrerProfileFactory().user
    people_services.delegate_appointment_create(
        organisation=trust,
        delegate=second,
        valid_from=D(2025, 1, 1),
        document_reference="Board paper 2",
        by=delegate,
    )
    record = add(referrer, referrer)
    services.training_record_verify(record=record, by=delegate)
    history = record.history.count()

    with pytest.raises(ValidationError, match="already verified by Dana Delegate on 2 March 2026"):
        services.training_record_verify(record=record, by=second)

    record.refresh_from_db()
    assert record.verified_by == delegate
    assert record.history.count() == history


def test_a_delegate_cannot_verify_their_own_record(trust, delegate, org_admin):
    profile = ReferrerProfileFactory(user=delegate)
    EmploymentFactory(referrer=profile, organisation=trust)
    record = make_record(profile, RecordKind.REFERRAL_GUIDELINES, D(2026, 1, 2))

    with pytest.raises(ValidationError, match="cannot verify your own training record"):
        services.training_record_verify(record=record, by=delegate)
    with pytest.raises(ValidationError, match="cannot verify your own"):
        add(delegate, delegate, verify=True)

    record.refresh_from_db()
    assert not record.is_verified


def test_a_delegate_of_another_employer_cannot_verify_add_or_reject(referrer, other_trust_delegate):
    record = add(referrer, referrer)

    with pytest.raises(PermissionDenied):
        services.training_record_verify(record=record, by=other_trust_delegate)
    with pytest.raises(PermissionDenied):
        services.training_record_reject(record=record, by=other_trust_delegate, reason="No")
    with pytest.raises(PermissionDenied):
        add(referrer, other_trust_delegate, verify=True)

    record.refresh_from_db()
    assert not record.is_verified and not record.is_rejected
    assert TrainingRecord.objects.count() == 1


def test_a_delegate_whose_appointment_has_ended_cannot_verify(referrer, delegate):
    DelegateAppointment.objects.filter(delegate=delegate).update(valid_to=D(2026, 2, 1))
    record = add(referrer, referrer)

    with pytest.raises(PermissionDenied):
        services.training_record_verify(record=record, by=delegate)


def test_a_referrer_whose_employment_ended_is_no_longer_anyones_to_verify(referrer, delegate):
    record = add(referrer, referrer)
    referrer.referrer_profile.employments.update(ends_on=D(2026, 2, 1))

    with pytest.raises(PermissionDenied):
        services.training_record_verify(record=record, by=delegate)


def test_a_delegate_rejects_a_record_with_a_reason_the_referrer_is_told(referrer, delegate):
    record = add(referrer, referrer)
    with pytest.raises(ValidationError, match="Enter why"):
        services.training_record_reject(record=record, by=delegate, reason="  ")

    services.training_record_reject(
        record=record, by=delegate, reason="The certificate is for a different course"
    )

    record.refresh_from_db()
    assert record.rejected_by == delegate and record.is_rejected
    assert record.rejection_reason == "The certificate is for a different course"
    notice = Notification.objects.get(
        user=referrer, subject="Your training record was not accepted"
    )
    assert "different course" in notice.body
    with pytest.raises(ValidationError, match="already rejected by Dana Delegate"):
        services.training_record_verify(record=record, by=delegate)


def test_a_delegate_adds_a_verified_record_for_a_referrer_of_their_employer(
    client, referrer, delegate, trust
):
    client.force_login(delegate)
    url = reverse("training_record_add_for", args=["RDZ", referrer.referrer_profile.pk])
    page = client.get(url).content.decode()
    assert "Add a training record for Priya Shah" in page

    response = client.post(url, {**form(kind=RecordKind.REFERRAL_GUIDELINES), "verify": "on"})

    assert response.status_code == 302
    record = TrainingRecord.objects.get()
    assert record.recorded_by == delegate and record.verified_by == delegate
    assert record.history.get().history_change_reason == "Training record added and verified"
    assert Notification.objects.filter(
        user=referrer, subject="A training record has been added for you"
    ).exists()


def test_another_employers_delegate_cannot_reach_the_referrers_pages(
    client, referrer, delegate, other_trust_delegate
):
    record = add(referrer, referrer)
    profile = referrer.referrer_profile
    client.force_login(other_trust_delegate)

    # Through this trust's pages: not their organisation.
    assert client.get(reverse("training_referrer", args=["RDZ", profile.pk])).status_code == 403
    assert (
        client.post(reverse("training_record_verify", args=["RDZ", record.pk])).status_code == 403
    )
    # Through their own organisation's pages: the referrer is not theirs.
    for name, args in [
        ("training_referrer", ["RX9", profile.pk]),
        ("training_record_add_for", ["RX9", profile.pk]),
        ("training_record_review", ["RX9", record.pk]),
        ("training_record_reject", ["RX9", record.pk]),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 404, name
    assert (
        client.post(reverse("training_record_verify", args=["RX9", record.pk])).status_code == 404
    )
    record.refresh_from_db()
    assert not record.is_verified


def test_the_reject_page_shows_the_certificate_and_needs_a_reason(client, referrer, delegate):
    record = add(referrer, referrer, certificate=SimpleUploadedFile("cert.pdf", PDF_BYTES))
    client.force_login(delegate)
    url = reverse("training_record_reject", args=["RDZ", record.pk])

    page = client.get(url).content.decode()
    assert reverse("training_certificate", args=[record.pk]) in page
    assert page.count("<h1") == 1

    response = client.post(url, {"reason": ""})
    assert "Enter why the record is rejected" in response.content.decode()
    response = client.post(url, {"reason": "Wrong course"})
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.is_rejected


# --- Certificates --------------------------------------------------------------------------


def test_a_certificate_is_served_only_to_the_referrer_and_their_employers_delegates_and_leads(
    client, referrer, delegate, governance_lead, other_trust_delegate, other_referrer
):
    record = add(referrer, referrer, certificate=SimpleUploadedFile("cert.pdf", PDF_BYTES))
    url = reverse("training_certificate", args=[record.pk])

    for user in (referrer, delegate, governance_lead):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, user
        assert b"".join(response.streaming_content) == PDF_BYTES
        assert response["Content-Disposition"] == 'attachment; filename="cert.pdf"'
        assert response["X-Content-Type-Options"] == "nosniff"
    for user in (other_trust_delegate, other_referrer):
        client.force_login(user)
        assert client.get(url).status_code == 404, user
    client.logout()
    assert client.get(url).status_code == 302


# --- Registration --------------------------------------------------------------------------


def test_a_delegate_marks_a_registration_lapsed_with_a_reason(
    client, referrer, delegate, other_trust_delegate
):
    profile = referrer.referrer_profile
    with pytest.raises(PermissionDenied):
        people_services.registration_mark_lapsed(
            referrer=profile, by=other_trust_delegate, reason="Checked"
        )
    with pytest.raises(ValidationError, match="cannot mark your own"):
        people_services.registration_mark_lapsed(referrer=profile, by=referrer, reason="Checked")

    client.force_login(delegate)
    url = reverse("registration_mark_lapsed", args=["RDZ", profile.pk])
    assert "Enter how you know" in client.post(url, {"reason": ""}).content.decode()
    response = client.post(url, {"reason": "Checked the NMC register on 2 March 2026"})

    assert response.status_code == 302
    profile = ReferrerProfile.objects.get(pk=profile.pk)
    assert profile.registration_lapsed
    latest = profile.history.latest()
    assert latest.history_user == delegate
    assert latest.history_change_reason.startswith("Registration marked lapsed: Checked the NMC")
    assert Notification.objects.filter(user=referrer, subject__contains="marked as lapsed").exists()
    with pytest.raises(ValidationError, match="already marked lapsed"):
        people_services.registration_mark_lapsed(referrer=profile, by=delegate, reason="Again")


def test_a_delegate_confirms_a_lapsed_registration_is_current_again(
    client, referrer, delegate, other_trust_delegate
):
    profile = referrer.referrer_profile
    people_services.registration_mark_lapsed(referrer=profile, by=delegate, reason="Checked")
    renewal = TODAY + datetime.timedelta(days=700)
    with pytest.raises(PermissionDenied):
        people_services.registration_confirm_renewed(
            referrer=profile, by=other_trust_delegate, renewal_due_on=renewal, reason="Checked"
        )
    with pytest.raises(ValidationError, match="cannot confirm your own"):
        people_services.registration_confirm_renewed(
            referrer=profile, by=referrer, renewal_due_on=renewal, reason="Checked"
        )
    client.force_login(delegate)
    page = client.get(reverse("training_referrer", args=["RDZ", profile.pk])).content.decode()
    url = reverse("registration_confirm_renewed", args=["RDZ", profile.pk])
    assert url in page  # offered where the registration shows as lapsed
    before = profile.history.count()

    past = TODAY - datetime.timedelta(days=1)
    refused = client.post(
        url,
        {
            "renewal_due_on_day": past.day,
            "renewal_due_on_month": past.month,
            "renewal_due_on_year": past.year,
            "reason": "Checked",
        },
    ).content.decode()
    assert "The next renewal date must be in the future" in refused
    assert ReferrerProfile.objects.get(pk=profile.pk).registration_lapsed
    assert profile.history.count() == before

    response = client.post(
        url,
        {
            "renewal_due_on_day": renewal.day,
            "renewal_due_on_month": renewal.month,
            "renewal_due_on_year": renewal.year,
            "reason": "Checked the NMC register: registered",
        },
    )
    assert response.status_code == 302
    profile = ReferrerProfile.objects.get(pk=profile.pk)
    assert not profile.registration_lapsed
    assert profile.registration_expires_on == renewal
    latest = profile.history.latest()
    assert latest.history_user == delegate
    assert latest.history_change_reason.startswith("Registration confirmed current: Checked")
    assert Notification.objects.filter(user=referrer, subject__contains="confirmed").exists()
    with pytest.raises(ValidationError, match="already current"):
        people_services.registration_confirm_renewed(
            referrer=profile, by=delegate, renewal_due_on=renewal, reason="Again"
        )


# --- The referrer's page -------------------------------------------------------------------


def tag(page: str, text: str) -> str:
    """The classes of the status tag that reads `text` (the first one)."""
    match = re.search(r'<strong class="(nhsuk-tag[^"]*)"\s*>\s*' + re.escape(text) + r"\s*<", page)
    assert match, text
    return match.group(1)


def test_the_referrers_page_shows_each_requirement_its_record_expiry_and_status(
    client, referrer, delegate, entitlement, procedure
):
    procedure.cpd_hours_per_year = 10
    procedure.save()
    make_record(referrer, "radiation_protection", D(2025, 6, 1), verified_by=delegate)
    make_record(
        referrer, "contrast_safety", D(2024, 4, 10), verified_by=delegate, title="Contrast course"
    )
    make_record(referrer, "referral_guidelines", D(2023, 1, 5), verified_by=delegate)  # lapsed
    make_record(referrer, "cpd", D(2026, 1, 5), verified_by=delegate, hours=4)
    client.force_login(referrer)

    page = client.get(reverse("training")).content.decode()

    assert page.count("<h1") == 1
    assert f"{entitlement.reference}: referral for imaging" in page
    assert "nhsuk-tag--green" in tag(page, "Valid")
    assert "nhsuk-tag--yellow" in tag(page, "Expiring")
    assert "nhsuk-tag--red" in tag(page, "Lapsed")
    assert "Contrast course, completed 10 Apr 2024" in page
    assert "10 Apr 2026" in page  # contrast safety: 24 months
    assert "1 Jun 2028" in page  # radiation protection: 36 months
    assert "4.0 of 10 hours a year, counted since 3 Mar 2025" in page
    assert "Meets Radiation protection (IR(ME)R) for " + entitlement.reference in page


def test_a_requirement_with_no_verified_record_is_missing_in_grey(
    client, referrer, delegate, entitlement
):
    make_record(referrer, "radiation_protection", D(2026, 1, 5))  # not verified
    client.force_login(referrer)

    page = client.get(reverse("training")).content.decode()

    assert "nhsuk-tag--grey" in tag(page, "Missing")
    assert "No verified record" in page
    assert "Waiting for verification" in page


def test_the_training_pages_read_the_same_queries_for_few_or_many_records(
    client, referrer, delegate, entitlement, django_assert_max_num_queries
):
    def grow(rows):
        for i in rows:
            make_record(referrer, "cpd", D(2025, 1, 1), hours=1, title=f"Row course {i:03d}")

    pages = [
        (referrer, reverse("training")),
        (delegate, reverse("training_referrer", args=["RDZ", referrer.referrer_profile.pk])),
    ]
    counts, made = [], 0
    for size in (3, 60):
        grow(range(made, size))
        made = size
        measured = []
        for user, url in pages:
            client.force_login(user)
            client.get(url)
            with CaptureQueriesContext(connection) as captured:
                page = client.get(url).content.decode()
            assert page.count("Row course") == min(size, 50)
            measured.append(len(captured.captured_queries))
        counts.append(measured)
    assert counts[0] == counts[1]
    with django_assert_max_num_queries(16):
        client.get(pages[1][1])
