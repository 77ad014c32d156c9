"""The nightly RIS export: per organisation and day, a CSV of referrer codes and the
examination codes each may request, the shape a RIS "restrict ordering by examination" list
takes (docs/api.md has the format).

`ris_export_build` guarantees:
- one export per organisation and day (a rerun returns the one already built, unchanged);
- the CSV is stored (private media) with its SHA-256 and row count in a `RisExport`;
- it is also written to `settings.RIS_EXPORT_DIR` as `<ODS>-<date>.csv` with
  `<ODS>-<date>.csv.sha256` beside it (`sha256sum -c` format), each written to a temporary
  file and renamed into place, so a reader never sees half a file; the checksum file is
  written last, so its presence means the CSV is complete;
- a cell starting with =, +, -, @ (or a tab or carriage return) is prefixed with ' so a
  spreadsheet never runs it as a formula.
"""

import csv
import datetime
import hashlib
import io
import logging
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from referrers.models import Organisation

from ..models import RisExport
from ..selectors.integration import ris_export_for, ris_rows

logger = logging.getLogger(__name__)

HEADER = ("referrer_code", "registration", "referrer_name", "examination_code")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FILE_MODE = 0o640


def neutralise(cell: str) -> str:
    """A cell a spreadsheet will show as text, never run as a formula."""
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell


def ris_csv(rows) -> bytes:
    """The CSV (UTF-8, CRLF line ends as RFC 4180 says, a header row) of `rows`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow([neutralise(str(cell)) for cell in row])
    return buffer.getvalue().encode("utf-8")


def export_file_name(organisation: Organisation, for_date: datetime.date) -> str:
    return f"{organisation.ods_code}-{for_date.isoformat()}.csv"


def checksum_line(digest: str, name: str) -> bytes:
    """The .sha256 file: the `sha256sum` format, so `sha256sum -c` checks the CSV."""
    return f"{digest}  {name}\n".encode("ascii")


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def ris_export_write_to_directory(export: RisExport, content: bytes | None = None) -> Path:
    """Write `export` (and its checksum file) to RIS_EXPORT_DIR, unless the same file is
    already there. Returns the CSV's path."""
    directory = Path(settings.RIS_EXPORT_DIR)
    name = export_file_name(export.organisation, export.for_date)
    path = directory / name
    checksum = directory / f"{name}.sha256"
    expected = checksum_line(export.sha256, name)
    if (
        path.exists()
        and checksum.exists()
        and checksum.read_bytes() == expected
        and hashlib.sha256(path.read_bytes()).hexdigest() == export.sha256
    ):
        return path
    if content is None:
        with export.file.open("rb") as stored:
            content = stored.read()
    if hashlib.sha256(content).hexdigest() != export.sha256:
        raise ValueError(f"{export} no longer matches its checksum: not written")
    _write_atomically(path, content)
    _write_atomically(checksum, expected)
    return path


def ris_export_build(*, organisation: Organisation, for_date: datetime.date) -> RisExport:
    """Build (once) `organisation`'s RIS export for `for_date`: see the module's guarantees.

    The rows are the register as it stands when built, with the dates in it (registration
    expiry, end of employment, review due) judged on `for_date`; a future day is refused.
    """
    if for_date > timezone.localdate():
        raise ValidationError({"for_date": "An export can be built for today or a past day"})
    existing = ris_export_for(organisation, for_date)
    if existing is not None:
        ris_export_write_to_directory(existing)
        return existing
    rows = ris_rows(organisation, for_date)
    content = ris_csv(rows)
    export = RisExport(
        organisation=organisation,
        for_date=for_date,
        sha256=hashlib.sha256(content).hexdigest(),
        rows=len(rows),
    )
    export.file.save(export_file_name(organisation, for_date), ContentFile(content), save=False)
    try:
        with transaction.atomic():
            export.save()
    except IntegrityError:
        # Another worker built it first: keep theirs.
        export.file.delete(save=False)
        existing = ris_export_for(organisation, for_date)
        if existing is None:
            raise
        ris_export_write_to_directory(existing)
        return existing
    ris_export_write_to_directory(export, content)
    logger.info("RIS export %s: %s rows, sha256 %s", export, export.rows, export.sha256)
    return export
