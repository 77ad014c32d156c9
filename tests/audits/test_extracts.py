"""Principle 10: a request extract is judged against the scope in force on each request date,
and a file with any problem saves nothing."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audits import services
from audits.models import AuditCycle, AuditExtract, AuditExtractRow, CycleStatus
from tests.journeys import apply, catalogue_at, grant, procedure_at

from .conftest import at, mr_knee_request, schedule, time_machine, vary

GRANTED = datetime.date(2025, 3, 1)
VARIED = datetime.date(2025, 6, 1)
TODAY = datetime.date(2025, 9, 1)
HEADER = (
    "request_date,examination_code,patient_age,setting,clinical_indication,referrer_registration"
)


def csv_file(*lines: str, name: str = "extract.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, ("\n".join([HEADER, *lines]) + "\n").encode(), "text/csv")


@pytest.fixture(autouse=True)
def clock():
    """The people of the test are recorded on 2 January 2025 (before any request date)."""
    with time_machine.travel(at(datetime.date(2025, 1, 2)), tick=False) as traveller:
        yield traveller


@pytest.fixture
def varied(clock, trust, referrer, supervisor, delegate, org_admin):
    """Priya entitled for XR chest (16 and over, ED or MIU) on 1 March 2025; on 1 June 2025 a
    variation replaced XR chest with MR knee (18 and over, outpatients). Today is 1 September
    2025 and her audit is open."""
    catalogue = catalogue_at(trust)
    version = procedure_at(trust, by=org_admin)
    clock.move_to(at(GRANTED))
    application = apply(
        referrer, trust, [catalogue["xr_chest"]], supervisor=supervisor, until="endorsed"
    )
    first = grant(application, delegate)
    clock.move_to(at(VARIED))
    second = vary(
        first,
        referrer=referrer,
        delegate=delegate,
        remove=[catalogue["xr_chest"]],
        add=[mr_knee_request(catalogue["mr_knee"])],
    )
    clock.move_to(at(TODAY))
    schedule(trust, version)
    cycle = AuditCycle.objects.get(entitlement=second)
    return {"cycle": cycle, "first": first, "second": second}


def test_each_request_is_judged_against_the_scope_in_force_on_its_date(varied, referrer):
    result = services.audit_extract_upload(
        cycle=varied["cycle"],
        by=referrer,
        file=csv_file(
            "2025-04-10,XCHES,40,ED,Rib fracture?,71A2998E",  # XR chest before the change
            "2025-07-10,XCHES,40,ED,Rib fracture?,71A2998E",  # ... after it: taken out
            "2025-04-10,MKNEE,40,OUTPATIENT,Locking,71A2998E",  # MR knee before it was added
            "2025-07-10,MKNEE,40,OUTPATIENT,Locking,71A2998E",  # ... after
            "2025-07-10,MKNEE,12,OUTPATIENT,Locking,71A2998E",  # ... but a child
            "2025-07-10,MKNEE,40,ED,Locking,71A2998E",  # ... but from the ED
            "2025-07-10,ZZZ99,40,ED,Who knows,71A2998E",  # not in the catalogue
        ),
    )
    assert result.is_valid, result.problems
    rows = {row.line: row for row in AuditExtractRow.objects.filter(extract=result.extract)}
    assert {line: row.verdict for line, row in rows.items()} == {
        2: "within_scope",
        3: "outside_scope",
        4: "outside_scope",
        5: "within_scope",
        6: "outside_scope",
        7: "outside_scope",
        8: "unknown_examination",
    }
    assert any("outside the scope" in reason for reason in rows[3].reasons)
    assert any("outside the scope" in reason for reason in rows[4].reasons)
    assert any("18 years and over" in reason for reason in rows[6].reasons)
    assert any("outpatients" in reason for reason in rows[7].reasons)
    assert any("ZZZ99 is not an examination" in reason for reason in rows[8].reasons)
    extract = result.extract
    assert (extract.rows, extract.within_scope, extract.outside_scope) == (7, 2, 4)
    assert extract.unknown_examination == 1
    assert str(extract.compliance_percent) == "28.6"


def test_a_malformed_file_is_reported_by_line_and_saves_nothing(varied, referrer):
    result = services.audit_extract_upload(
        cycle=varied["cycle"],
        by=referrer,
        file=csv_file(
            "2025-04-10,XCHES,40,ED,Rib fracture?,71A2998E",
            "10/04/2025,XCHES,40,ED,Rib fracture?,71A2998E",
            "2025-04-10,XCHES,forty,WARD,Rib fracture?,71A2998E",
            "2025-04-10,XCHES,40,ED,Patient 943 476 5919 fell,71A2998E",
            "2025-04-10,XCHES,40,ED,Rib fracture?,99Z9999Z",
            "2025-04-10,XCHES,40",
        ),
    )
    assert not result.is_valid
    by_line = {(p.line, p.message.split(" ")[0]) for p in result.problems}
    assert (3, "request_date") in by_line
    assert (4, "patient_age") in by_line and (4, "setting") in by_line
    assert (5, "clinical_indication") in by_line  # looks like an NHS number
    assert (6, "referrer_registration") in by_line
    assert any(p.line == 7 and "values" in p.message for p in result.problems)
    assert not any(p.line == 2 for p in result.problems)
    assert AuditExtract.objects.count() == 0
    assert AuditExtractRow.objects.count() == 0


def test_a_formula_in_a_cell_is_text_never_a_value(varied, referrer):
    result = services.audit_extract_upload(
        cycle=varied["cycle"],
        by=referrer,
        file=csv_file('=DATE(2025;4;10),XCHES,=1+39,ED,"=HYPERLINK(""http://x"")",71A2998E'),
    )
    messages = [p.message for p in result.problems]
    assert any(m.startswith("request_date must be a date") for m in messages)
    assert any(m.startswith("patient_age must be a whole number") for m in messages)
    assert AuditExtract.objects.count() == 0


def test_the_page_lists_the_problems_and_nothing_is_saved(client, varied, referrer):
    client.force_login(referrer)
    url = reverse("audit", args=[varied["cycle"].pk])
    response = client.post(
        url, {"file": csv_file("2025-04-10,XCHES,-5,ED,,71A2998E", name="bad.csv")}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Nothing has been saved" in body
    assert 'id="file-problems"' in body and "patient_age must be a whole number" in body
    assert AuditExtract.objects.count() == 0


def test_submitting_needs_the_minimum_sample_and_schedules_the_next_audit(varied, referrer):
    cycle = varied["cycle"]
    AuditCycle.objects.filter(pk=cycle.pk).update(minimum_sample=3)
    cycle.refresh_from_db()
    services.audit_extract_upload(
        cycle=cycle, by=referrer, file=csv_file("2025-07-10,MKNEE,40,OUTPATIENT,,71A2998E")
    )
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="at least 3 requests"):
        services.audit_cycle_submit(cycle=cycle, by=referrer, reflection="All fine.")
    services.audit_extract_upload(
        cycle=cycle,
        by=referrer,
        file=csv_file(*["2025-07-10,MKNEE,40,OUTPATIENT,,71A2998E"] * 3),
    )
    submitted = services.audit_cycle_submit(cycle=cycle, by=referrer, reflection="All fine.")
    assert submitted.status == CycleStatus.SUBMITTED
    assert str(submitted.compliance_percent) == "100.0"
    following = AuditCycle.objects.get(entitlement=cycle.entitlement, number=2)
    assert following.status == CycleStatus.OPEN
    assert following.due_on == datetime.date(
        cycle.due_on.year + 2, cycle.due_on.month, cycle.due_on.day
    )


def test_another_referrer_cannot_see_or_upload_to_an_audit(client, varied, other_referrer):
    client.force_login(other_referrer)
    url = reverse("audit", args=[varied["cycle"].pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"file": csv_file()}).status_code == 404


def test_a_delegate_records_the_outcome_and_an_overdue_action_is_in_the_queue(
    client, clock, varied, referrer, delegate, other_trust_delegate
):
    cycle = varied["cycle"]
    AuditCycle.objects.filter(pk=cycle.pk).update(minimum_sample=2)
    cycle.refresh_from_db()
    services.audit_extract_upload(
        cycle=cycle,
        by=referrer,
        file=csv_file(
            "2025-07-10,MKNEE,40,OUTPATIENT,,71A2998E", "2025-07-10,XCHES,40,ED,,71A2998E"
        ),
    )
    client.force_login(referrer)
    response = client.post(reverse("audit_submit", args=[cycle.pk]), {"reflection": "XR slip."})
    assert response.status_code == 302

    review = reverse("audit_review", args=["RDZ", cycle.pk])
    client.force_login(other_trust_delegate)
    assert client.get(review).status_code == 403

    client.force_login(delegate)
    queue = client.get(reverse("training_queue", args=["RDZ"])).content.decode()
    assert review in queue and "50.0% within scope" in queue
    page = client.get(review).content.decode()
    assert "XR Chest" in page or "XCHES" in page
    assert client.post(review, {"outcome": "action_plan", "notes": ""}).status_code == 200
    assert (
        client.post(review, {"outcome": "action_plan", "notes": "Re-read scope."}).status_code
        == 302
    )
    cycle.refresh_from_db()
    assert (cycle.status, cycle.outcome, cycle.reviewed_by) == ("reviewed", "action_plan", delegate)

    add = reverse("audit_action_add", args=["RDZ", cycle.pk])
    due = datetime.date(2025, 9, 15)
    response = client.post(
        add,
        {
            "description": "Read the XR chest exclusions again",
            "owner": "Priya Shah",
            "due_on_day": due.day,
            "due_on_month": due.month,
            "due_on_year": due.year,
        },
    )
    assert response.status_code == 302
    queue_url = reverse("training_queue", args=["RDZ"])
    assert "Read the XR chest exclusions" not in client.get(queue_url).content.decode()
    clock.move_to(at(datetime.date(2025, 9, 16)))
    client.force_login(delegate)  # the session of 1 September has expired
    assert "Read the XR chest exclusions" in client.get(queue_url).content.decode()
    client.force_login(referrer)
    mine = client.get(reverse("audit", args=[cycle.pk])).content.decode()
    assert "Action plan needed" in mine and "Re-read scope." in mine
