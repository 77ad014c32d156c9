"""The register's engine: "may this referrer request this examination?", answered now.

Priya Shah (NMC 71A2998E) is entitled by Dorset Coast (RDZ) to request XR chest and CT head
(with contrast) for patients 16 and over, from the emergency department and minor injuries
unit (the `entitlement` fixture). Every answer is a yes or a no with its reasons in plain
sentences; anything the engine cannot establish is a no.
"""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from entitlements import selectors, services
from entitlements.models import EntitlementKind, Letter
from entitlements.selectors import as_of_problem, entitlement_check
from entitlements.services import Rule, ScopeRequest
from referrers.models import Role, SharedResponsibilityAgreement
from tests.factories import (
    EmploymentFactory,
    OrganisationFactory,
    ReferrerProfileFactory,
    UserFactory,
    give_role,
)
from tests.journeys import apply, grant, pdf_upload

REASON = "Contrast safety training record could not be verified"
LOWER = "contrast safety training record could not be verified"  # as it follows "because"


def check(organisation, *, registration="71A2998E", code="XCHES", age=40, setting="ED", **kw):
    return entitlement_check(
        organisation=organisation,
        regulator=kw.pop("regulator", "NMC"),
        registration_number=registration,
        examination_code=code,
        patient_age=age,
        setting=setting,
        **kw,
    )


def said(answer) -> str:
    return " ".join(answer.reasons)


def item_for(entitlement, code):
    return entitlement.scope_items.get(examination__code=code)


# --- Yes ---------------------------------------------------------------------------------------


def test_inside_scope_is_a_yes_with_the_scope_item_conditions_and_who_decided(trust, entitlement):
    answer = check(trust)
    assert answer.entitled is True
    assert answer.referrer.registration == "NMC:71A2998E"
    assert answer.examination.code == "XCHES"
    assert answer.entitlement.pk == entitlement.pk
    assert answer.scope_item == item_for(entitlement, "XCHES")
    assert answer.conditions == {
        "age_min": 16,
        "age_max": None,
        "settings": ["ED", "MIU"],
        "clinical_indications": "Suspected fracture or as iRefer",
        "exclusions": "No pregnancy-possible patients",
        "subject": "XR Chest (XCHES)",
        "code": "XCHES",
    }
    assert answer.decided_by == "Dana Delegate"
    assert answer.procedure_version == f"RDZ procedure v{entitlement.procedure_version.number}"
    assert answer.letter_code == Letter.objects.get(entitlement=entitlement).verification_code
    assert answer.as_of is None and answer.checked_at is not None
    text = said(answer)
    assert "Priya Shah may request XR Chest (XCHES) under entitlement" in text
    assert entitlement.reference in text and "granted by Dana Delegate" in text
    # What a machine cannot check is handed back to the person asking.
    assert "clinical indications cannot be checked here" in text
    assert "Suspected fracture or as iRefer" in text
    assert "exclusions cannot be checked here" in text
    assert "No pregnancy-possible patients" in text
    assert all(reason.endswith(".") for reason in answer.reasons)


def test_regulator_number_and_code_are_read_the_way_people_type_them(trust, entitlement):
    answer = check(trust, regulator="nmc", registration=" 71a2998e ", code=" xches", setting="ed")
    assert answer.entitled is True


def test_the_age_limits_are_inclusive(trust, entitlement):
    assert check(trust, age=16).entitled is True
    assert check(trust, age=130).entitled is True


def test_current_lookup_reads_the_database_at_most_twice(trust, entitlement):
    # Once first: on a new connection SQLite is asked, once, whether it supports JSON.
    check(trust)
    with CaptureQueriesContext(connection) as queries:
        answer = check(trust, code="CHEAC")
    assert answer.entitled is True
    assert len(queries) <= 2
    # ...and touching what the answer carries costs nothing more.
    with CaptureQueriesContext(connection) as more:
        _ = (
            answer.referrer.user.full_name,
            answer.entitlement.reference,
            answer.scope_item.subject_label,
            answer.entitlement.organisation.name,
        )
    assert len(more) == 0


def test_query_count_does_not_grow_with_scope_items(
    trust, referrer, supervisor, procedure, delegate
):
    from tests.factories import ExaminationFactory

    examinations = [
        ExaminationFactory(organisation=trust, code=f"XR{n:03d}", name=f"XR {n}") for n in range(30)
    ]
    entitlement = grant(
        apply(referrer, trust, examinations, supervisor=supervisor, until="endorsed"), delegate
    )
    services.entitlement_suspend(
        entitlement=entitlement,
        by=delegate,
        reason=REASON,
        scope_items=list(entitlement.scope_items.all()[:5]),
    )
    check(trust)  # see test_current_lookup_reads_the_database_at_most_twice
    with CaptureQueriesContext(connection) as queries:
        assert check(trust, code="XR029").entitled is True
        assert check(trust, code="XR000").entitled is False
        assert check(trust, registration="99Z9999Z").entitled is False
    assert len(queries) <= 6


# --- Each condition violated --------------------------------------------------------------------


def test_a_patient_younger_than_the_item_allows_is_a_no(trust, entitlement):
    answer = check(trust, age=15)
    assert answer.entitled is False
    assert "The patient is 15: under XR Chest (XCHES) the patient must be 16 years and over." in (
        answer.reasons
    )
    # The item it rests on is still shown, with its conditions.
    assert answer.scope_item == item_for(entitlement, "XCHES")
    assert answer.conditions["age_min"] == 16


def test_a_patient_older_than_the_item_allows_is_a_no(
    trust, referrer, supervisor, procedure, delegate, catalogue
):
    application = apply_for(
        referrer,
        trust,
        [ScopeRequest(examination=catalogue["xr_chest"], age_min=0, age_max=15, settings=("ED",))],
        supervisor=supervisor,
    )
    grant(application, delegate)
    assert check(trust, age=15).entitled is True
    answer = check(trust, age=16)
    assert answer.entitled is False
    assert "The patient is 16: under XR Chest (XCHES) the patient must be 0 to 15 years." in (
        answer.reasons
    )


def test_a_setting_the_item_does_not_allow_is_a_no(trust, entitlement):
    answer = check(trust, setting="OUTPATIENT")
    assert answer.entitled is False
    assert (
        "XR Chest (XCHES) may not be requested from outpatients: only from emergency "
        "department, minor injuries unit." in answer.reasons
    )


def test_age_and_setting_both_wrong_are_both_said(trust, entitlement):
    answer = check(trust, age=3, setting="COMMUNITY")
    assert answer.entitled is False
    assert len(answer.reasons) == 2


def test_an_unknown_setting_or_an_impossible_age_is_a_no(trust, entitlement):
    assert "COTTAGE is not a care setting we know." in check(trust, setting="cottage").reasons
    for age in (-1, 131, "40", None, True):
        answer = check(trust, age=age)
        assert answer.entitled is False
        assert "The patient age must be a whole number of years from 0 to 130." in answer.reasons


# --- Outside scope, unknown ----------------------------------------------------------------------


def test_an_examination_in_the_catalogue_but_not_in_scope_is_a_no(trust, entitlement):
    answer = check(trust, code="MKNEE")
    assert answer.entitled is False
    assert answer.examination.code == "MKNEE"
    assert answer.scope_item is None and answer.conditions is None
    assert answer.entitlement.pk == entitlement.pk
    assert (
        f"MR Knee (MKNEE) is outside the scope of Priya Shah's entitlement {entitlement.reference}."
        in answer.reasons
    )


def test_an_examination_code_not_in_this_employers_catalogue_is_a_no(
    trust, other_trust, entitlement
):
    from tests.journeys import catalogue_at

    catalogue_at(other_trust)  # the same codes elsewhere do not count
    answer = check(trust, code="ZZZZZ")
    assert answer.entitled is False
    assert answer.examination is None
    assert "ZZZZZ is not an examination in Dorset Coast Hospitals NHS Trust's catalogue." in (
        answer.reasons
    )


def test_an_unknown_registration_is_a_no(trust, entitlement):
    answer = check(trust, registration="99Z9999Z")
    assert answer.entitled is False
    assert answer.referrer is None and answer.entitlement is None
    assert answer.reasons == [
        "No referrer with NMC registration number 99Z9999Z is known to this service. "
        "Check the regulator and the number."
    ]
    # The same number under another regulator is someone else (or nobody).
    assert check(trust, regulator="HCPC").referrer is None
    assert check(trust, regulator="XYZ").entitled is False


# --- Registration ---------------------------------------------------------------------------------


def test_a_registration_marked_lapsed_is_a_no(trust, entitlement, referrer):
    profile = referrer.referrer_profile
    profile.registration_lapsed = True
    profile.save()
    answer = check(trust)
    assert answer.entitled is False
    assert (
        answer.reasons[0]
        == "Priya Shah's NMC registration number 71A2998E has been marked as lapsed."
    )


def test_a_registration_past_its_expiry_date_is_a_no(trust, entitlement, referrer):
    profile = referrer.referrer_profile
    profile.registration_expires_on = datetime.date(2026, 1, 31)
    profile.save()
    with time_machine.travel(datetime.datetime(2026, 1, 31, 23, 0, tzinfo=datetime.UTC)):
        # 31 January is still covered (and 23:00 UTC is still that day in London)...
        assert check(trust).entitled is True
    with time_machine.travel(datetime.datetime(2026, 2, 1, 9, 0, tzinfo=datetime.UTC)):
        answer = check(trust)
    assert answer.entitled is False
    assert "Priya Shah's NMC registration number 71A2998E expired on 31 January 2026." in (
        answer.reasons
    )


# --- Suspended, revoked, expired -----------------------------------------------------------


def test_a_suspended_entitlement_is_a_no_saying_since_when_why_and_by_whom(
    trust, entitlement, delegate
):
    with time_machine.travel(datetime.datetime(2026, 3, 4, 10, 0, tzinfo=datetime.UTC)):
        services.entitlement_suspend(entitlement=entitlement, by=delegate, reason=REASON)
        answer = check(trust)
    assert answer.entitled is False
    assert answer.reasons == [
        f"Priya Shah's entitlement {entitlement.reference} from Dorset Coast Hospitals NHS Trust "
        f"has been suspended since 4 March 2026 because {LOWER} (by Dana Delegate)."
    ]
    assert answer.entitlement.pk == entitlement.pk


def test_a_suspension_for_lapsed_training_says_so_and_cites_the_rule(trust, entitlement, procedure):
    services.entitlement_suspend(
        entitlement=entitlement,
        by=Rule(procedure, "training.lapse"),
        reason="Radiation protection (IR(ME)R) training expired on 1 March 2026",
    )
    answer = check(trust)
    assert answer.entitled is False
    text = said(answer)
    assert (
        "because required training lapsed: radiation protection (IR(ME)R) training expired" in text
    )
    assert f"(RDZ procedure v{procedure.number}, rule training.lapse)" in text


def test_one_suspended_scope_item_is_a_no_for_it_and_a_yes_for_the_rest(
    trust, entitlement, delegate
):
    services.entitlement_suspend(
        entitlement=entitlement,
        by=delegate,
        reason=REASON,
        scope_items=[item_for(entitlement, "CHEAC")],
    )
    answer = check(trust, code="CHEAC")
    assert answer.entitled is False
    assert answer.scope_item == item_for(entitlement, "CHEAC")
    text = said(answer)
    assert (
        f"CT Head with contrast (CHEAC) on entitlement {entitlement.reference} has been "
        "suspended since" in text
    )
    assert f"because {LOWER} (by Dana Delegate)." in text
    assert check(trust, code="XCHES").entitled is True


def test_a_revoked_entitlement_is_a_no(trust, entitlement, delegate):
    services.entitlement_revoke(
        entitlement=entitlement, by=delegate, reason="Repeated referrals outside scope"
    )
    answer = check(trust)
    assert answer.entitled is False
    assert answer.entitlement.pk == entitlement.pk
    assert "was revoked on" in said(answer)
    assert (
        "because repeated referrals outside scope. A new entitlement needs a new application."
        in said(answer)
    )


def test_an_expired_entitlement_is_a_no(trust, entitlement, procedure):
    services.entitlement_expire(
        entitlement=entitlement, by=Rule(procedure, "review.overdue"), reason="Review overdue"
    )
    answer = check(trust)
    assert answer.entitled is False
    assert f"Priya Shah's entitlement {entitlement.reference} ended on" in said(answer)


def test_a_review_date_passed_without_a_review_is_a_no_even_before_the_job_runs(trust, entitlement):
    due = entitlement.review_due_on
    with time_machine.travel(
        datetime.datetime.combine(due + datetime.timedelta(days=1), datetime.time(12), datetime.UTC)
    ):
        answer = check(trust)
    assert answer.entitled is False
    assert "has not been recorded, so the entitlement cannot be relied on" in said(answer)


def test_an_ended_employment_is_a_no(trust, entitlement):
    employment = entitlement.employment
    employment.ends_on = datetime.date(2026, 1, 1)
    employment.save()
    with time_machine.travel(datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.UTC)):
        answer = check(trust)
    assert answer.entitled is False
    assert "ended on 1 January 2026, so the entitlement no longer applies" in said(answer)


def test_a_variation_answers_from_the_new_entitlement_not_the_superseded_one(
    trust, entitlement, referrer, supervisor, delegate, catalogue
):
    application = services.variation_start(entitlement=entitlement, by=referrer)
    item = application.scope_items.get(examination__code="CHEAC")
    services.application_scope_item_remove(item=item, by=referrer)
    services.evidence_add(
        application=application, by=referrer, upload=pdf_upload(), kind="competency"
    )
    services.application_submit(application=application, by=referrer)
    services.application_endorse(application=application, by=supervisor, outcome="endorsed")
    varied = grant(application, delegate)
    assert check(trust, code="XCHES").entitlement.pk == varied.pk
    answer = check(trust, code="CHEAC")
    assert answer.entitled is False
    assert f"outside the scope of Priya Shah's entitlement {varied.reference}" in said(answer)


# --- Other employers, kinds and groups ----------------------------------------------------------


def test_another_employers_register_says_not_entitled_by_it(trust, other_trust, entitlement):
    from tests.journeys import catalogue_at

    catalogue_at(other_trust)
    answer = check(other_trust)
    assert answer.entitled is False
    assert answer.entitlement is None
    assert (
        "Priya Shah is not entitled by Other Valley NHS Trust to refer for imaging."
        in answer.reasons
    )


def test_a_clinical_evaluation_entitlement_does_not_answer_for_referral(
    trust, referrer, supervisor, procedure, delegate, catalogue
):
    application = apply(
        referrer,
        trust,
        [catalogue["xr_chest"]],
        supervisor=supervisor,
        until="endorsed",
        kind=EntitlementKind.CLINICAL_EVALUATION,
    )
    grant(application, delegate)
    answer = check(trust)
    assert answer.entitled is False
    assert (
        "Priya Shah is not entitled by Dorset Coast Hospitals NHS Trust to refer for imaging."
        in answer.reasons
    )


def test_a_group_item_covers_each_examination_of_the_group(
    trust, referrer, supervisor, procedure, delegate, catalogue, org_admin
):
    group = services.examination_group_create(
        organisation=trust,
        name="Plain film and CT head",
        examinations=[catalogue["xr_chest"], catalogue["ct_head"]],
        by=org_admin,
    )
    application = apply_for(
        referrer,
        trust,
        [ScopeRequest(group=group, age_min=18, settings=("ED",), exclusions="Pregnancy")],
        supervisor=supervisor,
    )
    entitlement = grant(application, delegate)
    for code in ("XCHES", "CHEAC"):
        answer = check(trust, code=code)
        assert answer.entitled is True, answer.reasons
        assert answer.scope_item.group_id == group.pk
        assert answer.conditions["subject"] == "Plain film and CT head (group)"
        assert answer.conditions["code"] == code
        assert "scope item Plain film and CT head (group)" in said(answer)
    assert check(trust, code="MKNEE").entitled is False
    assert "must be 18 years and over" in said(check(trust, age=17))
    services.entitlement_suspend(
        entitlement=entitlement, by=delegate, reason=REASON, scope_items=[answer.scope_item]
    )
    answer = check(trust, code="XCHES")
    assert answer.entitled is False
    assert "Plain film and CT head (group) on entitlement" in said(answer)


def test_a_referrer_employed_elsewhere_is_answered_by_the_employer_that_entitled_them(
    trust, delegate, procedure, catalogue, org_admin
):
    practice = OrganisationFactory(ods_code="Y01234", name="Harbour Surgery", kind="gp_practice")
    SharedResponsibilityAgreement.objects.create(
        imaging_provider=trust,
        referring_organisation=practice,
        valid_from=datetime.date(2025, 1, 1),
        document_reference="SRA-2025-01",
        recorded_by=org_admin,
    )
    profile = ReferrerProfileFactory(
        user=UserFactory(email="gp.nurse@example.nhs.uk", full_name="Gale Practice"),
        registration_number="12B3456C",
    )
    EmploymentFactory(referrer=profile, organisation=practice)
    give_role(profile.user, practice, Role.REFERRER)
    supervisor = UserFactory(email="gp.sup@example.nhs.uk", full_name="Gus Supervisor")
    application = apply(
        profile.user, trust, [catalogue["xr_chest"]], supervisor=supervisor, until="endorsed"
    )
    grant(application, delegate)
    assert check(trust, registration="12B3456C").entitled is True
    answer = check(practice, registration="12B3456C")
    assert answer.entitled is False
    assert (
        "Gale Practice is not entitled by Harbour Surgery to refer for imaging." in answer.reasons
    )


# --- Dates -----------------------------------------------------------------------------------


def test_a_future_as_of_date_is_refused(trust, entitlement):
    tomorrow = datetime.date.today() + datetime.timedelta(days=1)
    assert as_of_problem(tomorrow) == "The date must be today or in the past"
    assert as_of_problem(datetime.date.today()) == ""
    assert as_of_problem(None) == ""
    answer = check(trust, as_of=tomorrow)
    assert answer.entitled is False
    assert "future" in said(answer)


def apply_for(referrer, organisation, requests, *, supervisor):
    """Like journeys.apply, with the scope items given as ScopeRequests (groups, ages)."""
    return apply(referrer, organisation, requests, supervisor=supervisor, until="endorsed")


@pytest.fixture(autouse=True)
def _selectors_reexported():
    # Others call the engine through the package.
    assert selectors.entitlement_check is entitlement_check


# --- The record of each lookup ----------------------------------------------------------------


def test_every_lookup_is_recorded_by_whoever_asked(trust, entitlement, practitioner):
    from entitlements.models import ApiClient, LookupChannel, RegisterLookup

    client = ApiClient.objects.create(
        organisation=trust, name="Order comms", token_prefix="abc", token_hash="0" * 64
    )
    unknown = check(trust, registration="99Z9999Z", code="NOPE", age=200)
    record = services.register_lookup_record(
        organisation=trust,
        answer=unknown,
        registration="NMC:99Z9999Z",
        examination_code="NOPE",
        patient_age=200,
        setting="ED",
        as_of=None,
        channel=LookupChannel.API,
        api_client=client,
    )
    assert record.api_client == client and record.asked_by is None
    assert record.referrer is None and record.examination is None and not record.entitled
    assert record.patient_age == 200 and record.reasons == unknown.reasons
    yes = check(trust)
    record = services.register_lookup_record(
        organisation=trust,
        answer=yes,
        registration="NMC:71A2998E",
        examination_code="XCHES",
        patient_age=40,
        setting="ED",
        as_of=None,
        channel=LookupChannel.PAGE,
        asked_by=practitioner,
    )
    assert record.entitled and record.entitlement == entitlement
    assert record.referrer == entitlement.referrer and record.asked_at == yes.checked_at
    with pytest.raises(ValueError):
        services.register_lookup_record(
            organisation=trust,
            answer=yes,
            registration="NMC:71A2998E",
            examination_code="XCHES",
            patient_age=40,
            setting="ED",
            as_of=None,
            channel=LookupChannel.PAGE,
        )
    assert RegisterLookup.objects.count() == 2
