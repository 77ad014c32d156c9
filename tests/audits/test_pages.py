"""The pages of principle 7 and the governance dashboard: reporting, reviewing, feedback,
access between employers, exports and query counts."""

import csv
import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from audits.models import InappropriateReferral
from entitlements.models import (
    Application,
    Decision,
    Entitlement,
    ScopeItem,
)
from referrers.models import Employment, ReferrerProfile, User
from referrers.regulators import Profession, Regulator
from tests.factories import ExaminationFactory, ProcedureVersionFactory  # noqa: F401

from .conftest import report

TODAY = timezone.localdate


def body(response) -> str:
    return response.content.decode()


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


# --- Reporting, reviewing, feedback ---------------------------------------------------------


def test_a_practitioner_reports_a_delegate_upholds_and_the_referrer_sees_it(
    client, entitlement, practitioner, delegate, referrer, governance_lead, catalogue
):
    client.force_login(practitioner)
    find = reverse("inappropriate_referral_find", args=["RDZ"])
    found = body(client.get(find, {"q": "71A2998E"}))
    new = reverse("inappropriate_referral_new", args=["RDZ", referrer.referrer_profile.pk])
    assert new in found

    today = timezone.localdate()
    form = {
        "examination": str(catalogue["ct_head"].pk),
        "referred_on_day": today.day,
        "referred_on_month": today.month,
        "referred_on_year": today.year,
        "category": "not_meeting_guidelines",
        "details": "Patient 943 476 5919: CT head for a simple fall.",
    }
    refused = client.post(new, form)
    assert refused.status_code == 200
    assert "looks like an NHS number" in body(refused)
    assert not InappropriateReferral.objects.exists()

    form["details"] = "CT head for a simple fall without red flags."
    assert client.post(new, form).status_code == 302
    made = InappropriateReferral.objects.get()
    assert (made.entitlement, made.status) == (entitlement, "awaiting_review")

    client.force_login(referrer)
    assert "simple fall" not in body(client.get(reverse("audits")))  # not yet upheld

    client.force_login(delegate)
    queue = body(client.get(reverse("training_queue", args=["RDZ"])))
    review = reverse("inappropriate_referral_review", args=["RDZ", made.pk])
    assert review in queue
    assert client.post(review, {"upheld": "yes", "notes": ""}).status_code == 200  # needs notes
    response = client.post(review, {"upheld": "yes", "notes": "Follow iRefer for head injury."})
    assert response.status_code == 302

    client.force_login(referrer)
    mine = body(client.get(reverse("audits")))
    assert "simple fall" in mine and "Follow iRefer for head injury." in mine
    assert practitioner.full_name not in mine  # who reported is not shown

    client.force_login(governance_lead)
    dashboard = body(client.get(reverse("governance_dashboard", args=["RDZ"])))
    month = f"{today:%b %Y}"
    cell = '<td class="nhsuk-table__cell nhsuk-table__cell--numeric">{}</td>'
    row = f'<th scope="row" class="nhsuk-table__header">{month}</th>' + cell.format(1) * 2
    assert row in dashboard  # reported 1, upheld 1 this month


def test_not_upheld_feedback_is_never_shown_to_the_referrer(
    entitlement, practitioner, delegate, referrer, catalogue, client
):
    report(
        organisation=entitlement.organisation,
        practitioner=practitioner,
        delegate=delegate,
        referrer=referrer,
        examination=catalogue["ct_head"],
        referred_on=timezone.localdate(),
        upheld=False,
    )
    client.force_login(referrer)
    assert "simple fall" not in body(client.get(reverse("audits")))


def test_a_practitioner_finds_only_referrers_of_their_employer(
    client, practitioner, referrer, other_referrer
):
    client.force_login(practitioner)
    found = body(client.get(reverse("inappropriate_referral_find", args=["RDZ"]), {"q": "Sam"}))
    assert "Sam Other" not in found
    url = reverse("inappropriate_referral_new", args=["RDZ", other_referrer.referrer_profile.pk])
    assert client.get(url).status_code == 404


def test_other_roles_cannot_report(client, referrer, governance_lead):
    client.force_login(governance_lead)
    assert client.get(reverse("inappropriate_referral_find", args=["RDZ"])).status_code == 403


def test_a_delegate_of_another_employer_cannot_review(
    client, entitlement, practitioner, delegate, referrer, catalogue, other_trust_delegate
):
    made = report(
        organisation=entitlement.organisation,
        practitioner=practitioner,
        delegate=delegate,
        referrer=referrer,
        examination=catalogue["ct_head"],
        referred_on=timezone.localdate(),
        upheld=None,
    )
    client.force_login(other_trust_delegate)
    assert (
        client.get(reverse("inappropriate_referral_review", args=["RDZ", made.pk])).status_code
        == 403
    )
    assert (
        client.get(reverse("inappropriate_referral_review", args=["RX9", made.pk])).status_code
        == 404
    )


# --- The dashboard: one employer only --------------------------------------------------------


EXPORTS = ("register", "training", "audits")


def test_a_governance_lead_of_one_employer_sees_nothing_of_another(
    client, entitlement, other_trust_governance_lead, governance_lead
):
    client.force_login(other_trust_governance_lead)
    assert client.get(reverse("governance_dashboard", args=["RDZ"])).status_code == 403
    for kind in EXPORTS:
        assert client.get(reverse("governance_export", args=["RDZ", kind])).status_code == 403
    own = client.get(reverse("governance_dashboard", args=["RX9"]))
    assert own.status_code == 200
    assert "0 live entitlements" in body(own)
    for kind in EXPORTS:
        rows = csv_rows(client.get(reverse("governance_export", args=["RX9", kind])))
        assert len(rows) == 1, kind  # the header only
        assert "Priya Shah" not in str(rows)

    client.force_login(governance_lead)
    rows = csv_rows(client.get(reverse("governance_export", args=["RDZ", "register"])))
    assert [row[2] for row in rows[1:]] == ["Priya Shah"]


def test_exports_neutralise_formula_cells(client, entitlement, governance_lead, referrer):
    User.objects.filter(pk=referrer.pk).update(full_name='=HYPERLINK("http://evil")')
    client.force_login(governance_lead)
    for kind in ("register", "training"):
        response = client.get(reverse("governance_export", args=["RDZ", kind]))
        assert response["Content-Type"].startswith("text/csv")
        rows = csv_rows(response)
        names = {row[rows[0].index("referrer")] for row in rows[1:]}
        assert names == {'\'=HYPERLINK("http://evil")'}, kind


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "plain"])
def test_neutralise(cell):
    from audits.csv_export import neutralise

    assert neutralise(cell) == (cell if cell == "plain" else "'" + cell)


# --- Query counts -----------------------------------------------------------------------------


def crowd(trust, n: int, *, delegate, procedure, examinations, appointment) -> None:
    """`n` referrers, each with their own user, profile, employment, application, decision,
    live entitlement with two scope items, an audit cycle and an upheld report (in bulk)."""
    from audits.models import AuditCycle, ReportStatus

    start = User.objects.count()
    users = User.objects.bulk_create(
        [
            User(email=f"crowd{start + i}@example.nhs.uk", full_name=f"Crowd {start + i}")
            for i in range(n)
        ]
    )
    professions = [(Profession.NURSE, Regulator.NMC), (Profession.PHYSIOTHERAPIST, Regulator.HCPC)]
    profiles = ReferrerProfile.objects.bulk_create(
        [
            ReferrerProfile(
                user=u,
                profession=professions[i % 2][0],
                regulator=professions[i % 2][1],
                registration_number=f"{i % 100:02d}C{(start + i) % 10000:04d}E",
                registration_expires_on=datetime.date(2030, 1, 31),
            )
            for i, u in enumerate(users)
        ]
    )
    employments = Employment.objects.bulk_create(
        [
            Employment(
                referrer=p,
                organisation=trust,
                job_title="ANP",
                level=["enhanced", "advanced", "consultant"][i % 3],
                starts_on=datetime.date(2024, 1, 1),
            )
            for i, p in enumerate(profiles)
        ]
    )
    now = timezone.now()
    applications = Application.objects.bulk_create(
        [
            Application(
                referrer=p,
                employment=e,
                organisation=trust,
                kind="referral",
                status="granted",
                submitted_at=now - datetime.timedelta(days=10),
            )
            for p, e in zip(profiles, employments, strict=True)
        ]
    )
    decisions = Decision.objects.bulk_create(
        [
            Decision(
                application=a,
                delegate=delegate,
                appointment=appointment,
                outcome="granted",
                rationale="Bulk",
            )
            for a in applications
        ]
    )
    entitlements = Entitlement.objects.bulk_create(
        [
            Entitlement(
                referrer=p,
                employment=e,
                organisation=trust,
                kind="referral",
                application=a,
                decision=d,
                granted_by=delegate,
                delegate_appointment=appointment,
                procedure_version=procedure,
                review_due_on=datetime.date(2030, 1, 1),
            )
            for p, e, a, d in zip(profiles, employments, applications, decisions, strict=True)
        ]
    )
    ScopeItem.objects.bulk_create(
        [
            ScopeItem(entitlement=e, examination=x, settings=["ED"])
            for e in entitlements
            for x in examinations
        ]
    )
    AuditCycle.objects.bulk_create(
        [
            AuditCycle(
                entitlement=e,
                number=1,
                due_on=datetime.date(2024, 1, 1),
                procedure_version=procedure,
                minimum_sample=20,
                compliance_standard_percent=90,
            )
            for e in entitlements
        ]
    )
    InappropriateReferral.objects.bulk_create(
        [
            InappropriateReferral(
                organisation=trust,
                referrer=p,
                examination=examinations[0],
                referred_on=timezone.localdate(),
                category="duplicate",
                details="Bulk",
                reported_by=delegate,
                status=ReportStatus.UPHELD,
                reviewed_by=delegate,
                reviewed_at=now,
            )
            for p in profiles
        ]
    )


@pytest.mark.parametrize("kind", ["dashboard", *EXPORTS])
def test_the_dashboard_and_exports_read_the_same_few_queries_for_10_or_1000_referrers(
    kind,
    client,
    trust,
    governance_lead,
    delegate,
    procedure,
    catalogue,
    django_assert_max_num_queries,
):
    from referrers.models import DelegateAppointment

    appointment = DelegateAppointment.objects.get(delegate=delegate)
    examinations = [catalogue["xr_chest"], catalogue["ct_head"]]
    grow = lambda n: crowd(  # noqa: E731
        trust,
        n,
        delegate=delegate,
        procedure=procedure,
        examinations=examinations,
        appointment=appointment,
    )
    url = (
        reverse("governance_dashboard", args=["RDZ"])
        if kind == "dashboard"
        else reverse("governance_export", args=["RDZ", kind])
    )
    client.force_login(governance_lead)

    def fetch():
        response = client.get(url)
        assert response.status_code == 200
        if kind != "dashboard":
            return len(csv_rows(response)) - 1
        return body(response)

    grow(10)
    fetch()  # warm process-wide caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        shown = fetch()
    grow(990)
    ceiling = len(few.captured_queries) + 6  # exports read a batch of 500 more twice
    with django_assert_max_num_queries(ceiling if kind != "dashboard" else len(few)):
        shown_many = fetch()
    if kind == "dashboard":
        assert "1000 live entitlements" in shown_many and "10 live entitlements" in shown
    else:
        per = 3 if kind == "training" else 1  # radiation protection, contrast, guidelines
        assert (shown, shown_many) == (10 * per, 1000 * per)
