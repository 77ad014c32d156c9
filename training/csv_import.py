"""Reading training records from a learning-management system's CSV export (format:
docs/csv-formats.md, "Training records").

`parse_training_csv` checks everything the file can say on its own: the encoding, the header,
each value, and rows repeated in the file. Who each registration belongs to, and whether that
referrer is employed or entitled at the importing organisation, is checked against the
database by `training.services.training_import`, which adds its problems to these before
anything is written.

Cells are read as text and never evaluated: a value beginning with `=`, `+`, `-` or `@` (a
spreadsheet formula) is kept as the text it is, and is not a valid date or number.
"""

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal

from entitlements.csv_import import ImportProblem, csv_lines, csv_text
from referrers.regulators import Regulator, normalise_registration_number

from .models import RecordKind, TrainingRecord

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
COLUMNS = (
    "regulator",
    "registration_number",
    "training_kind",
    "provider",
    "title",
    "completed_on",
    "certificate_expires_on",
    "hours",
    "lms_record_id",
)
EXTERNAL_ID_MAX = TrainingRecord._meta.get_field("external_id").max_length
PROVIDER_MAX = TrainingRecord._meta.get_field("provider").max_length
TITLE_MAX = TrainingRecord._meta.get_field("title").max_length
# No course completed before this is a record anyone needs; an earlier date is a typing slip.
EARLIEST_COMPLETION = datetime.date(1950, 1, 1)
REGULATORS = {value.lower(): value for value in Regulator.values}
KINDS = {value: value for value in RecordKind.values}
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
HOURS = re.compile(r"\d{1,3}(?:\.\d+)?")


@dataclass(frozen=True)
class TrainingRow:
    """One record as the file gives it. `line` is where it starts (the header is line 1)."""

    line: int
    regulator: str
    registration_number: str
    kind: str
    provider: str
    title: str
    completed_on: datetime.date | None
    certificate_expires_on: datetime.date | None
    hours: Decimal | None
    lms_record_id: str

    @property
    def registration(self) -> str:
        return f"{self.regulator} {self.registration_number}"

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What makes a record the same record: the person, the kind and the LMS id."""
        return (self.regulator, self.registration_number, self.kind, self.lms_record_id)


@dataclass
class ParsedTrainingFile:
    rows: list[TrainingRow] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.problems


def _date(value: str, column: str) -> tuple[datetime.date | None, str]:
    if not value:
        return None, ""
    if ISO_DATE.fullmatch(value):
        try:
            return datetime.date.fromisoformat(value), ""
        except ValueError:
            return None, f"{column} ‘{value}’ is not a real date"
    return None, f"{column} must be a date written YYYY-MM-DD, like 2025-03-31 (not ‘{value}’)"


def _hours(value: str) -> tuple[Decimal | None, str]:
    if not value:
        return None, ""
    if not HOURS.fullmatch(value):
        return None, f"hours must be a number of hours like 7.5 (not ‘{value}’)"
    hours = Decimal(value)
    if hours <= 0:
        return None, "hours must be more than 0"
    if hours != hours.quantize(Decimal("0.1")):
        return None, f"hours must have at most one decimal place, like 7.5 (not ‘{value}’)"
    return hours.quantize(Decimal("0.1")), ""


def row_problems(
    values: dict[str, str], line: int, today: datetime.date
) -> tuple[TrainingRow, list[str]]:
    """The row read from `values`, and everything wrong with it on its own (in the file's
    column names, each value reported once)."""
    problems = []
    regulator = REGULATORS.get(values["regulator"].lower(), "")
    if not values["regulator"]:
        problems.append("regulator is missing")
    elif not regulator:
        problems.append(
            f"regulator ‘{values['regulator']}’ is not one of {', '.join(Regulator.values)}"
        )
    number = normalise_registration_number(values["registration_number"])
    if not number:
        problems.append("registration_number is missing")
    kind = KINDS.get(values["training_kind"].lower().replace(" ", "_").replace("-", "_"), "")
    if not values["training_kind"]:
        problems.append("training_kind is missing")
    elif not kind:
        problems.append(
            f"training_kind ‘{values['training_kind']}’ is not one of "
            f"{', '.join(RecordKind.values)}"
        )
    if not values["provider"]:
        problems.append("provider is missing")
    elif len(values["provider"]) > PROVIDER_MAX:
        problems.append(f"provider must be {PROVIDER_MAX} characters or fewer")
    if len(values["title"]) > TITLE_MAX:
        problems.append(f"title must be {TITLE_MAX} characters or fewer")

    completed_on, problem = _date(values["completed_on"], "completed_on")
    if not values["completed_on"]:
        problems.append("completed_on is missing")
    elif problem:
        problems.append(problem)
    elif completed_on > today:
        problems.append(f"completed_on {completed_on:%Y-%m-%d} is in the future")
    elif completed_on < EARLIEST_COMPLETION:
        problems.append(f"completed_on {completed_on:%Y-%m-%d} is before 1950")
    expires_on, problem = _date(values["certificate_expires_on"], "certificate_expires_on")
    if problem:
        problems.append(problem)
    elif expires_on and completed_on and expires_on <= completed_on:
        problems.append(
            f"certificate_expires_on {expires_on:%Y-%m-%d} is not after completed_on "
            f"{completed_on:%Y-%m-%d}"
        )
    hours, problem = _hours(values["hours"])
    if problem:
        problems.append(problem)
    elif kind == RecordKind.CPD and hours is None:
        problems.append("hours is missing: a CPD record must give its hours")

    lms_record_id = values["lms_record_id"]
    if not lms_record_id:
        problems.append("lms_record_id is missing")
    elif len(lms_record_id) > EXTERNAL_ID_MAX:
        problems.append(f"lms_record_id must be {EXTERNAL_ID_MAX} characters or fewer")
    row = TrainingRow(
        line=line,
        regulator=regulator or values["regulator"],
        registration_number=number,
        kind=kind,
        provider=values["provider"],
        title=values["title"],
        completed_on=completed_on,
        certificate_expires_on=expires_on,
        hours=hours,
        lms_record_id=lms_record_id,
    )
    return row, problems


def parse_training_csv(data: bytes, *, today: datetime.date) -> ParsedTrainingFile:
    """Check a whole file and return its rows, or every problem it has on its own."""
    result = ParsedTrainingFile()
    text, problem = csv_text(
        data, max_bytes=MAX_FILE_BYTES, too_large="The file must be smaller than 5 MB"
    )
    if problem is not None:
        result.problems.append(problem)
        return result

    read = csv_lines(
        text,
        COLUMNS,
        max_lines=MAX_ROWS,
        too_many=f"The file has more than {MAX_ROWS:,} records: split it into files of "
        f"{MAX_ROWS:,} or fewer",
    )
    result.problems.extend(read.problems)
    if read.stopped:
        return result
    first_line_of: dict[tuple, int] = {}
    for line, values in read.lines:
        row, problems = row_problems(values, line, today)
        result.problems.extend(ImportProblem(line, message) for message in problems)
        result.rows.append(row)
        if row.registration_number and row.kind and row.lms_record_id:
            if row.key in first_line_of:
                result.problems.append(
                    ImportProblem(
                        line,
                        f"LMS record {row.lms_record_id} ({row.kind}) of "
                        f"{row.registration} is already on line {first_line_of[row.key]}",
                    )
                )
            else:
                first_line_of[row.key] = line
    if not result.rows and not result.problems:
        result.problems.append(ImportProblem(None, "The file has a header but no records"))
    result.problems.sort(key=lambda p: p.line or 0)
    return result
