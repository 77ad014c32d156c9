"""Reading an examination catalogue from a CSV file (format: docs/csv-formats.md).

The whole file is checked before anything is written: `parse_catalogue_csv` returns either
rows that are all good, or every problem it found, each with its line number. The service
`catalogue_import` checks the rows again, so nothing reaches the database unchecked.
"""

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from .modalities import IONISING_MODALITIES, Modality
from .models.catalogue import Examination, examination_flag_errors

MAX_FILE_BYTES = 2 * 1024 * 1024
COLUMNS = ("code", "name", "modality", "body_area", "ionising", "contrast", "mri")
FLAG_COLUMNS = ("ionising", "contrast", "mri")
YES = frozenset({"yes", "y", "true", "1"})
NO = frozenset({"no", "n", "false", "0"})

_MAX_LENGTHS = {
    name: Examination._meta.get_field(name).max_length for name in ("code", "name", "body_area")
}


@dataclass(frozen=True)
class ExaminationRow:
    """One examination as the file gives it. `line` is where its record starts (header = 1)."""

    line: int
    code: str
    name: str
    modality: str
    body_area: str
    # None when the file gave something other than yes or no.
    ionising: bool | None
    contrast: bool | None
    mri: bool | None


@dataclass(frozen=True)
class ImportProblem:
    """Why the file cannot be imported. `line` is None for a problem with the whole file."""

    line: int | None
    message: str


@dataclass
class ParsedCatalogue:
    rows: list[ExaminationRow] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.problems


def normalise_code(code: str) -> str:
    return (code or "").strip().upper()


def _flag(value: str) -> bool | None:
    value = value.strip().lower()
    if value in YES:
        return True
    if value in NO:
        return False
    return None


def examination_row_problems(row: ExaminationRow) -> list[str]:
    """What is wrong with one row on its own (empty when it can be saved)."""
    problems = []
    labels = {"code": "Code", "name": "Name", "body_area": "Body area"}
    for name, label in labels.items():
        value = getattr(row, name)
        if not value:
            problems.append(f"{label} is missing")
        elif len(value) > _MAX_LENGTHS[name]:
            problems.append(f"{label} must be {_MAX_LENGTHS[name]} characters or fewer")
    if not row.modality:
        problems.append("Modality is missing")
    elif row.modality not in Modality.values:
        problems.append(f"Modality ‘{row.modality}’ is not one of {', '.join(Modality.values)}")
    for column in FLAG_COLUMNS:
        if getattr(row, column) is None:
            problems.append(f"{column} must be yes or no")
    if row.modality in Modality.values and None not in (row.ionising, row.mri):
        errors = examination_flag_errors(row.modality, row.ionising, row.mri)
        if "ionising" in errors:
            expected = "yes" if row.modality in IONISING_MODALITIES else "no"
            problems.append(f"{errors['ionising']}, so ionising must be {expected}")
        if "mri" in errors:
            expected = "yes" if row.modality == Modality.MR else "no"
            problems.append(f"{errors['mri']}, so mri must be {expected}")
    return problems


def catalogue_row_problems(rows: Iterable[ExaminationRow]) -> list[ImportProblem]:
    """Every problem with `rows`: each row on its own, and codes used more than once."""
    problems = []
    first_line_of: dict[str, int] = {}
    for row in rows:
        for message in examination_row_problems(row):
            problems.append(ImportProblem(row.line, message))
        if row.code:
            if row.code in first_line_of:
                problems.append(
                    ImportProblem(
                        row.line,
                        f"Code {row.code} is already used on line {first_line_of[row.code]}",
                    )
                )
            else:
                first_line_of[row.code] = row.line
    return problems


def header_problems(header: list[str], columns: tuple[str, ...]) -> list[ImportProblem]:
    """What is wrong with a CSV file's header line, given the columns its format has (any
    CSV import of ours: the catalogue here, training records in `training.csv_import`)."""
    problems = []
    missing = [c for c in columns if c not in header]
    extra = [c or "(blank)" for c in header if c not in columns]
    repeated = sorted({c for c in header if c in columns and header.count(c) > 1})
    if missing:
        problems.append(ImportProblem(1, f"The header is missing: {', '.join(missing)}"))
    if extra:
        problems.append(
            ImportProblem(
                1, f"The header has columns this file format does not use: {', '.join(extra)}"
            )
        )
    if repeated:
        problems.append(ImportProblem(1, f"The header repeats: {', '.join(repeated)}"))
    if problems:
        problems.append(
            ImportProblem(1, f"The first line must name these columns: {','.join(columns)}")
        )
    return problems


@dataclass
class CsvLines:
    """A CSV text read line by line: each non-blank line after the header, with its number
    and its cells by column (stripped); the problems found; and whether reading stopped
    early (a bad header, text that is not CSV, or too many lines)."""

    lines: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)
    stopped: bool = False


def csv_lines(
    text: str, columns: tuple[str, ...], *, max_lines: int | None = None, too_many: str = ""
) -> CsvLines:
    """Read CSV `text` whose header must name `columns` (any CSV import of ours). A line with
    the wrong number of values is a problem and is skipped; more than `max_lines` lines is
    the `too_many` problem."""
    result = CsvLines()
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [c.strip().lower().replace(" ", "_") for c in next(reader, [])]
        result.problems = header_problems(header, columns)
        if result.problems:
            result.stopped = True
            return result
        line_read = reader.line_num
        for cells in reader:
            line, line_read = line_read + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if max_lines is not None and len(result.lines) >= max_lines:
                result.problems.append(ImportProblem(None, too_many))
                result.stopped = True
                return result
            if len(cells) != len(header):
                result.problems.append(
                    ImportProblem(
                        line,
                        f"The line has {len(cells)} values but the header has "
                        f"{len(header)} columns",
                    )
                )
                continue
            result.lines.append((line, dict(zip(header, (c.strip() for c in cells), strict=True))))
    except csv.Error as error:
        result.problems.append(
            ImportProblem(reader.line_num or None, f"The file is not a readable CSV file ({error})")
        )
        result.stopped = True
    return result


def csv_text(
    data: bytes, *, max_bytes: int, too_large: str
) -> tuple[str | None, ImportProblem | None]:
    """The text of an uploaded CSV file, or the one problem that stops it being read: too
    large, UTF-16 or not UTF-8 (with the line), a NUL character (with the line), or empty.
    A byte-order mark is dropped. Shared by the imports of training records and audit
    extracts."""
    if len(data) > max_bytes:
        return None, ImportProblem(None, too_large)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, ImportProblem(
            None,
            "The file is UTF-16 (‘Unicode text’). In Excel, save it as ‘CSV UTF-8 (comma "
            "delimited)’ and upload it again",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        return None, ImportProblem(
            line,
            "The file is not UTF-8 text. In Excel, save it as ‘CSV UTF-8 (comma delimited)’ "
            "and upload it again",
        )
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        return None, ImportProblem(
            line, "The file is not a CSV text file (it holds a NUL character)"
        )
    if not text.strip():
        return None, ImportProblem(None, "The file is empty")
    return text, None


def parse_catalogue_csv(data: bytes) -> ParsedCatalogue:
    """Check a whole catalogue file and return its rows, or every problem with it."""
    result = ParsedCatalogue()
    text, problem = csv_text(
        data, max_bytes=MAX_FILE_BYTES, too_large="The file must be smaller than 2 MB"
    )
    if problem is not None:
        result.problems.append(problem)
        return result

    read = csv_lines(text, COLUMNS)
    result.problems.extend(read.problems)
    if read.stopped:
        return result
    for line, values in read.lines:
        flags = {column: _flag(values[column]) for column in FLAG_COLUMNS}
        result.rows.append(
            ExaminationRow(
                line=line,
                code=normalise_code(values["code"]),
                name=values["name"],
                modality=values["modality"].upper(),
                body_area=values["body_area"],
                **flags,
            )
        )

    result.problems.extend(catalogue_row_problems(result.rows))
    if not result.rows and not result.problems:
        result.problems.append(ImportProblem(None, "The file has a header but no examinations"))
    result.problems.sort(key=lambda p: p.line or 0)
    return result


def read_catalogue_upload(upload) -> ParsedCatalogue:
    """Check an uploaded file, refusing a large one before reading it into memory."""
    if upload.size > MAX_FILE_BYTES:
        return ParsedCatalogue(problems=[ImportProblem(None, "The file must be smaller than 2 MB")])
    upload.seek(0)
    return parse_catalogue_csv(upload.read())
