"""The referrer's application journey through its pages (principle 2): start, each step with
its validation, resume, check your answers, submit, return and resubmit, withdraw; and the
shared-responsibility route for a referrer employed by a GP practice (principle 9)."""

import datetime
import re

import pytest
from django.urls import reverse

from entitlements import services
from entitlements.models import (
    Application,
    ApplicationScopeItem,
    ApplicationStatus,
    Evidence,
    ExaminationGroup,
)
from referrers import services as people_services
from referrers.models import Employment, LevelOfPractice, Notification, OrganisationKind
from tests.factories import (
    DepartmentFactory,
    EmploymentFactory,
    OrganisationFactory,
    ReferrerProfileFactory,
    UserFactory,
)
from tests.journeys import apply, pdf_upload


@pytest.fixture(autouse=True)
def _today(today):
    """Every test here runs on 2 March 2026 (tests/entitlements/conftest.py)."""
    return today


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }


def body(response) -> str:
    return response.content.decode()


def text(response) -> str:
    """The page's visible words, tags removed and spaces collapsed, for sentence checks."""
    return " ".join(re.sub(r"<[^>]+>", " ", body(response)).split())


def employment_of(user) -> Employment:
    return user.referrer_profile.employments.get()


def choice(employment, organisation) -> str:
    return f"{employment.pk}:{organisation.pk}"


def snapshot(application: Application) -> tuple:
    application.refresh_from_db()
    return (
        application.status,
        application.employment_id,
        application.organisation_id,
        application.kind,
        application.service_need,
        application.expected_volume,
        application.clinical_supervisor_id,
        application.decision_line,
        application.accountability_line,
        application.updated_at,
        sorted(application.scope_items.values_list("id", "examination_id", "group_id", "age_min")),
        sorted(application.evidence.values_list("id", "removed_at")),
        application.history.count(),
    )


def start(client, referrer, trust, kind="referral") -> Application:
    response = client.post(
        reverse("application_start"),
        {"choice": choice(employment_of(referrer), trust), "kind": kind},
    )
    application = Application.objects.get(referrer__user=referrer, kind=kind, status="draft")
    assert response.status_code == 302
    assert response["Location"] == reverse("application", args=[application.pk])
    return application


SCOPE = {
    "age_min": "16",
    "age_max": "",
    "settings": ["ED", "MIU"],
    "clinical_indications": "Suspected fracture after injury",
    "exclusions": "No pregnancy-possible patients under 16",
}


# --- The list ------------------------------------------------------------------------------


def test_someone_without_a_registration_is_told_to_record_it_first(client, trust):
    user = UserFactory(email="no.profile@example.nhs.uk")
    client.force_login(user)
    response = client.get(reverse("applications"))
    assert response.status_code == 200
    assert "Before you can apply, record your professional registration" in body(response)
    assert reverse("referrer_registration") in body(response)
    assert reverse("application_start") not in body(response)
    # The steps send them back to that explanation instead of offering anything.
    assert client.get(reverse("application_start"))["Location"] == reverse("applications")
    assert client.get(reverse("employment_add"))["Location"] == reverse("applications")


def test_anonymous_visitors_are_sent_to_sign_in(client, trust):
    for url in [
        reverse("applications"),
        reverse("application_start"),
        reverse("application", args=[1]),
        reverse("application_scope", args=[1]),
        reverse("evidence_download", args=[1]),
        reverse("employment_add"),
    ]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


def test_the_list_shows_each_application_with_its_status_and_progress(
    client, referrer, supervisor, trust, catalogue, procedure
):
    client.force_login(referrer)
    response = client.get(reverse("applications"))
    assert "You have not started an application yet" in body(response)
    assert reverse("application_start") in body(response)

    submitted = apply(referrer, trust, [catalogue["xr_chest"]], supervisor=supervisor)
    draft = services.application_start(
        by=referrer,
        employment_id=employment_of(referrer).pk,
        organisation_id=trust.pk,
        kind="clinical_evaluation",
    )
    page = text(client.get(reverse("applications")))
    assert submitted.reference in page and draft.reference in page
    assert "Awaiting endorsement" in page
    assert "Draft" in page and "1 of 5 sections completed" in page
    assert "Clinical evaluation of images" in page and "Referral for imaging" in page
    assert "Dorset Coast Hospitals NHS Trust" in page
    # Most recently changed first.
    assert page.index(draft.reference) < page.index(submitted.reference)


def test_the_list_shows_only_the_persons_own_applications(
    client, referrer, other_referrer, supervisor, trust, catalogue, procedure
):
    mine = apply(referrer, trust, [catalogue["xr_chest"]], supervisor=supervisor, until="draft")
    client.force_login(other_referrer)
    assert mine.reference not in body(client.get(reverse("applications")))


# --- Step 1 --------------------------------------------------------------------------------


def test_step_one_offers_each_current_role_and_both_kinds(client, referrer, trust, procedure):
    employment = employment_of(referrer)
    employment.department = DepartmentFactory(organisation=trust, name="Emergency department")
    employment.save()
    client.force_login(referrer)
    response = client.get(reverse("application_start"))
    page = text(response)
    assert response.status_code == 200
    assert body(response).count("<h1") == 1
    assert (
        "Advanced nurse practitioner, advanced, Emergency department at Dorset Coast Hospitals "
        "NHS Trust" in page
    )
    assert "Applying to Dorset Coast Hospitals NHS Trust" in page
    assert "Referral for imaging" in page and "Clinical evaluation of images" in page
    assert "separate entitlement, with its own application and decision" in page
    assert f'value="{choice(employment, trust)}"' in body(response)
    assert reverse("employment_add") in body(response)


def test_step_one_without_a_choice_shows_the_errors_and_saves_nothing(
    client, referrer, trust, procedure
):
    client.force_login(referrer)
    response = client.post(reverse("application_start"), {})
    page = body(response)
    assert response.status_code == 200
    assert "There is a problem" in page
    assert "Select the role and the employer you are applying to" in page
    assert "Select what you want to be entitled to do" in page
    assert 'href="#id_choice"' in page
    assert "<title>Error:" in page
    # A choice that is not one of the person's (someone else's employment) is refused too.
    other = EmploymentFactory(organisation=trust)
    response = client.post(
        reverse("application_start"), {"choice": choice(other, trust), "kind": "referral"}
    )
    assert "Select the role and the employer you are applying to" in body(response)
    assert not Application.objects.exists()


def test_a_second_open_application_for_the_same_role_and_kind_is_refused(
    client, referrer, trust, procedure
):
    client.force_login(referrer)
    first = start(client, referrer, trust)
    response = client.post(
        reverse("application_start"),
        {"choice": choice(employment_of(referrer), trust), "kind": "referral"},
    )
    assert response.status_code == 200
    assert "You already have an open application for this role and kind" in body(response)
    assert list(Application.objects.values_list("pk", flat=True)) == [first.pk]
    # The other kind is a separate application (principle 11).
    start(client, referrer, trust, kind="clinical_evaluation")
    assert Application.objects.count() == 2


def test_a_referrer_with_no_current_role_is_told_so(client, referrer, trust, procedure):
    employment = employment_of(referrer)
    employment.ends_on = datetime.date(2025, 12, 31)
    employment.save()
    client.force_login(referrer)
    page = text(client.get(reverse("application_start")))
    assert "You have no current role recorded" in page
    assert reverse("employment_add") in body(client.get(reverse("application_start")))
    assert "Save and continue" not in page


def test_an_employer_with_no_procedure_in_force_cannot_be_applied_to(client, referrer, trust):
    client.force_login(referrer)
    response = client.get(reverse("application_start"))
    assert "you cannot apply in this role yet" in text(response)
    assert "does not entitle referrers itself" in text(response)
    response = client.post(
        reverse("application_start"),
        {"choice": choice(employment_of(referrer), trust), "kind": "referral"},
    )
    assert "Select the role and the employer you are applying to" in body(response)
    assert not Application.objects.exists()


# --- Principle 9: a GP practice referrer and the imaging provider --------------------------


@pytest.fixture
def gp_referrer(db):
    practice = OrganisationFactory(
        ods_code="Y01234", name="Harbour Lane Surgery", kind=OrganisationKind.GP_PRACTICE
    )
    profile = ReferrerProfileFactory(
        user=UserFactory(email="gp.nurse@example.nhs.uk", full_name="Gwen Practice"),
    )
    EmploymentFactory(
        referrer=profile,
        organisation=practice,
        job_title="Advanced nurse practitioner",
        level=LevelOfPractice.ADVANCED,
    )
    return profile.user


def test_a_gp_practice_referrer_without_an_agreement_is_told_why_not(
    client, gp_referrer, trust, procedure
):
    client.force_login(gp_referrer)
    response = client.get(reverse("application_start"))
    page = text(response)
    assert "Advanced nurse practitioner, advanced at Harbour Lane Surgery" in page
    assert "you cannot apply in this role yet" in page
    assert "Harbour Lane Surgery does not entitle referrers itself" in page
    assert "shared-responsibility agreement" in page
    assert 'name="choice"' not in body(response)
    # Posting the trust anyway is refused: the choice is not one the person has.
    practice_job = employment_of(gp_referrer)
    response = client.post(
        reverse("application_start"), {"choice": choice(practice_job, trust), "kind": "referral"}
    )
    assert "Select the role and the employer you are applying to" in body(response)
    assert not Application.objects.exists()


def test_a_gp_practice_referrer_applies_to_the_trust_under_a_current_agreement(
    client, gp_referrer, trust, org_admin, procedure, catalogue
):
    practice_job = employment_of(gp_referrer)
    people_services.agreement_create(
        imaging_provider=trust,
        referring_organisation=practice_job.organisation,
        valid_from=datetime.date(2025, 4, 1),
        document_reference="SRA-2025-07",
        by=org_admin,
    )
    client.force_login(gp_referrer)
    response = client.get(reverse("application_start"))
    page = text(response)
    assert "you cannot apply in this role yet" not in page
    assert (
        "Applying to Dorset Coast Hospitals NHS Trust under the shared-responsibility agreement "
        "SRA-2025-07" in page
    )
    application = start(client, gp_referrer, trust)
    assert application.organisation == trust
    assert application.employment == practice_job
    # The scope comes from the imaging provider's catalogue.
    response = client.get(reverse("application_scope_add", args=[application.pk]))
    assert "XR Chest (XCHES)" in body(response)


def test_an_ended_agreement_no_longer_opens_the_way(
    client, gp_referrer, trust, org_admin, procedure
):
    people_services.agreement_create(
        imaging_provider=trust,
        referring_organisation=employment_of(gp_referrer).organisation,
        valid_from=datetime.date(2025, 4, 1),
        valid_to=datetime.date(2026, 2, 28),
        document_reference="SRA-2025-07",
        by=org_admin,
    )
    client.force_login(gp_referrer)
    page = text(client.get(reverse("application_start")))
    assert "SRA-2025-07" not in page
    assert "Harbour Lane Surgery does not entitle referrers itself" in page


# --- Adding a role -------------------------------------------------------------------------


def test_adding_a_role_takes_the_employer_first_then_the_rest(client, referrer, trust, procedure):
    other = OrganisationFactory(ods_code="RA7", name="Another Trust")
    DepartmentFactory(organisation=other, name="Their ward")
    DepartmentFactory(organisation=trust, name="Minor injuries unit")
    client.force_login(referrer)
    response = client.get(reverse("employment_add"))
    assert 'method="get"' in body(response)
    assert "Dorset Coast Hospitals NHS Trust (RDZ)" in body(response)
    # An unknown employer is an error on the first step.
    response = client.get(reverse("employment_add"), {"organisation": "ZZZ"})
    assert "Select your employer" in body(response) and "There is a problem" in body(response)

    response = client.get(reverse("employment_add"), {"organisation": "RDZ"})
    page = body(response)
    assert "Minor injuries unit" in page
    assert "Their ward" not in page  # only the chosen employer's departments are offered


def test_adding_a_role_validates_every_field_and_saves_nothing_when_wrong(
    client, referrer, trust, procedure
):
    theirs = DepartmentFactory(organisation=OrganisationFactory(ods_code="RA7"), name="Theirs")
    client.force_login(referrer)
    before = Employment.objects.count()
    response = client.post(
        reverse("employment_add"),
        {
            "organisation": "RDZ",
            "job_title": "",
            "level": "",
            "department": str(theirs.pk),
            "starts_on_day": "1",
            "starts_on_month": "1",
            "starts_on_year": "2027",
        },
    )
    page = body(response)
    assert response.status_code == 200
    assert "Enter your job title" in page
    assert "Select your level of practice" in page
    assert "Select a department of your employer" in page
    assert "The start date must be today or in the past" in page
    assert Employment.objects.count() == before


def test_an_added_role_can_be_applied_in(client, referrer, trust, procedure):
    department = DepartmentFactory(organisation=trust, name="Minor injuries unit")
    client.force_login(referrer)
    response = client.post(
        reverse("employment_add"),
        {
            "organisation": "RDZ",
            "job_title": "Consultant practitioner",
            "level": "consultant",
            "department": str(department.pk),
            "starts_on_day": "1",
            "starts_on_month": "2",
            "starts_on_year": "2026",
        },
    )
    assert response["Location"] == reverse("application_start")
    employment = Employment.objects.get(job_title="Consultant practitioner")
    assert employment.referrer.user == referrer
    assert employment.department == department
    assert employment.clinical_supervisor is None
    assert employment.history.get().history_user == referrer
    page = text(client.get(reverse("application_start")))
    assert "has been added" in page
    assert "Consultant practitioner, consultant, Minor injuries unit at Dorset Coast" in page


# --- The full journey ----------------------------------------------------------------------


def test_the_whole_journey_through_the_pages(
    client, referrer, supervisor, trust, catalogue, procedure
):
    client.force_login(referrer)
    application = start(client, referrer, trust)
    assert application.clinical_supervisor == supervisor  # from the employment

    # The task list: one section done, four to go, nothing to submit yet.
    response = client.get(reverse("application", args=[application.pk]))
    page = text(response)
    assert body(response).count("<h1") == 1
    assert "You have completed 1 of 5 sections" in page
    for section in ["Role and kind", "Service need", "Scope requested", "Supervision and"]:
        assert section in page
    assert "Cannot start yet" in page
    assert reverse("application_check", args=[application.pk]) not in body(response)

    # Step 2.
    url = reverse("application_service_need", args=[application.pk])
    assert "Why does your role need to request imaging?" in body(client.get(url))
    response = client.post(
        url, {"service_need": "ED patients with injuries.", "expected_volume": "400"}
    )
    assert response["Location"] == reverse("application", args=[application.pk])

    # Step 3: add two items, change one, remove one.
    url = reverse("application_scope_add", args=[application.pk])
    page = body(client.get(url))
    assert '<optgroup label="Computed tomography">' in page or "<optgroup" in page
    assert "CT Head with contrast (CHEAC)" in page
    response = client.post(url, {**SCOPE, "examination": f"e:{catalogue['xr_chest'].pk}"})
    assert response["Location"] == reverse("application_scope", args=[application.pk])
    client.post(url, {**SCOPE, "examination": f"e:{catalogue['mr_knee'].pk}"})
    xr, mr = application.scope_items.order_by("id")
    assert xr.settings == ["ED", "MIU"] and xr.age_min == 16 and xr.age_max is None
    assert xr.exclusions == "No pregnancy-possible patients under 16"

    response = client.get(reverse("application_scope", args=[application.pk]))
    page = text(response)
    assert "XR Chest (XCHES)" in page and "MR Knee (MKNEE)" in page
    assert "16 years and over" in page and "Emergency department, Minor injuries unit" in page
    assert reverse("application_scope_edit", args=[application.pk, xr.pk]) in body(response)
    assert reverse("application_scope_remove", args=[application.pk, mr.pk]) in body(response)

    edit = reverse("application_scope_edit", args=[application.pk, xr.pk])
    page = body(client.get(edit))
    assert f'value="e:{catalogue["xr_chest"].pk}" selected' in page  # prefilled
    assert 'value="16"' in page
    client.post(
        edit,
        {**SCOPE, "examination": f"e:{catalogue['xr_chest'].pk}", "age_max": "65"},
    )
    xr.refresh_from_db()
    assert xr.age_max == 65

    remove = reverse("application_scope_remove", args=[application.pk, mr.pk])
    assert "Are you sure you want to remove MR Knee (MKNEE)?" in text(client.get(remove))
    assert application.scope_items.count() == 2  # a GET removes nothing
    client.post(remove)
    assert list(application.scope_items.all()) == [xr]

    # Step 4: the supervisor's e-mail address is prefilled from the application.
    url = reverse("application_supervision", args=[application.pk])
    assert 'value="supervisor@example.nhs.uk"' in body(client.get(url))
    client.post(
        url,
        {
            "clinical_supervisor": "SUPERVISOR@example.nhs.uk",
            "decision_line": "Consultant in emergency medicine on shift",
            "accountability_line": "Clinical lead for emergency medicine",
        },
    )

    # Step 5.
    url = reverse("application_evidence", args=[application.pk])
    assert 'enctype="multipart/form-data"' in body(client.get(url))
    response = client.post(url, {"file": pdf_upload(), "kind": "competency"})
    assert response["Location"] == url
    assert "competency-sign-off.pdf has been uploaded" in text(client.get(url))

    # Everything done: the task list offers "Check and submit".
    response = client.get(reverse("application", args=[application.pk]))
    assert "You have completed 5 of 5 sections" in text(response)
    assert reverse("application_check", args=[application.pk]) in body(response)

    # Check your answers.
    check = reverse("application_check", args=[application.pk])
    response = client.get(check)
    page = text(response)
    assert "Check your answers before submitting your application" in page
    for answer in [
        "Advanced nurse practitioner, advanced at Dorset Coast Hospitals NHS Trust",
        "Referral for imaging",
        "ED patients with injuries.",
        "400",
        "XR Chest (XCHES)",
        "16 to 65 years",
        "Sue Supervisor (supervisor@example.nhs.uk)",
        "Consultant in emergency medicine on shift",
        "Clinical lead for emergency medicine",
        "competency-sign-off.pdf",
    ]:
        assert answer in page, answer
    assert "Change role" in page  # the visually hidden text says what each link changes
    assert "Change clinical supervisor" in page
    assert "Submit application" in page
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DRAFT  # GET changes nothing

    response = client.post(check)
    assert response["Location"] == reverse("application_submitted", args=[application.pk])
    application.refresh_from_db()
    assert application.status == ApplicationStatus.AWAITING_ENDORSEMENT
    assert application.submitted_at is not None
    assert Notification.objects.filter(
        user=supervisor, url=reverse("endorsement", args=[application.pk])
    ).exists()

    response = client.get(response["Location"])
    page = text(response)
    assert "Application submitted" in page
    assert application.reference in page
    assert "Sue Supervisor, is asked to endorse" in page
    assert 'class="nhsuk-panel"' in body(response)


def test_each_step_refuses_bad_answers_and_saves_nothing(
    client, referrer, supervisor, trust, catalogue, procedure
):
    client.force_login(referrer)
    application = start(client, referrer, trust)
    services.application_scope_item_add(
        application=application,
        by=referrer,
        request=services.ScopeRequest(examination=catalogue["ct_head"], settings=("ED",)),
    )
    item = application.scope_items.get()
    before = snapshot(application)
    cases = [
        (
            reverse("application_service_need", args=[application.pk]),
            {"service_need": "  ", "expected_volume": "lots"},
            [
                "Enter why your role needs to request imaging",
                "Enter how many requests you expect to make in a year as a whole number",
            ],
        ),
        (
            reverse("application_service_need", args=[application.pk]),
            {"service_need": "Reason", "expected_volume": "0"},
            ["Enter how many requests you expect to make in a year as 1 or more"],
        ),
        (
            reverse("application_scope_add", args=[application.pk]),
            {"examination": "", "age_min": "40", "age_max": "18", "settings": []},
            [
                "Select an examination or a group of examinations",
                "Oldest age must be the same as or more than the youngest age",
                "Select at least one setting",
            ],
        ),
        (
            reverse("application_scope_add", args=[application.pk]),
            {**SCOPE, "examination": f"e:{catalogue['ct_head'].pk}"},
            ["You have already asked for that: change the existing item"],
        ),
        (
            reverse("application_scope_add", args=[application.pk]),
            {**SCOPE, "examination": "e:999999", "age_min": "-1", "settings": ["XX"]},
            [
                "Select an examination or a group of examinations from the list",
                "Enter the youngest patient age as 0 or more",
                "Select settings from the list",
            ],
        ),
        (
            reverse("application_scope_edit", args=[application.pk, item.pk]),
            {**SCOPE, "examination": f"e:{catalogue['ct_head'].pk}", "age_min": "abc"},
            ["Enter the youngest patient age as a whole number"],
        ),
        (
            reverse("application_supervision", args=[application.pk]),
            {"clinical_supervisor": "nobody@example.nhs.uk", "decision_line": ""},
            [
                "No active user has that email address",
                "Enter your decision-making line",
                "Enter your accountability line",
            ],
        ),
        (
            reverse("application_supervision", args=[application.pk]),
            {
                "clinical_supervisor": "referrer@example.nhs.uk",
                "decision_line": "x",
                "accountability_line": "y",
            },
            ["Your clinical supervisor must be someone else"],
        ),
        (
            reverse("application_supervision", args=[application.pk]),
            {"clinical_supervisor": "not-an-address", "decision_line": "x"},
            ["Enter an email address in the correct format"],
        ),
        (
            reverse("application_evidence", args=[application.pk]),
            {"kind": "training"},
            ["Select a file to upload"],
        ),
        (
            reverse("application_evidence", args=[application.pk]),
            {"file": pdf_upload(), "kind": "selfie"},
            ["Select what the file shows"],
        ),
        (
            reverse("application_employment", args=[application.pk]),
            {"choice": "", "kind": "x-ray vision"},
            [
                "Select the role and the employer you are applying to",
                "Select what you want to be entitled to do",
            ],
        ),
    ]
    for url, data, messages in cases:
        response = client.post(url, data)
        page = text(response)
        assert response.status_code == 200, (url, data)
        assert "There is a problem" in page, url
        for message in messages:
            assert message in page, (url, message)
        assert snapshot(application) == before, (url, data)
    assert not Evidence.objects.exists()


def test_an_inactive_user_cannot_be_named_supervisor(client, referrer, trust, procedure):
    UserFactory(email="gone@example.nhs.uk", is_active=False)
    client.force_login(referrer)
    application = start(client, referrer, trust)
    response = client.post(
        reverse("application_supervision", args=[application.pk]),
        {
            "clinical_supervisor": "gone@example.nhs.uk",
            "decision_line": "a",
            "accountability_line": "b",
        },
    )
    assert "No active user has that email address" in body(response)
    application.refresh_from_db()
    assert application.decision_line == ""


def test_an_examination_group_can_be_asked_for(client, referrer, trust, catalogue, procedure):
    group = ExaminationGroup.objects.create(organisation=trust, name="Plain film, chest and limbs")
    group.examinations.add(catalogue["xr_chest"])
    client.force_login(referrer)
    application = start(client, referrer, trust)
    url = reverse("application_scope_add", args=[application.pk])
    page = body(client.get(url))
    assert '<optgroup label="Groups of examinations">' in page
    assert "Plain film, chest and limbs (1 examinations)" in page
    client.post(url, {**SCOPE, "examination": f"g:{group.pk}"})
    item = application.scope_items.get()
    assert item.group == group and item.examination is None
    assert "Plain film, chest and limbs (group)" in text(
        client.get(reverse("application_scope", args=[application.pk]))
    )


def test_another_employers_or_an_inactive_examination_cannot_be_asked_for(
    client, referrer, trust, other_trust, catalogue, procedure
):
    from tests.journeys import catalogue_at

    theirs = catalogue_at(other_trust)["xr_chest"]
    retired = catalogue["mr_knee"]
    retired.is_active = False
    retired.save()
    client.force_login(referrer)
    application = start(client, referrer, trust)
    url = reverse("application_scope_add", args=[application.pk])
    page = body(client.get(url))
    assert f"e:{theirs.pk}" not in page and f"e:{retired.pk}" not in page
    for examination in (theirs, retired):
        response = client.post(url, {**SCOPE, "examination": f"e:{examination.pk}"})
        assert "Select an examination or a group of examinations from the list" in body(response)
    assert not ApplicationScopeItem.objects.exists()


def test_changing_the_role_and_kind_of_a_draft(client, referrer, trust, catalogue, procedure):
    client.force_login(referrer)
    application = start(client, referrer, trust)
    url = reverse("application_employment", args=[application.pk])
    page = body(client.get(url))
    assert f'value="{choice(employment_of(referrer), trust)}" checked' in page
    assert 'value="referral" checked' in page
    response = client.post(
        url, {"choice": choice(employment_of(referrer), trust), "kind": "clinical_evaluation"}
    )
    assert response["Location"] == reverse("application", args=[application.pk])
    application.refresh_from_db()
    assert application.kind == "clinical_evaluation"


# --- Resume --------------------------------------------------------------------------------


def test_leaving_and_coming_back_resumes_where_the_referrer_was(
    client, referrer, supervisor, trust, catalogue, procedure
):
    client.force_login(referrer)
    application = start(client, referrer, trust)
    client.post(
        reverse("application_service_need", args=[application.pk]),
        {"service_need": "ED injuries", "expected_volume": "250"},
    )
    client.post(
        reverse("application_supervision", args=[application.pk]),
        {"clinical_supervisor": "supervisor@example.nhs.uk", "decision_line": "ED consultant"},
    )  # incomplete: no accountability line, so nothing saved
    client.logout()

    client.force_login(referrer)
    page = text(client.get(reverse("applications")))
    assert application.reference in page and "2 of 5 sections completed" in page

    response = client.get(reverse("application", args=[application.pk]))
    page = text(response)
    assert "You have completed 2 of 5 sections" in page
    assert "250 requests a year" in page
    assert re.search(r"Service need .*?Completed", page)
    assert re.search(r"Scope requested .*?Not started", page)
    assert 'value="250"' in body(
        client.get(reverse("application_service_need", args=[application.pk]))
    )
    assert "ED injuries" in body(
        client.get(reverse("application_service_need", args=[application.pk]))
    )


def test_a_partly_answered_section_is_incomplete(client, referrer, trust, procedure):
    client.force_login(referrer)
    application = start(client, referrer, trust)
    services.application_answer(application=application, by=referrer, service_need="Only why")
    page = text(client.get(reverse("application", args=[application.pk])))
    assert re.search(r"Service need .*?Incomplete", page)


def test_the_check_page_lists_what_is_missing_and_submitting_early_is_refused(
    client, referrer, supervisor, trust, procedure
):
    client.force_login(referrer)
    application = start(client, referrer, trust)
    check = reverse("application_check", args=[application.pk])
    page = text(client.get(check))
    assert "Your application is not finished" in page
    assert "Add at least one examination or group" in page

    response = client.post(check)
    page = body(response)
    assert response.status_code == 200
    assert "There is a problem" in page and "<title>Error:" in page
    for url_name, message in [
        ("application_service_need", "Tell us why your role needs this"),
        ("application_scope", "Add at least one examination or group"),
        ("application_supervision", "Name your clinical supervisor"),
        ("application_evidence", "Upload at least one piece of evidence"),
    ]:
        assert f'href="{reverse(url_name, args=[application.pk])}"' in page, url_name
        assert message in page
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DRAFT
    assert not Notification.objects.filter(user=supervisor).exists()


# --- Returned, resubmitted, and what the referrer sees afterwards --------------------------


def test_a_supervisors_refusal_comes_back_with_their_comment_and_is_resubmitted(
    client, referrer, supervisor, trust, catalogue, procedure
):
    application = apply(referrer, trust, [catalogue["xr_chest"]], supervisor=supervisor)
    services.application_endorse(
        application=application,
        by=supervisor,
        outcome="declined",
        comment="Please describe who covers you at night.",
    )
    client.force_login(referrer)
    response = client.get(reverse("application", args=[application.pk]))
    page = text(response)
    assert "Your application was returned to you" in page
    assert "Sue Supervisor, your clinical supervisor" in page
    assert "Please describe who covers you at night." in page
    assert "Returned for more information" in page

    client.post(
        reverse("application_supervision", args=[application.pk]),
        {
            "clinical_supervisor": "supervisor@example.nhs.uk",
            "decision_line": "ED consultant; at night the on-call registrar",
            "accountability_line": "Clinical lead for emergency medicine",
        },
    )
    application.refresh_from_db()
    assert application.decision_line == "ED consultant; at night the on-call registrar"
    response = client.post(reverse("application_check", args=[application.pk]))
    assert response["Location"] == reverse("application_submitted", args=[application.pk])
    application.refresh_from_db()
    assert application.status == ApplicationStatus.AWAITING_ENDORSEMENT


def test_a_delegates_return_shows_their_rationale(client, referrer, endorsed_application, delegate):
    services.application_decide(
        application=endorsed_application,
        by=delegate,
        outcome="returned",
        rationale="Add your contrast safety certificate.",
    )
    client.force_login(referrer)
    page = text(client.get(reverse("application", args=[endorsed_application.pk])))
    assert "Dana Delegate, your entitlement delegate" in page
    assert "Add your contrast safety certificate." in page
    # The steps are open again.
    response = client.get(reverse("application_evidence", args=[endorsed_application.pk]))
    assert response.status_code == 200


def test_a_submitted_application_is_read_only_and_says_what_happens_next(
    client, referrer, supervisor, trust, catalogue, procedure
):
    application = apply(referrer, trust, [catalogue["xr_chest"]], supervisor=supervisor)
    client.force_login(referrer)
    response = client.get(reverse("application", args=[application.pk]))
    page = text(response)
    assert f"Application {application.reference}" in page
    assert "Awaiting endorsement" in page
    assert "Sue Supervisor, has been asked to confirm" in page
    assert "0 days ago" in page
    assert "XR Chest (XCHES)" in page
    assert reverse("application_withdraw", args=[application.pk]) in body(response)
    assert reverse("application_service_need", args=[application.pk]) not in body(response)


def test_no_step_page_changes_an_application_that_has_left_the_referrer(
    client, referrer, supervisor, trust, catalogue, procedure
):
    application = apply(referrer, trust, [catalogue["xr_chest"]], supervisor=supervisor)
    item = application.scope_items.get()
    evidence = application.evidence.get()
    before = snapshot(application)
    pk = application.pk
    client.force_login(referrer)
    pages = [
        (reverse("application_employment", args=[pk]), {"choice": "1:1", "kind": "referral"}),
        (
            reverse("application_service_need", args=[pk]),
            {"service_need": "x", "expected_volume": "1"},
        ),
        (reverse("application_scope", args=[pk]), {}),
        (
            reverse("application_scope_add", args=[pk]),
            {**SCOPE, "examination": f"e:{catalogue['ct_head'].pk}"},
        ),
        (
            reverse("application_scope_edit", args=[pk, item.pk]),
            {**SCOPE, "examination": f"e:{item.examination_id}", "age_min": "1"},
        ),
        (reverse("application_scope_remove", args=[pk, item.pk]), {}),
        (
            reverse("application_supervision", args=[pk]),
            {
                "clinical_supervisor": "supervisor@example.nhs.uk",
                "decision_line": "x",
                "accountability_line": "y",
            },
        ),
        (reverse("application_evidence", args=[pk]), {"file": pdf_upload(), "kind": "training"}),
        (reverse("evidence_remove", args=[pk, evidence.pk]), {}),
        (reverse("application_check", args=[pk]), {}),
    ]
    for url, data in pages:
        for method in ("get", "post"):
            response = getattr(client, method)(url, data)
            assert response.status_code == 302, (method, url)
            assert response["Location"] == reverse("application", args=[pk]), (method, url)
    assert snapshot(application) == before
    page = text(client.get(reverse("application", args=[pk])))
    assert "is awaiting endorsement, so it cannot be changed" in page


def test_a_granted_application_links_to_the_entitlement(client, referrer, entitlement):
    client.force_login(referrer)
    response = client.get(reverse("application", args=[entitlement.application_id]))
    page = text(response)
    assert "Granted" in page
    assert f"See your entitlement {entitlement.reference}" in page
    assert reverse("entitlement", args=[entitlement.pk]) in body(response)
    assert "Meets the criteria in RAD-POL-012." in page
    assert reverse("application_withdraw", args=[entitlement.application_id]) not in body(response)


def test_a_declined_application_shows_the_rationale(
    client, referrer, endorsed_application, delegate
):
    services.application_decide(
        application=endorsed_application,
        by=delegate,
        outcome="declined",
        rationale="The service does not need a non-medical CT referrer.",
    )
    client.force_login(referrer)
    page = text(client.get(reverse("application", args=[endorsed_application.pk])))
    assert "Declined" in page and "Why it was declined" in page
    assert "The service does not need a non-medical CT referrer." in page


# --- Withdraw ------------------------------------------------------------------------------


def test_withdrawing_asks_first_and_then_closes_the_application(
    client, referrer, supervisor, trust, catalogue, procedure
):
    application = apply(referrer, trust, [catalogue["xr_chest"]], supervisor=supervisor)
    url = reverse("application_withdraw", args=[application.pk])
    client.force_login(referrer)
    response = client.get(url)
    assert f"Are you sure you want to withdraw application {application.reference}?" in text(
        response
    )
    application.refresh_from_db()
    assert application.status == ApplicationStatus.AWAITING_ENDORSEMENT

    response = client.post(url)
    assert response["Location"] == reverse("application", args=[application.pk])
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITHDRAWN
    assert application.closed_at is not None
    page = text(client.get(reverse("application", args=[application.pk])))
    assert "has been withdrawn" in page and "You withdrew this application" in page

    # Once closed it cannot be withdrawn again, and nothing changes.
    history = application.history.count()
    assert client.get(url)["Location"] == reverse("application", args=[application.pk])
    client.post(url)
    assert application.history.count() == history
    # A new application for the same role and kind may be started now.
    client.force_login(referrer)
    start(client, referrer, trust)


def test_a_draft_can_be_withdrawn(client, referrer, trust, procedure):
    client.force_login(referrer)
    application = start(client, referrer, trust)
    assert reverse("application_withdraw", args=[application.pk]) in body(
        client.get(reverse("application", args=[application.pk]))
    )
    client.post(reverse("application_withdraw", args=[application.pk]))
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITHDRAWN


def test_a_decided_application_cannot_be_withdrawn(client, referrer, entitlement):
    application = entitlement.application
    client.force_login(referrer)
    client.post(reverse("application_withdraw", args=[application.pk]))
    application.refresh_from_db()
    assert application.status == ApplicationStatus.GRANTED


# --- The referrer's home ---------------------------------------------------------------------


def test_the_referrer_home_leads_to_the_applications(
    client, referrer, supervisor, trust, catalogue, procedure
):
    draft = apply(referrer, trust, [catalogue["xr_chest"]], supervisor=supervisor, until="draft")
    client.force_login(referrer)
    response = client.get(reverse("referrer_home"))
    page = body(response)
    assert "Your applications" in page
    assert reverse("application_start") in page
    assert reverse("applications") in page
    assert reverse("application", args=[draft.pk]) in page
    assert draft.reference in page


def test_an_applicant_granted_is_not_a_grant_of_anything_else(client, referrer, entitlement, trust):
    """A live entitlement for the role and kind: step 1 says so instead of a duplicate."""
    client.force_login(referrer)
    response = client.post(
        reverse("application_start"),
        {"choice": choice(employment_of(referrer), trust), "kind": "referral"},
    )
    assert f"You already hold {entitlement.reference} for this role" in body(response)
    assert Application.objects.filter(referrer__user=referrer).count() == 1


def test_the_confirmation_is_only_for_a_just_submitted_application(
    client, referrer, trust, procedure
):
    client.force_login(referrer)
    application = start(client, referrer, trust)
    url = reverse("application_submitted", args=[application.pk])
    assert client.get(url)["Location"] == reverse("application", args=[application.pk])


def test_a_request_to_change_an_entitlement_keeps_its_role_and_kind(client, referrer, entitlement):
    variation = services.variation_start(entitlement=entitlement, by=referrer)
    client.force_login(referrer)
    response = client.get(reverse("application", args=[variation.pk]))
    page = text(response)
    assert f"A request to change {entitlement.reference}" in page
    assert reverse("application_employment", args=[variation.pk]) not in body(response)
    # The scope starts as what was granted, so that section is already complete.
    assert re.search(r"Scope requested .*?Completed", page)

    url = reverse("application_employment", args=[variation.pk])
    before = snapshot(variation)
    for method in ("get", "post"):
        response = getattr(client, method)(
            url,
            {
                "choice": choice(employment_of(referrer), entitlement.organisation),
                "kind": "clinical_evaluation",
            },
        )
        assert response["Location"] == reverse("application", args=[variation.pk])
    assert snapshot(variation) == before
    page = text(client.get(reverse("application_check", args=[variation.pk])))
    assert f"Asks to change {entitlement.reference}" in page
    assert "Change role" not in page
