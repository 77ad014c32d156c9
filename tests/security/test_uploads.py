"""Uploads scanned by ClamAV when CLAMD_SOCKET is set: a fake clamd serves the INSTREAM
protocol on a Unix socket in a thread. (Type from bytes, size limit, clean names and private
storage: tests/entitlements/test_evidence.py and tests/training/test_records.py.)"""

import logging
import os
import socket
import struct
import tempfile
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from entitlements.uploads import check_upload
from tests.journeys import PDF_BYTES
from training.models import TrainingRecord

# Not a real virus: the fake clamd below "finds" anything containing this marker.
MARKER = b"FAKE-VIRUS-SIGNATURE-FOR-TESTS"


class FakeClamd:
    """clamd's INSTREAM over a Unix socket: answers `stream: OK` or `stream: <sig> FOUND`,
    and keeps what it was sent so the test can check the whole file arrived."""

    def __init__(self, path: str):
        self.path = path
        self.received: list[bytes] = []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(4)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                self.handle(connection)

    def read_exactly(self, connection, n: int) -> bytes:
        data = b""
        while len(data) < n:
            part = connection.recv(n - len(data))
            if not part:
                raise ConnectionError("closed")
            data += part
        return data

    def handle(self, connection):
        command = self.read_exactly(connection, len(b"zINSTREAM\0"))
        assert command == b"zINSTREAM\0", command
        body = b""
        while True:
            (length,) = struct.unpack("!L", self.read_exactly(connection, 4))
            if length == 0:
                break
            body += self.read_exactly(connection, length)
        self.received.append(body)
        if MARKER in body:
            connection.sendall(b"stream: Fake.Test.Signature FOUND\0")
        else:
            connection.sendall(b"stream: OK\0")

    def close(self):
        self.server.close()


@pytest.fixture
def clamd(settings):
    # A short path: Unix socket paths are limited to about 100 characters.
    folder = tempfile.mkdtemp(prefix="clamd-")
    fake = FakeClamd(os.path.join(folder, "clamd.sock"))
    settings.CLAMD_SOCKET = fake.path
    yield fake
    fake.close()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
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


def record_form(certificate) -> dict:
    return {
        "kind": "radiation_protection",
        "title": "IR(ME)R for referrers",
        "provider": "e-Learning for Healthcare",
        "completed_on_day": "14",
        "completed_on_month": "1",
        "completed_on_year": "2026",
        "certificate": certificate,
    }


def test_a_clean_file_is_scanned_whole_and_accepted(clamd):
    big = PDF_BYTES + b"%" * (300 * 1024)  # several chunks
    checked, error = check_upload(SimpleUploadedFile("certificate.pdf", big))
    assert error == ""
    assert checked.content_type == "application/pdf"
    assert clamd.received == [big]


def test_a_file_that_fails_the_scan_is_refused_logged_and_not_stored(
    client, referrer, clamd, media, caplog
):
    client.force_login(referrer)
    infected = PDF_BYTES + MARKER
    with caplog.at_level(logging.WARNING, logger="entitlements.uploads"):
        response = client.post(
            reverse("training_record_add"),
            record_form(SimpleUploadedFile("certificate.pdf", infected)),
        )
    assert response.status_code == 200
    assert "contains a virus or malware" in response.content.decode()
    assert not TrainingRecord.objects.exists()
    assert list(media.iterdir()) == []
    assert clamd.received == [infected]
    logged = [r.getMessage() for r in caplog.records if r.name == "entitlements.uploads"]
    assert any("virus found" in m and "Fake.Test.Signature" in m for m in logged), logged


def test_when_clamd_cannot_be_reached_the_file_is_refused_not_let_through(
    settings, tmp_path, caplog
):
    settings.CLAMD_SOCKET = str(tmp_path / "no-such.sock")
    with caplog.at_level(logging.ERROR, logger="entitlements.uploads"):
        checked, error = check_upload(SimpleUploadedFile("certificate.pdf", PDF_BYTES))
    assert checked is None
    assert "could not be checked for viruses" in error
    assert any("scan unavailable" in r.getMessage() for r in caplog.records)


def test_a_file_of_a_refused_kind_is_refused_before_any_scan(clamd):
    checked, error = check_upload(SimpleUploadedFile("run.pdf", b"MZ\x90\x00" + b"\x00" * 200))
    assert checked is None
    assert clamd.received == []


def test_without_clamd_socket_nothing_is_scanned(settings):
    settings.CLAMD_SOCKET = ""
    checked, error = check_upload(SimpleUploadedFile("certificate.pdf", PDF_BYTES + MARKER))
    assert error == "" and checked is not None
