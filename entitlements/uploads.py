"""What an uploaded file really is, judged from its bytes, never its name.

Evidence and certificates may be PDF, PNG, JPEG, Word (.docx) or Excel (.xlsx), at most
10 MB. `check_upload` says, in words fit to show, why a file is refused. When
settings.CLAMD_SOCKET names a clamd socket, a file of an accepted kind is also scanned by
ClamAV (`clamav.py`); a file with a virus, or one that cannot be scanned (clamd down), is
refused and the refusal logged.

`CappedTemporaryFileUploadHandler` (settings.FILE_UPLOAD_HANDLERS) keeps an upload from
filling the disk: of a file larger than any we accept it stores only the first bytes, but it
counts them all, so the file's real size is known and the person is told it is too big
(rather than the request failing with a 400 or a 413).
"""

import hashlib
import logging
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.template.defaultfilters import filesizeformat

from .clamav import ScanUnavailable, scan_upload

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 10 * 1024 * 1024

ALLOWED_TYPES = {
    "application/pdf": "PDF",
    "image/png": "PNG image",
    "image/jpeg": "JPEG image",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel spreadsheet",
}
ALLOWED_LABEL = "a PDF, PNG, JPEG, Word (.docx) or Excel (.xlsx) file"

# What a refused file looks like, in words a person can act on.
REFUSED_TYPES = {
    "application/x-msdownload": "a Windows program",
    "application/x-executable": "a program",
    "application/x-sh": "a script",
    "application/zip": "a zip archive, not a Word or Excel file",
    "application/x-rar-compressed": "a compressed archive",
    "application/x-7z-compressed": "a compressed archive",
    "application/gzip": "a compressed archive",
    "image/gif": "a GIF image",
    "image/webp": "a WebP image",
    "image/heic": "a HEIC photo",
    "image/tiff": "a TIFF image",
    "image/bmp": "a BMP image",
    "application/msword": "an old-style Word document (.doc): save it as .docx or PDF",
    "application/vnd.ms-excel": "an old-style Excel file (.xls): save it as .xlsx or PDF",
}


OFFICE_TYPES = {
    "word/document.xml": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    ),
    "xl/workbook.xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _office_type(upload) -> str:
    upload.seek(0)
    try:
        with zipfile.ZipFile(upload) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return ""
    finally:
        upload.seek(0)
    if "[Content_Types].xml" not in names:
        return "application/zip"
    for part, mime in OFFICE_TYPES.items():
        if part in names:
            return mime
    return "application/zip"


@dataclass(frozen=True)
class CheckedUpload:
    content_type: str
    size: int
    sha256: str
    name: str


def clean_name(name: str) -> str:
    """A safe display name: no folders, no control characters, at most 150 characters."""
    name = os.path.basename((name or "").replace("\\", "/"))
    name = unicodedata.normalize("NFC", name)
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip().strip(".")
    return name[-150:] or "upload"


def check_upload(upload) -> tuple[CheckedUpload | None, str]:
    """Check an uploaded file; returns (the facts, "") or (None, why it is refused)."""
    size = upload.size or 0
    if size == 0:
        return None, "The selected file is empty"
    if size > MAX_UPLOAD_BYTES:
        return None, (
            f"The selected file must be smaller than 10 MB (it is {filesizeformat(size)})"
        )
    upload.seek(0)
    head = upload.read(8192)
    kind = filetype.guess(head)
    mime = kind.mime if kind is not None else ""
    if mime == "application/zip" or mime in OFFICE_TYPES.values():
        # Office files are zip archives; only their contents say which (or whether) they are.
        mime = _office_type(upload)
    if mime not in ALLOWED_TYPES:
        if not mime:
            found = " (its contents are not one of these, whatever its name says)"
        else:
            found = f" (it is {REFUSED_TYPES.get(mime, 'a different kind of file')})"
        return None, f"The selected file must be {ALLOWED_LABEL}{found}"
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    refused = _virus_scan(upload, digest.hexdigest())
    if refused:
        return None, refused
    return (
        CheckedUpload(
            content_type=mime,
            size=size,
            sha256=digest.hexdigest(),
            name=clean_name(upload.name),
        ),
        "",
    )


def _virus_scan(upload, sha256: str) -> str:
    """Why ClamAV refuses the file ("" if it is clean, or if no clamd is configured)."""
    socket_path = getattr(settings, "CLAMD_SOCKET", "")
    if not socket_path:
        return ""
    name = clean_name(upload.name)
    try:
        result = scan_upload(upload, socket_path=socket_path, timeout=settings.CLAMD_TIMEOUT)
    except ScanUnavailable as error:
        logger.error(
            "Upload refused, virus scan unavailable: %s (sha256 %s): %s", name, sha256, error
        )
        return "The selected file could not be checked for viruses. Try again in a few minutes"
    if not result.clean:
        logger.warning(
            "Upload refused, virus found: %s (sha256 %s): %s", name, sha256, result.signature
        )
        return "The selected file contains a virus or malware, so it cannot be uploaded"
    return ""


class CappedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    """Streams a large upload to a temporary file, keeping at most MAX_UPLOAD_BYTES + 1 bytes
    of it. The rest is read and counted but not kept: Django passes the full count to
    `file_complete`, so `upload.size` is the real size and `check_upload` refuses the file
    with its size in the message. Nothing of a refused file reaches the storage."""

    keep = MAX_UPLOAD_BYTES + 1

    def receive_data_chunk(self, raw_data, start):
        room = self.keep - start
        if room > 0:
            self.file.write(raw_data[:room])
        return None
