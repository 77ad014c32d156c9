"""Reading a request extract from the EPR or RIS (format: docs/csv-formats.md, "Audit request
extracts").

`parse_extract_csv` checks everything the file can say on its own: the encoding, the header,
each value. Whether each registration is the auditing referrer's is checked by
`audits.services.audit_extract_upload`, which adds its problems before anything is written;
the verdicts against the scope in force on each request date come after.

Cells are read as text and never evaluated: a value beginning with `=`, `+`, `-` or `@` (a
spreadsheet formula) is kept as the text it is, and is not a valid date or number.
No patient identifiers: a value that looks like an NHS number refuses the file.
"""

import datetime
import re
from dataclasses import dataclass, field

from entitlements.csv_import import ImportProblem, csv_lines, csv_text
from entitlements.models import CareSetting
from referrers.regulators import normalise_registration_number

from .nhs_numbers import looks_like_nhs_number

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ROWS = 2000
COLUMNS = (
    "request_date",
    "examination_code",
    "patient_age",
    "setting",
    "clinical_indication",
    "referrer_registration",
)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
AGE = re.compile(r"\d{1,3}")
OLDEST = 130
INDICATION_MAX = 500
SETTINGS = {value.lower(): value for value in CareSetting.values}


@dataclass(frozen=True)
class ExtractRow:
    """One request as the file gives it. `line` is where it starts (the header is line 1)."""

    line: int
    request_date: datetime.date | None
    examination_code: str
    patient_age: int | None
    setting: str
    clinical_indication: str
    referrer_registration: str


@dataclass
class ParsedExtract:
    rows: list[ExtractRow] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.problems


def row_problems(
    values: dict[str, str], line: int, today: datetime.date
) -> tuple[ExtractRow, list[str]]:
    problems = []
    raw_date = values["request_date"]
    request_date = None
    if not raw_date:
        problems.append("request_date is missing")
    elif not ISO_DATE.fullmatch(raw_date):
        problems.append(
            f"request_date must be a date written YYYY-MM-DD, like 2025-03-31 (not ‘{raw_date}’)"
        )
    else:
        try:
            request_date = datetime.date.fromisoformat(raw_date)
        except ValueError:
            problems.append(f"request_date ‘{raw_date}’ is not a real date")
        else:
            if request_date > today:
                problems.append(f"request_date {raw_date} is in the future")
    code = values["examination_code"].strip().upper()
    if not code:
        problems.append("examination_code is missing")
    elif len(code) > 40:
        problems.append("examination_code must be 40 characters or fewer")
    raw_age = values["patient_age"]
    age = None
    if not raw_age:
        problems.append("patient_age is missing")
    elif not AGE.fullmatch(raw_age) or int(raw_age) > OLDEST:
        problems.append(
            f"patient_age must be a whole number of years from 0 to {OLDEST} (not ‘{raw_age}’)"
        )
    else:
        age = int(raw_age)
    setting = SETTINGS.get(values["setting"].strip().lower(), "")
    if not values["setting"]:
        problems.append("setting is missing")
    elif not setting:
        problems.append(
            f"setting ‘{values['setting']}’ is not one of {', '.join(CareSetting.values)}"
        )
    indication = values["clinical_indication"]
    if len(indication) > INDICATION_MAX:
        problems.append(f"clinical_indication must be {INDICATION_MAX} characters or fewer")
    number = normalise_registration_number(values["referrer_registration"])
    if not number:
        problems.append("referrer_registration is missing")
    for column, value in values.items():
        if looks_like_nhs_number(value):
            problems.append(
                f"{column} looks like an NHS number: remove patient identifiers from the extract"
            )
    row = ExtractRow(
        line=line,
        request_date=request_date,
        examination_code=code,
        patient_age=age,
        setting=setting,
        clinical_indication=indication,
        referrer_registration=number,
    )
    return row, problems


def parse_extract_csv(data: bytes, *, today: datetime.date) -> ParsedExtract:
    """Check a whole file and return its rows, or every problem it has on its own."""
    result = ParsedExtract()
    text, problem = csv_text(
        data, max_bytes=MAX_FILE_BYTES, too_large="The file must be smaller than 2 MB"
    )
    if problem is not None:
        result.problems.append(problem)
        return result
    read = csv_lines(
        text,
        COLUMNS,
        max_lines=MAX_ROWS,
        too_many=f"The file has more than {MAX_ROWS:,} requests: audit a sample of "
        f"{MAX_ROWS:,} or fewer",
    )
    result.problems.extend(read.problems)
    if read.stopped:
        return result
    for line, values in read.lines:
        row, problems = row_problems(values, line, today)
        result.problems.extend(ImportProblem(line, message) for message in problems)
        result.rows.append(row)
    if not result.rows and not result.problems:
        result.problems.append(ImportProblem(None, "The file has a header but no requests"))
    result.problems.sort(key=lambda p: p.line or 0)
    return result
