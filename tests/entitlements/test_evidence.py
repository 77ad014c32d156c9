"""Evidence files (principle 2): the type is judged from the content, not the name; a refused
file says why and leaves nothing behind (no row, no stored file); files are private and
served only through the download view that checks access."""

import io
import os
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from entitlements import services
from entitlements.models import Evidence
from entitlements.uploads import MAX_UPLOAD_BYTES, CappedTemporaryFileUploadHandler
from tests.journeys import PDF_BYTES, PNG_BYTES, apply

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
JPEG_BYTES = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    b"\xff\xdb\x00C\x00" + bytes(range(64)) + b"\xff\xd9"
)


def zipped(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return buffer.getvalue()


CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    b'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>'
)
DOCX_BYTES = zipped(
    {
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": b"<Relationships/>",
        "word/document.xml": b"<w:document><w:body><w:p>Sign-off</w:p></w:body></w:document>",
    }
)
XLSX_BYTES = zipped(
    {
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": b"<Relationships/>",
        "xl/workbook.xml": b"<workbook><sheets/></workbook>",
        "xl/worksheets/sheet1.xml": b"<worksheet/>",
    }
)
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


@pytest.fixture(autouse=True)
def media(today, settings, tmp_path):
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


@pytest.fixture
def draft(referrer, supervisor, trust, catalogue, procedure):
    """Priya's draft with its service need, scope and supervision, and no file yet."""
    application = services.application_start(
        by=referrer,
        employment_id=referrer.referrer_profile.employments.get().pk,
        organisation_id=trust.pk,
        kind="referral",
    )
    services.application_answer(
        application=application,
        by=referrer,
        service_need="ED",
        expected_volume=10,
        clinical_supervisor=supervisor,
        decision_line="ED consultant",
        accountability_line="Clinical lead",
    )
    services.application_scope_item_add(
        application=application,
        by=referrer,
        request=services.ScopeRequest(examination=catalogue["xr_chest"], settings=("ED",)),
    )
    return application


def upload(client, application, name, content, kind="training", **extra):
    return client.post(
        reverse("application_evidence", args=[application.pk]),
        {"file": SimpleUploadedFile(name, content), "kind": kind, **extra},
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "certificate.pdf",
            EXE_BYTES,
            "The selected file must be a PDF, PNG, JPEG, Word (.docx) or Excel (.xlsx) file "
            "(it is a Windows program)",
        ),
        (
            "scan.png",
            b"This is only text pretending to be a picture.\n" * 20,
            "(its contents are not one of these, whatever its name says)",
        ),
        (
            "sign-off.docx",
            zipped({"notes.txt": b"not a Word document"}),
            "(it is a zip archive, not a Word or Excel file)",
        ),
        (
            "workbook.xlsx",
            zipped({"[Content_Types].xml": CONTENT_TYPES, "other/part.xml": b"<x/>"}),
            "(it is a zip archive, not a Word or Excel file)",
        ),
        ("empty.pdf", b"", "The selected file is empty"),
        (
            "huge.pdf",
            PDF_BYTES + b"\x00" * (11 * 1024 * 1024 - len(PDF_BYTES)),
            "The selected file must be smaller than 10 MB (it is 11.0 MB)",
        ),
    ],
    ids=["exe-named-pdf", "text-named-png", "zip-named-docx", "zip-named-xlsx", "empty", "11MB"],
)
def test_a_refused_file_says_why_and_nothing_is_stored(
    client, referrer, draft, media, name, content, message
):
    client.force_login(referrer)
    history = draft.history.count()
    response = upload(client, draft, name, content)
    page = response.content.decode().replace("\xa0", " ")  # sizes use a no-break space
    assert response.status_code == 200  # never a 400 or 413
    assert "There is a problem" in page
    assert 'href="#id_file"' in page  # the error summary links to the field
    assert page.count(message) == 2  # in the summary and on the field
    assert "nhsuk-form-group--error" in page
    assert not Evidence.objects.exists()
    assert stored_files(media) == []
    draft.refresh_from_db()
    assert draft.history.count() == history


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("competency.pdf", PDF_BYTES, "application/pdf"),
        ("certificate.png", PNG_BYTES, "image/png"),
        ("photo of certificate.jpg", JPEG_BYTES, "image/jpeg"),
        ("sign-off.docx", DOCX_BYTES, DOCX),
        ("logbook.xlsx", XLSX_BYTES, XLSX),
        # The name does not matter either way: a real PDF called .png is a PDF.
        ("misnamed.png", PDF_BYTES, "application/pdf"),
    ],
)
def test_real_files_are_accepted_stored_privately_and_downloaded_as_they_were(
    client, referrer, draft, media, name, content, content_type
):
    client.force_login(referrer)
    response = upload(client, draft, name, content, kind="competency", description="2026")
    assert response.status_code == 302
    evidence = Evidence.objects.get()
    assert evidence.application == draft
    assert evidence.content_type == content_type
    assert evidence.original_name == name
    assert evidence.size == len(content)
    assert evidence.kind == "competency" and evidence.description == "2026"
    assert evidence.uploaded_by == referrer
    # Stored under a random name in the private folder, never the uploaded one.
    assert stored_files(media) == [evidence.file.name]
    assert evidence.file.name.startswith("evidence/") and name not in evidence.file.name
    assert (media / evidence.file.name).read_bytes() == content

    page = client.get(reverse("application_evidence", args=[draft.pk])).content.decode()
    assert f"{name} has been uploaded" in page
    assert reverse("evidence_download", args=[evidence.pk]) in page
    assert reverse("evidence_remove", args=[draft.pk, evidence.pk]) in page

    response = client.get(reverse("evidence_download", args=[evidence.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]


def test_the_download_names_the_file_by_its_cleaned_original_name(client, referrer, draft, media):
    client.force_login(referrer)
    upload(client, draft, "..\\..\\Certificate\x07 2026.pdf", PDF_BYTES)
    evidence = Evidence.objects.get()
    assert evidence.original_name == "Certificate 2026.pdf"
    response = client.get(reverse("evidence_download", args=[evidence.pk]))
    assert response["Content-Disposition"] == 'attachment; filename="Certificate 2026.pdf"'


def test_there_is_no_public_url_for_a_stored_file(client, referrer, draft, media):
    client.force_login(referrer)
    upload(client, draft, "competency.pdf", PDF_BYTES)
    evidence = Evidence.objects.get()
    for url in (f"/media/{evidence.file.name}", f"/{evidence.file.name}"):
        assert client.get(url).status_code == 404, url
    client.logout()
    response = client.get(reverse("evidence_download", args=[evidence.pk]))
    assert response.status_code == 302  # to sign in, not the file


def test_removing_a_file_asks_first_and_then_takes_it_off_the_application(
    client, referrer, draft, media
):
    client.force_login(referrer)
    upload(client, draft, "old-certificate.pdf", PDF_BYTES)
    evidence = Evidence.objects.get()
    url = reverse("evidence_remove", args=[draft.pk, evidence.pk])
    page = client.get(url).content.decode()
    assert "Are you sure you want to remove old-certificate.pdf?" in page
    evidence.refresh_from_db()
    assert evidence.removed_at is None  # a GET removes nothing

    response = client.post(url)
    assert response["Location"] == reverse("application_evidence", args=[draft.pk])
    evidence.refresh_from_db()
    assert evidence.removed_at is not None
    page = client.get(response["Location"]).content.decode()
    assert "old-certificate.pdf has been removed" in page
    assert reverse("evidence_download", args=[evidence.pk]) not in page
    assert client.get(reverse("evidence_download", args=[evidence.pk])).status_code == 404
    # The record stays for the audit trail; the application needs evidence again.
    assert Evidence.objects.count() == 1
    assert "evidence" in services.application_problems(draft)


def test_files_of_a_submitted_application_cannot_be_added_or_removed(
    client, referrer, supervisor, trust, catalogue, procedure, media
):
    application = apply(referrer, trust, [catalogue["xr_chest"]], supervisor=supervisor)
    evidence = application.evidence.get()
    files = stored_files(media)
    client.force_login(referrer)
    response = upload(client, application, "late.pdf", PDF_BYTES)
    assert response["Location"] == reverse("application", args=[application.pk])
    client.post(reverse("evidence_remove", args=[application.pk, evidence.pk]))
    evidence.refresh_from_db()
    assert evidence.removed_at is None
    assert Evidence.objects.count() == 1
    assert stored_files(media) == files


def test_a_description_that_is_too_long_is_refused_and_nothing_stored(
    client, referrer, draft, media
):
    client.force_login(referrer)
    response = upload(client, draft, "competency.pdf", PDF_BYTES, description="x" * 201)
    assert "Description must be 200 characters or fewer" in response.content.decode()
    assert not Evidence.objects.exists()
    assert stored_files(media) == []


def test_the_upload_handler_keeps_no_more_than_the_limit_but_counts_everything(settings):
    """What keeps a huge upload off the disk, while still knowing how big it was."""
    assert "entitlements.uploads.CappedTemporaryFileUploadHandler" in settings.FILE_UPLOAD_HANDLERS
    handler = CappedTemporaryFileUploadHandler()
    handler.new_file("file", "huge.pdf", "application/pdf", None)
    chunk = b"x" * (1024 * 1024)
    total = 0
    for _ in range(12):
        assert handler.receive_data_chunk(chunk, total) is None
        total += len(chunk)
    uploaded = handler.file_complete(total)
    try:
        assert uploaded.size == 12 * 1024 * 1024
        uploaded.seek(0, os.SEEK_END)
        assert uploaded.tell() == MAX_UPLOAD_BYTES + 1
    finally:
        uploaded.close()
