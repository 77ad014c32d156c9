"""Importing training records from a learning-management system's CSV export: a good file
saves every record, verified by the importing delegate, in one go; a file with any bad row
saves nothing and lists every bad row with its line number and why; importing the same file
again creates nothing new."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.factories import EmploymentFactory, ReferrerProfileFactory, UserFactory
from training import csv_import, services
from training.models import RecordKind, RecordSource, TrainingImport, TrainingRecord

from .builders import TODAY, frozen_today  # noqa: F401 (an autouse fixture)

pytestmark = pytest.mark.django_db

HEADER = (
    "regulator,registration_number,training_kind,provider,title,completed_on,"
    "certificate_expires_on,hours,lms_record_id"
)


@pytest.fixture
def colleague(trust):
    """A second referrer employed at the trust (an HCPC radiographer)."""
    profile = ReferrerProfileFactory(
        user=UserFactory(email="colleague@example.nhs.uk", full_name="Chris Colleague"),
        profession="radiographer",
        regulator="HCPC",
        registration_number="RA12345",
    )
    EmploymentFactory(referrer=profile, organisation=trust)
    return profile


def csv_file(*lines: str, name="lms-export.csv", bom=True) -> SimpleUploadedFile:
    text = "\r\n".join([HEADER, *lines]) + "\r\n"
    data = ("\ufeff" if bom else "") + text
    return SimpleUploadedFile(name, data.encode("utf-8"), content_type="text/csv")


GOOD = [
    "NMC,71A2998E,radiation_protection,e-Learning for Healthcare,IR(ME)R for referrers,"
    "2025-11-03,,,LMS-1001",
    'nmc,71a2998e,cpd,Wessex Imaging Network,"Chest X-ray, interpretation",2026-02-03,,3.5,'
    "LMS-1002",
    'HCPC,RA12345,referral_guidelines,=HYPERLINK("http://x"),iRefer,2025-06-30,2026-06-30,,'
    "LMS-2001",
]


def counts() -> tuple[int, int, int, int]:
    return (
        TrainingRecord.objects.count(),
        TrainingImport.objects.count(),
        TrainingRecord.history.count(),
        TrainingImport.history.count(),
    )


def run(delegate, trust, upload):
    return services.training_import(organisation=trust, by=delegate, file=upload)


def test_a_good_file_saves_every_record_verified_by_the_importing_delegate(
    delegate, trust, referrer, colleague
):
    result = run(delegate, trust, csv_file(*GOOD))

    assert result.is_valid and (result.rows, result.created, result.already) == (3, 3, 0)
    imported = TrainingImport.objects.get()
    assert result.training_import == imported
    assert (imported.rows, imported.created, imported.file_name) == (3, 3, "lms-export.csv")
    assert imported.imported_by == delegate and len(imported.sha256) == 64
    records = {r.external_id: r for r in TrainingRecord.objects.all()}
    assert set(records) == {"LMS-1001", "LMS-1002", "LMS-2001"}
    cpd = records["LMS-1002"]
    assert cpd.referrer == referrer.referrer_profile  # regulator and number in any case
    assert (cpd.kind, cpd.hours, cpd.title) == (
        RecordKind.CPD,
        Decimal("3.5"),
        "Chest X-ray, interpretation",
    )
    guidelines = records["LMS-2001"]
    assert guidelines.referrer == colleague
    assert guidelines.certificate_expires_on == datetime.date(2026, 6, 30)
    # A formula is kept as the text it is, never evaluated.
    assert guidelines.provider == '=HYPERLINK("http://x")'
    for record in records.values():
        assert record.source == RecordSource.IMPORTED
        assert record.training_import == imported
        assert record.verified_by == delegate and record.recorded_by == delegate
    history = TrainingRecord.history.all()
    assert history.count() == 3
    assert {h.history_user for h in history} == {delegate}
    assert TrainingImport.history.get().history_user == delegate


def test_importing_the_same_file_again_creates_nothing_new(delegate, trust, referrer, colleague):
    run(delegate, trust, csv_file(*GOOD))
    before = counts()

    again = run(delegate, trust, csv_file(*GOOD))

    assert again.is_valid and (again.created, again.already) == (0, 3)
    assert again.training_import is None
    assert counts() == before

    more = run(
        delegate,
        trust,
        csv_file(*GOOD, "NMC,71A2998E,mri_safety,Trust MRI unit,,2026-01-20,,,LMS-1003"),
    )
    assert (more.created, more.already) == (1, 3)
    assert TrainingImport.objects.count() == 2


def test_every_bad_row_is_listed_with_its_line_and_nothing_is_saved(
    delegate, trust, referrer, colleague, other_referrer
):
    run(delegate, trust, csv_file(GOOD[0]))  # something already there, to see it unchanged
    before = counts()
    delegate_profile = ReferrerProfileFactory(user=delegate, registration_number="33C3333C")
    EmploymentFactory(referrer=delegate_profile, organisation=trust)
    lines = [
        GOOD[1],  # line 2: good
        "NMC,99Z9999Z,referral_guidelines,eLfH,,2025-05-01,,,X1",  # 3: nobody registered
        "NMC,82B1234C,referral_guidelines,eLfH,,2025-05-01,,,X2",  # 4: employed elsewhere
        "NMC,71A2998E,ultrasound_safety,eLfH,,2025-05-01,,,X3",  # 5: unknown kind
        "NMC,71A2998E,contrast_safety,eLfH,,31/03/2025,,,X4",  # 6: not YYYY-MM-DD
        "NMC,71A2998E,contrast_safety,eLfH,,2026-03-03,,,X5",  # 7: in the future
        "NMC,71A2998E,contrast_safety,eLfH,,2025-05-01,2025-04-30,,X6",  # 8: expires first
        "HCPC,RA12345,cpd,Network,,2025-05-01,,,X7",  # 9: CPD without hours
        "HCPC,RA12345,cpd,Network,,2025-05-01,,,X7",  # 10: repeats line 9
        "NMC,71A2998E,mri_safety,eLfH,,=DATE(2025;1;1),,,X8",  # 11: a formula is no date
        "NMC,33C3333C,mri_safety,eLfH,,2025-05-01,,,X9",  # 12: the importer's own
        "NMC,71A2998E,mri_safety,eLfH,,2025-05-01,,",  # 13: a value missing
        "XYZ,71A2998E,mri_safety,eLfH,,2025-05-01,,,X10",  # 14: unknown regulator
        "HCPC,RA12345,cpd,Network,,2025-05-01,,-2,X11",  # 15: negative hours
        "HCPC,RA12345,mri_safety,,,2025-05-01,,,",  # 16: no provider, no LMS id
    ]

    result = run(delegate, trust, csv_file(*lines))

    assert not result.is_valid
    problems = [(p.line, p.message) for p in result.problems]
    expected = {
        3: "No referrer is registered here as NMC 99Z9999Z",
        4: "Sam Other (NMC 82B1234C) is not employed or entitled at Dorset Coast Hospitals",
        5: "training_kind ‘ultrasound_safety’ is not one of radiation_protection, "
        "contrast_safety, mri_safety, referral_guidelines, cpd",
        6: "completed_on must be a date written YYYY-MM-DD, like 2025-03-31 (not ‘31/03/2025’)",
        7: "completed_on 2026-03-03 is in the future",
        8: "certificate_expires_on 2025-04-30 is not after completed_on 2025-05-01",
        9: "hours is missing: a CPD record must give its hours",
        10: "LMS record X7 (cpd) of HCPC RA12345 is already on line 9",
        11: "completed_on must be a date written YYYY-MM-DD",
        12: "NMC 33C3333C is your own registration: another delegate must verify your training",
        13: "The line has 8 values but the header has 9 columns",
        14: "regulator ‘XYZ’ is not one of HCPC, NMC, GPhC, GMC, GDC, GOsC, GCC",
        15: "hours must be a number of hours like 7.5 (not ‘-2’)",
        16: "provider is missing",
    }
    for line, message in expected.items():
        assert any(n == line and message in m for n, m in problems), (line, message, problems)
    assert any(line == 16 and m == "lms_record_id is missing" for line, m in problems)
    assert not any(line == 2 for line, _ in problems)  # the good row is not a problem
    assert [line for line, _ in problems] == sorted(line for line, _ in problems)
    assert counts() == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty"),
        (b"\r\n \r\n", "The file is empty"),
        (HEADER.encode() + b"\r\n", "The file has a header but no records"),
        (
            b"regulator,registration_number,kind,provider,title,completed_on,"
            b"certificate_expires_on,hours,lms_record_id\r\n",
            "The header is missing: training_kind",
        ),
        (HEADER.encode() + b",notes\r\n", "columns this file format does not use: notes"),
        (
            HEADER.encode()
            + "\r\nNMC,71A2998E,cpd,Caf\u00e9,,2025-05-01,,2,X\r\n".encode("latin-1"),
            "The file is not UTF-8 text",
        ),
        (
            (HEADER + "\r\n").encode("utf-16"),
            "The file is UTF-16",
        ),
    ],
    ids=["empty", "blank", "header-only", "wrong-header", "extra-column", "latin-1", "utf-16"],
)
def test_a_file_that_cannot_be_read_says_why_and_saves_nothing(
    delegate, trust, referrer, data, message
):
    result = run(delegate, trust, SimpleUploadedFile("export.csv", data))

    assert not result.is_valid
    assert any(message in p.message for p in result.problems), result.problems
    assert counts() == (0, 0, 0, 0)


def test_a_file_with_too_many_rows_is_refused_whole(delegate, trust, referrer, monkeypatch):
    monkeypatch.setattr(csv_import, "MAX_ROWS", 2)
    lines = [f"NMC,71A2998E,mri_safety,eLfH,,2025-05-01,,,ID{n}" for n in range(3)]

    result = run(delegate, trust, csv_file(*lines))

    assert [p.message for p in result.problems] == [
        "The file has more than 2 records: split it into files of 2 or fewer"
    ]
    assert counts() == (0, 0, 0, 0)


def test_only_a_current_delegate_of_the_organisation_may_import(
    trust, referrer, governance_lead, other_trust_delegate
):
    for user in (governance_lead, other_trust_delegate):
        with pytest.raises(PermissionDenied):
            run(user, trust, csv_file(GOOD[0]))
    assert counts() == (0, 0, 0, 0)


# --- The page ------------------------------------------------------------------------------


def test_the_import_page_lists_each_problem_by_line_and_saves_nothing(
    client, delegate, trust, referrer
):
    client.force_login(delegate)
    url = reverse("training_import", args=["RDZ"])
    page = client.get(url).content.decode()
    assert page.count("<h1") == 1 and "Import training records from a CSV file" in page

    response = client.post(
        url,
        {
            "file": csv_file(GOOD[0], "NMC,71A2998E,cpd,Network,,2025-05-01,,,X7"),
            "confirm": "on",
        },
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in page
    assert "The file has 1 problem on 1 line. Nothing has been imported" in page
    assert 'id="file-problems"' in page
    assert "hours is missing: a CPD record must give its hours" in page
    assert counts() == (0, 0, 0, 0)


def test_the_import_page_imports_a_good_file_and_says_what_it_did(
    client, delegate, trust, referrer, colleague
):
    client.force_login(delegate)
    url = reverse("training_import", args=["RDZ"])

    refused = client.post(url, {"file": csv_file(*GOOD)})
    assert "Confirm that the records come from your learning-management system" in (
        refused.content.decode()
    )
    assert counts() == (0, 0, 0, 0)

    response = client.post(url, {"file": csv_file(*GOOD), "confirm": "on"}, follow=True)
    page = response.content.decode()
    assert "3 training records have been imported and verified" in page
    assert "lms-export.csv" in page  # in the recent imports

    again = client.post(url, {"file": csv_file(*GOOD), "confirm": "on"}, follow=True)
    assert "had already been imported: nothing has changed" in again.content.decode()
    assert TrainingRecord.objects.count() == 3


def test_another_trusts_delegate_cannot_open_the_import_page(client, trust, other_trust_delegate):
    client.force_login(other_trust_delegate)
    url = reverse("training_import", args=["RDZ"])
    assert client.get(url).status_code == 403
    assert client.post(url, {"file": csv_file(GOOD[0]), "confirm": "on"}).status_code == 403
    assert counts() == (0, 0, 0, 0)
