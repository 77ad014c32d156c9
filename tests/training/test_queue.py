"""The delegate's training queue: what appears in each section, the one-click actions, who
may see it, and a query count that does not grow with the number of referrers."""

import datetime

import pytest
from django.urls import reverse

from entitlements import services as entitlement_services
from entitlements.models import (
    Application,
    ApplicationStatus,
    Decision,
    Entitlement,
    EntitlementState,
    ScopeItem,
    TrainingKind,
)
from referrers import services as people_services
from referrers.models import DelegateAppointment
from tests.factories import (
    DepartmentFactory,
    EmploymentFactory,
    ExaminationFactory,
    OrganisationFactory,
    ReferrerProfileFactory,
    UserFactory,
)
from tests.journeys import apply, grant
from training import selectors
from training.models import LapseState, RecordKind, TrainingLapse, TrainingRecord
from training.requirements import Status

from .builders import TODAY, frozen_today, make_record  # noqa: F401 (an autouse fixture)

pytestmark = pytest.mark.django_db

D = datetime.date
RP = TrainingKind.RADIATION_PROTECTION
CONTRAST = TrainingKind.CONTRAST_SAFETY
RG = TrainingKind.REFERRAL_GUIDELINES


def queue(client, ods="RDZ", **params):
    return client.get(reverse("training_queue", args=[ods]), params)


def section(page: str, anchor: str) -> str:
    """The text of one section of the queue page, from its heading to the next."""
    start = page.index(f'id="{anchor}"')
    end = page.find('<h2 class="nhsuk-heading-m"', start + 1)
    return page[start : end if end != -1 else None]


def lapse(entitlement, kind, state, *, items=(), record=None) -> TrainingLapse:
    return TrainingLapse.objects.create(
        entitlement=entitlement,
        training_kind=kind,
        lapsed_on=D(2026, 2, 1),
        procedure_version=entitlement.procedure_version,
        suspended_whole=not items,
        scope_item_ids=[item.pk for item in items],
        state=state,
        renewed_by_record=record,
    )


@pytest.fixture
def practice_referrer(trust, delegate, org_admin, procedure, catalogue):
    """Gareth, employed by a GP practice and entitled by the trust for XR chest under a
    shared-responsibility agreement; he has no training records."""
    practice = OrganisationFactory(ods_code="J99001", name="Riverside Surgery", kind="gp_practice")
    people_services.agreement_create(
        imaging_provider=trust,
        referring_organisation=practice,
        valid_from=D(2025, 1, 1),
        document_reference="SRA-1",
        by=org_admin,
    )
    profile = ReferrerProfileFactory(
        user=UserFactory(email="gareth@example.nhs.uk", full_name="Gareth Practice"),
        registration_number="55P5555P",
    )
    EmploymentFactory(referrer=profile, organisation=practice)
    supervisor = UserFactory(full_name="Gp Supervisor")
    application = apply(
        profile.user, trust, [catalogue["xr_chest"]], supervisor=supervisor, until="endorsed"
    )
    return grant(application, delegate)


@pytest.fixture
def world(trust, referrer, delegate, entitlement, practice_referrer, other_referrer, other_trust):
    """Priya (entitled: XR chest, CT head with contrast) has valid radiation protection,
    contrast safety expiring on 10 April 2026, no referral guidelines, and an unverified MRI
    safety record. Gareth (a GP practice's, entitled here) has nothing; his review is
    overdue. Sam (another trust's) has an unverified record. Two referrers of the trust have
    registration problems."""
    make_record(referrer, RP, D(2025, 6, 1), verified_by=delegate)
    make_record(referrer, CONTRAST, D(2024, 4, 10), verified_by=delegate)
    unverified = make_record(referrer, TrainingKind.MRI_SAFETY, D(2026, 2, 20), title="MRI safe")
    make_record(other_referrer, RG, D(2026, 2, 1), title="Someone else's course")
    Entitlement.objects.filter(pk=practice_referrer.pk).update(review_due_on=D(2026, 2, 1))
    expired = ReferrerProfileFactory(
        user=UserFactory(full_name="Ella Expired"), registration_expires_on=D(2026, 2, 28)
    )
    EmploymentFactory(referrer=expired, organisation=trust)
    marked = ReferrerProfileFactory(
        user=UserFactory(full_name="Mo Marked"), registration_lapsed=True
    )
    EmploymentFactory(referrer=marked, organisation=trust)
    ct_item = entitlement.scope_items.get(examination__code="CHEAC")
    lapse(entitlement, CONTRAST, LapseState.QUEUED, items=[ct_item])
    lapse(practice_referrer, RP, LapseState.OPEN)
    return {"unverified": unverified}


def test_each_section_shows_what_needs_a_person(client, delegate, world, other_trust_delegate):
    client.force_login(delegate)

    response = queue(client)

    page = response.content.decode()
    assert response.status_code == 200
    assert page.count("<h1") == 1 and "Training queue" in page

    unverified = section(page, "unverified")
    assert "Priya Shah" in unverified and "MRI safety" in unverified
    assert reverse("training_record_verify", args=["RDZ", world["unverified"].pk]) in unverified
    assert "Someone else&#39;s course" not in page and "Sam Other" not in page

    training = section(page, "training")
    # Priya, in the fixture's department-less employment here; Gareth under his employer.
    assert "No department recorded: 2 requirements" in training
    assert "Riverside Surgery (employed there, entitled here): 2 requirements" in training
    priya = training[: training.index("Riverside Surgery")]
    assert "Contrast safety" in priya and "Expiring" in priya and "10 Apr 2026" in priya
    assert "Referral guidelines" in priya and "Missing" in priya
    assert "Radiation protection" not in priya  # valid, so not listed
    gareth = training[training.index("Riverside Surgery") :]
    assert "Gareth Practice" in gareth and "Radiation protection" in gareth
    assert "1 lapsed" not in training and "0 lapsed, 3 missing and 1 expiring" in training

    suspended = section(page, "suspended")
    assert "Gareth Practice" in suspended and "the whole entitlement" in suspended
    renewed = section(page, "renewed")
    assert "Priya Shah" in renewed and "Contrast safety" in renewed
    assert ">Reinstate<" in renewed

    reviews = section(page, "reviews")
    assert "Gareth Practice" in reviews and "1 Feb 2026" in reviews
    assert "Priya Shah" not in reviews

    registrations = section(page, "registrations")
    assert "Ella Expired" in registrations and "Renewal overdue" in registrations
    assert "Mo Marked" in registrations and "Marked lapsed" in registrations
    assert "Priya Shah" not in registrations


def test_one_click_verify_returns_to_the_queue_and_a_second_click_says_why_not(
    client, delegate, world
):
    client.force_login(delegate)
    record = world["unverified"]
    url = reverse("training_record_verify", args=["RDZ", record.pk])
    here = reverse("training_queue", args=["RDZ"]) + "?records=1"

    response = client.post(url, {"next": here})

    assert response.status_code == 302 and response["Location"] == here
    record.refresh_from_db()
    assert record.verified_by == delegate
    page = client.get(here).content.decode()
    assert "Priya Shah&#39;s MRI safety record has been verified" in page
    assert "No training records are waiting to be verified" in page

    again = client.post(url, {"next": "https://evil.example/"}, follow=True)
    assert again.redirect_chain[0][0] == reverse("training_queue", args=["RDZ"]) + "#unverified"
    assert "This record was already verified by Dana Delegate" in again.content.decode()


def test_verify_is_post_only(client, delegate, world):
    client.force_login(delegate)
    url = reverse("training_record_verify", args=["RDZ", world["unverified"].pk])
    assert client.get(url).status_code == 405
    world["unverified"].refresh_from_db()
    assert not world["unverified"].is_verified


def test_one_click_reinstate_of_a_renewed_lapse(client, delegate, entitlement, procedure):
    make_record(entitlement.referrer, RP, D(2025, 6, 1), verified_by=delegate)
    make_record(entitlement.referrer, RG, D(2025, 6, 1), verified_by=delegate)
    renewal = make_record(entitlement.referrer, CONTRAST, D(2026, 2, 20), verified_by=delegate)
    ct_item = entitlement.scope_items.get(examination__code="CHEAC")
    entitlement_services.entitlement_suspend(
        entitlement=entitlement,
        by=delegate,
        reason="Contrast training lapsed",
        scope_items=[ct_item],
    )
    queued = lapse(entitlement, CONTRAST, LapseState.QUEUED, items=[ct_item], record=renewal)
    client.force_login(delegate)

    response = client.post(
        reverse("training_lapse_reinstate", args=["RDZ", queued.pk]), follow=True
    )

    assert f"Priya Shah&#39;s {entitlement.reference} has been reinstated" in (
        response.content.decode()
    )
    queued.refresh_from_db()
    ct_item.refresh_from_db()
    assert queued.state == LapseState.REINSTATED and queued.resolved_by == delegate
    assert ct_item.state == "active"


def test_another_employers_delegate_and_a_referrer_are_refused(
    client, world, referrer, other_trust_delegate
):
    record = world["unverified"]
    queued = TrainingLapse.objects.get(state=LapseState.QUEUED)
    for user in (other_trust_delegate, referrer):
        client.force_login(user)
        assert queue(client).status_code == 403
        for name, pk in (
            ("training_record_verify", record.pk),
            ("training_lapse_reinstate", queued.pk),
        ):
            assert client.post(reverse(name, args=["RDZ", pk])).status_code == 403
    client.force_login(other_trust_delegate)
    assert queue(client, "RX9").status_code == 200
    assert (
        client.post(reverse("training_record_verify", args=["RX9", record.pk])).status_code == 404
    )
    assert (
        client.post(reverse("training_lapse_reinstate", args=["RX9", queued.pk])).status_code == 404
    )
    record.refresh_from_db()
    queued.refresh_from_db()
    assert not record.is_verified and queued.state == LapseState.QUEUED


def test_a_delegate_whose_appointment_ended_sees_the_queue_without_buttons(client, delegate, world):
    DelegateAppointment.objects.filter(delegate=delegate).update(valid_to=D(2026, 3, 1))
    client.force_login(delegate)

    page = queue(client).content.decode()

    assert "You have no current delegate appointment here" in page
    assert "Priya Shah" in section(page, "unverified")
    assert reverse("training_record_verify", args=["RDZ", world["unverified"].pk]) not in page
    assert (
        client.post(
            reverse("training_record_verify", args=["RDZ", world["unverified"].pk])
        ).status_code
        == 403
    )


def test_the_first_narrowing_never_leaves_out_a_problem(referrer, delegate, entitlement, trust):
    """The database narrows the entitlements before statuses are computed; on every day
    around month ends, what the queue lists is what computing every status would list."""
    make_record(referrer, RP, D(2023, 12, 31), verified_by=delegate)
    make_record(referrer, CONTRAST, D(2024, 2, 29), verified_by=delegate)
    make_record(
        referrer, RG, D(2024, 8, 31), verified_by=delegate, certificate_expires_on=D(2026, 5, 31)
    )
    live = list(
        Entitlement.objects.filter(pk=entitlement.pk).prefetch_related(
            selectors.scope_items_prefetch()
        )
    )
    records = selectors.records_of_referrers([entitlement.referrer_id], counting_only=True)
    days = [D(2025, 12, 20) + datetime.timedelta(days=n) for n in range(0, 200, 3)]
    seen = set()
    for day in days:
        everything = {
            (r.kind, r.status)
            for r in selectors.training_status(live, records[entitlement.referrer_id], day)[
                0
            ].requirements
            if r.status != Status.VALID
        }
        listed = {
            (p.requirement.kind, p.requirement.status)
            for p in selectors.training_problems_at(trust, day)
        }
        assert listed == everything, day
        seen |= everything
    assert {status for _, status in seen} == {Status.EXPIRING, Status.LAPSED}


# --- Query counts ----------------------------------------------------------------------------

ROW = 'aria-hidden="true">Status </span>'


@pytest.fixture
def crowd(trust, procedure, delegate, catalogue):
    """`grow(range)` adds referrers like the ones a real queue holds: each in a department
    of their own with an entitlement (XR chest and CT head), expiring contrast training, an
    unverified record, and in turn a suspended or renewed lapse, an overdue review or an
    expired registration."""
    appointment = DelegateAppointment.objects.get(delegate=delegate)

    def grow(rows):
        for i in rows:
            profile = ReferrerProfileFactory(
                user=UserFactory(full_name=f"Row Person {i:03d}"),
                registration_expires_on=D(2026, 1, 1) if i % 4 == 3 else D(2030, 1, 1),
            )
            work = EmploymentFactory(
                referrer=profile,
                organisation=trust,
                department=DepartmentFactory(organisation=trust, name=f"Row department {i:03d}"),
            )
            application = Application.objects.create(
                referrer=profile,
                employment=work,
                organisation=trust,
                kind="referral",
                status=ApplicationStatus.GRANTED,
            )
            decision = Decision.objects.create(
                application=application,
                delegate=delegate,
                appointment=appointment,
                outcome="granted",
                rationale="Row",
            )
            entitlement = Entitlement.objects.create(
                referrer=profile,
                employment=work,
                organisation=trust,
                kind="referral",
                state=EntitlementState.ACTIVE,
                application=application,
                decision=decision,
                granted_by=delegate,
                delegate_appointment=appointment,
                procedure_version=procedure,
                review_due_on=D(2026, 2, 1) if i % 4 == 2 else D(2027, 1, 1),
            )
            group_exam = ExaminationFactory(organisation=trust, code=f"RX{i:04d}")
            ScopeItem.objects.create(entitlement=entitlement, examination=catalogue["ct_head"])
            group = entitlement.organisation.examination_groups.create(name=f"Row group {i:03d}")
            group.examinations.set([group_exam, catalogue["mr_knee"]])
            ScopeItem.objects.create(entitlement=entitlement, group=group)
            for kind in (RP, RG, TrainingKind.MRI_SAFETY):
                make_record(profile, kind, D(2025, 6, 1), verified_by=delegate)
            make_record(profile, CONTRAST, D(2024, 4, 10), verified_by=delegate)  # expiring
            make_record(
                profile, RecordKind.CPD, D(2026, 2, 1), hours=2, title=f"Row course {i:03d}"
            )
            if i % 4 == 0:
                lapse(entitlement, RP, LapseState.OPEN)
            elif i % 4 == 1:
                lapse(entitlement, RP, LapseState.QUEUED)

    return grow


def test_the_queue_reads_the_same_few_queries_for_10_or_200_referrers(
    client, delegate, crowd, django_assert_max_num_queries
):
    # Measured 27 with 10 and with 200: the 6 of every organisation page, the procedure in
    # force (version, rules), the delegate's appointment, the unverified records (count,
    # page), the training candidates with their scope (entitlements, items, groups'
    # examinations) and records, a count and a page for each of the other four sections, and
    # the three (empty) audit sections: reports to review, audit reviews, audit actions.
    client.force_login(delegate)
    crowd(range(10))
    queue(client)  # warm process-wide caches (content types, used by guardian)
    with django_assert_max_num_queries(27) as few:
        page = queue(client).content.decode()
    assert page.count("Row course") == 10
    assert section(page, "training").count(ROW) == 10

    crowd(range(10, 200))
    with django_assert_max_num_queries(27) as many:
        page = queue(client).content.decode()

    assert len(many.captured_queries) == len(few.captured_queries)
    assert page.count("Row course") == 20  # one page of the unverified records
    assert section(page, "training").count(ROW) == 20  # one page of 200 problems
    assert "200 records waiting" in page
    assert TrainingRecord.objects.count() == 1000
