"""Importing a catalogue from CSV: all or nothing, every problem reported by line."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from entitlements import services
from entitlements.csv_import import MAX_FILE_BYTES, ExaminationRow, parse_catalogue_csv
from entitlements.models import Examination
from tests.factories import ExaminationFactory

HEADER = "code,name,modality,body_area,ionising,contrast,mri\n"


def upload(client, ods_code, content: bytes, name="catalogue.csv"):
    return client.post(
        reverse("catalogue_import", args=[ods_code]),
        {"file": SimpleUploadedFile(name, content, content_type="text/csv")},
    )


def snapshot(organisation):
    return sorted(
        Examination.objects.filter(organisation=organisation).values_list(
            "code", "name", "modality", "body_area", "ionising", "contrast", "mri"
        )
    )


@pytest.fixture
def existing(trust):
    return ExaminationFactory(
        organisation=trust, code="XCHES", name="Chest X-ray", modality="XR", body_area="Chest"
    )


def test_a_good_file_creates_and_updates_by_code(client, trust, org_admin, existing):
    content = (
        HEADER
        + "xches,XR chest PA,XR,Chest,yes,no,no\n"  # existing code, lower case: an update
        + 'CCHAPC,"CT chest, abdomen and pelvis",CT,Chest abdomen pelvis,TRUE,1,false\n'
        + "MKNEL,MRI knee left,mr,Left knee,no,N,Y\n"
        + "\n"  # blank lines are ignored
        + "UABDO,Ultrasound abdomen,US,Abdomen,0,0,0\n"
    ).encode()
    client.force_login(org_admin)

    response = upload(client, "RDZ", content)

    assert response.status_code == 302
    assert response.url == reverse("catalogue", args=["RDZ"])
    assert snapshot(trust) == [
        ("CCHAPC", "CT chest, abdomen and pelvis", "CT", "Chest abdomen pelvis", True, True, False),
        ("MKNEL", "MRI knee left", "MR", "Left knee", False, False, True),
        ("UABDO", "Ultrasound abdomen", "US", "Abdomen", False, False, False),
        ("XCHES", "XR chest PA", "XR", "Chest", True, False, False),
    ]
    existing.refresh_from_db()
    assert existing.history.count() == 2
    assert existing.history.first().history_user == org_admin
    page = client.get(response.url).content.decode()
    assert "3 examinations added, 1 changed and 0 already up to date" in page


def test_importing_the_same_file_twice_changes_nothing_the_second_time(trust, org_admin):
    parsed = parse_catalogue_csv((HEADER + "XCHES,XR chest,XR,Chest,yes,no,no\n").encode())
    first = services.catalogue_import(organisation=trust, rows=parsed.rows, by=org_admin)
    second = services.catalogue_import(organisation=trust, rows=parsed.rows, by=org_admin)
    assert (first.created, first.updated, first.unchanged) == (1, 0, 0)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 1)
    assert Examination.objects.get(organisation=trust).history.count() == 1


def test_a_file_with_bad_rows_changes_nothing_and_lists_every_problem(
    client, trust, org_admin, existing
):
    content = (
        HEADER
        + "XCHES,Changed name,XR,Chest,yes,no,no\n"  # line 2: good, but must not be applied
        + "CT1,CT head,XX,Head,yes,no,no\n"  # line 3: unknown modality
        + "CT2,CT head,CT,Head,no,no,no\n"  # line 4: CT must be ionising
        + "MR1,MRI brain,MR,Head,no,no,no\n"  # line 5: MR must be flagged MRI
        + "US1,,US,Abdomen,no,no,no\n"  # line 6: missing name
        + "NEW1,Good new row,US,Neck,no,no,no\n"  # line 7: good
        + "NEW1,Same code again,US,Neck,no,no,no\n"  # line 8: duplicate code
        + "XR9,XR hand,XR,Hand,maybe,no,no\n"  # line 9: not yes or no
        + "XR10,XR foot,XR,Foot,yes,no\n"  # line 10: too few values
    ).encode()
    before = snapshot(trust)
    client.force_login(org_admin)

    response = upload(client, "RDZ", content)

    assert response.status_code == 200
    assert snapshot(trust) == before
    assert Examination.objects.filter(organisation=trust).count() == 1
    problems = {(p.line, p.message) for p in response.context_data["form"].problems}
    lines = sorted({line for line, _ in problems})
    assert lines == [3, 4, 5, 6, 8, 9, 10]
    messages = dict(problems)
    assert "not one of" in messages[3] and "XX" in messages[3]
    assert "ionising must be yes" in messages[4]
    assert "mri must be yes" in messages[5]
    assert messages[6] == "Name is missing"
    assert messages[8] == "Code NEW1 is already used on line 7"
    assert messages[9] == "ionising must be yes or no"
    assert "6 values but the header has 7 columns" in messages[10]
    page = response.content.decode()
    assert "Nothing has been imported" in page
    assert page.count("<h1") == 1
    for line in lines:
        assert f'<td class="nhsuk-table__cell">{line}</td>' in page


def test_a_file_that_is_not_utf8_is_refused(client, trust, org_admin, existing):
    content = (HEADER + "XR1,Rayon X du crâne,XR,Crâne,yes,no,no\n").encode("latin-1")
    before = snapshot(trust)
    client.force_login(org_admin)

    response = upload(client, "RDZ", content)

    assert response.status_code == 200
    assert snapshot(trust) == before
    [problem] = response.context_data["form"].problems
    assert problem.line == 2
    assert "not UTF-8" in problem.message
    assert "not UTF-8" in response.content.decode()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("code,name,modality,body_area,ionising,contrast\n", "missing: mri"),
        ("code,name,modality,body_area,ionising,contrast,mri,notes\n", "does not use: notes"),
        ("code,title,modality,body_area,ionising,contrast,mri\n", "missing: name"),
    ],
)
def test_a_wrong_header_is_refused(client, trust, org_admin, header, expected):
    client.force_login(org_admin)
    response = upload(client, "RDZ", (header + "XR1,XR chest,XR,Chest,yes,no,no\n").encode())
    assert response.status_code == 200
    assert not Examination.objects.filter(organisation=trust).exists()
    messages = [p.message for p in response.context_data["form"].problems]
    assert any(expected in m for m in messages), messages
    assert all(p.line == 1 for p in response.context_data["form"].problems)


def test_header_names_are_case_and_space_insensitive_and_in_any_order():
    parsed = parse_catalogue_csv(
        b"\xef\xbb\xbfName, Code ,Modality,Body Area,MRI,Contrast,Ionising\r\n"
        b"XR chest,xr1,XR,Chest,no,no,yes\r\n"
    )
    assert parsed.is_valid, parsed.problems
    assert parsed.rows == [ExaminationRow(2, "XR1", "XR chest", "XR", "Chest", True, False, False)]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "The file is empty"),
        (b"  \n\n", "The file is empty"),
        (HEADER.encode(), "The file has a header but no examinations"),
    ],
)
def test_empty_files_are_refused(content, expected):
    parsed = parse_catalogue_csv(content)
    assert [p.message for p in parsed.problems] == [expected]


def test_an_empty_upload_is_refused_on_the_page(client, trust, org_admin):
    client.force_login(org_admin)
    response = upload(client, "RDZ", b"")
    assert response.status_code == 200
    assert "The file is empty" in response.content.decode()


def test_a_file_over_2_mb_is_refused(client, trust, org_admin):
    row = b"XR1,XR chest,XR,Chest,yes,no,no\n"
    content = HEADER.encode() + row * (MAX_FILE_BYTES // len(row) + 1)
    client.force_login(org_admin)
    response = upload(client, "RDZ", content)
    assert response.status_code == 200
    assert not Examination.objects.filter(organisation=trust).exists()
    assert "smaller than 2 MB" in response.content.decode()


def test_line_numbers_count_lines_inside_quoted_values():
    parsed = parse_catalogue_csv(
        (
            HEADER + 'XR1,"XR chest,\nsecond line",XR,Chest,yes,no,no\nXR2,,XR,Chest,yes,no,no\n'
        ).encode()
    )
    assert [(p.line, p.message) for p in parsed.problems] == [(4, "Name is missing")]


def test_the_service_checks_rows_itself(trust, org_admin):
    bad = [ExaminationRow(2, "CT1", "CT head", "CT", "Head", False, False, False)]
    with pytest.raises(ValidationError) as error:
        services.catalogue_import(organisation=trust, rows=bad, by=org_admin)
    assert "Line 2" in error.value.messages[0]
    assert not Examination.objects.exists()


def test_another_organisations_examination_with_the_same_code_is_left_alone(
    trust, other_trust, org_admin
):
    theirs = ExaminationFactory(organisation=other_trust, code="XCHES", name="Their chest")
    parsed = parse_catalogue_csv((HEADER + "XCHES,Our chest,XR,Chest,yes,no,no\n").encode())
    result = services.catalogue_import(organisation=trust, rows=parsed.rows, by=org_admin)
    assert result.created == 1
    theirs.refresh_from_db()
    assert theirs.name == "Their chest"


def test_an_examination_group_takes_only_the_organisations_own_examinations(
    trust, other_trust, org_admin
):
    from django.core.exceptions import ValidationError

    from entitlements.models import ExaminationGroup
    from tests.factories import ExaminationFactory

    ours = ExaminationFactory(organisation=trust)
    theirs = ExaminationFactory(organisation=other_trust)
    with pytest.raises(ValidationError) as error:
        services.examination_group_create(
            organisation=trust, name="Chest", examinations=[ours, theirs], by=org_admin
        )
    assert "examinations" in error.value.message_dict
    assert not ExaminationGroup.objects.exists()

    group = services.examination_group_create(
        organisation=trust, name="Chest", examinations=[ours], by=org_admin
    )
    assert list(group.examinations.all()) == [ours]
    # One row for the group, one for its examinations: both name who did it.
    assert [h.history_user for h in group.history.all()] == [org_admin, org_admin]
    with pytest.raises(ValidationError):
        services.examination_group_create(
            organisation=trust, name="chest", examinations=[], by=org_admin
        )
