"""What an uploaded file really is, judged from its bytes, never its name.

Evidence and certificates may be PDF, PNG, JPEG, Word (.docx) or Excel (.xlsx), at most
10 MB. `upload_problem` says, in words fit to show, why a file is refused.
"""

import hashlib
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass

import filetype
from django.template.defaultfilters import filesizeformat

MAX_UPLOAD_BYTES = 10 * 1024 * 1024

ALLOWED_TYPES = {
    "application/pdf": "PDF",
    "image/png": "PNG image",
    "image/jpeg": "JPEG image",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel spreadsheet",
}
ALLOWED_LABEL = "a PDF, PNG, JPEG, Word (.docx) or Excel (.xlsx) file"


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
        found = f" (it looks like {mime})" if mime else ""
        return None, f"The selected file must be {ALLOWED_LABEL}{found}"
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return (
        CheckedUpload(
            content_type=mime,
            size=size,
            sha256=digest.hexdigest(),
            name=clean_name(upload.name),
        ),
        "",
    )
