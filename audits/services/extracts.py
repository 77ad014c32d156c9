"""Uploading a request extract for an audit, and its verdicts (principle 10).

All or nothing: the file is checked on its own (`audits.csv_import`) and then against the
auditing referrer (each row must name their registration number). If any row has a problem
nothing is saved and every problem is returned with its line number. Otherwise each request
is judged against the scope in force **on its request date** (the register's as-of engine,
`entitlements.selectors.entitlement_check(as_of=...)`, at the entitlement's employer):

- within scope: the answer was yes (its reasons say what could not be checked, such as the
  clinical indications and exclusions written on the scope item);
- unknown examination code: the code is not in the employer's catalogue;
- outside scope: any other no, with the register's reasons (not in scope, age, setting,
  suspended, registration lapsed, not entitled on that date).

Requests with the same date, code, age and setting are judged once.
"""

import hashlib
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from entitlements import selectors as entitlement_selectors
from entitlements.csv_import import ImportProblem
from entitlements.uploads import clean_name
from referrers.models import User

from ..csv_import import MAX_FILE_BYTES, ExtractRow, parse_extract_csv
from ..models import AuditCycle, AuditExtract, AuditExtractRow, CycleStatus, Verdict

BATCH_SIZE = 500


@dataclass
class ExtractResult:
    problems: list[ImportProblem] = field(default_factory=list)
    extract: AuditExtract | None = None

    @property
    def is_valid(self) -> bool:
        return not self.problems


def _verdict(answer) -> tuple[str, list[str]]:
    if answer.entitled:
        return Verdict.WITHIN_SCOPE, list(answer.reasons)
    if answer.examination is None and answer.referrer is not None:
        return Verdict.UNKNOWN_EXAMINATION, list(answer.reasons)
    return Verdict.OUTSIDE_SCOPE, list(answer.reasons)


def judge_rows(cycle: AuditCycle, rows: list[ExtractRow]) -> list[AuditExtractRow]:
    """Each request's verdict against the scope in force at the end of its request date."""
    entitlement = cycle.entitlement
    profile = entitlement.referrer
    judged: dict[tuple, tuple[str, list[str]]] = {}
    result = []
    for row in rows:
        key = (row.request_date, row.examination_code, row.patient_age, row.setting)
        if key not in judged:
            judged[key] = _verdict(
                entitlement_selectors.entitlement_check(
                    organisation=entitlement.organisation,
                    regulator=profile.regulator,
                    registration_number=profile.registration_number,
                    examination_code=row.examination_code,
                    patient_age=row.patient_age,
                    setting=row.setting,
                    as_of=row.request_date,
                )
            )
        verdict, reasons = judged[key]
        result.append(
            AuditExtractRow(
                line=row.line,
                request_date=row.request_date,
                examination_code=row.examination_code,
                patient_age=row.patient_age,
                setting=row.setting,
                clinical_indication=row.clinical_indication,
                verdict=verdict,
                reasons=reasons,
            )
        )
    return result


def audit_extract_upload(*, cycle: AuditCycle, by: User, file) -> ExtractResult:
    """Check an extract and, if every row is good, save it with each request's verdict.
    Only the referrer, for an open cycle. Nothing is saved when there is any problem."""
    entitlement = cycle.entitlement
    profile = entitlement.referrer
    if profile.user_id != by.pk:
        raise PermissionDenied("Only the referrer uploads their own request extract")
    if cycle.status != CycleStatus.OPEN:
        raise ValidationError({"file": "This audit has been submitted: it cannot change"})
    if file.size > MAX_FILE_BYTES:
        return ExtractResult(problems=[ImportProblem(None, "The file must be smaller than 2 MB")])
    data = file.read()
    today = timezone.localdate()
    parsed = parse_extract_csv(data, today=today)
    problems = list(parsed.problems)
    for row in parsed.rows:
        if row.referrer_registration and row.referrer_registration != profile.registration_number:
            problems.append(
                ImportProblem(
                    row.line,
                    f"referrer_registration {row.referrer_registration} is not your registration "
                    f"number ({profile.registration_number}): the extract must hold only your "
                    "own requests",
                )
            )
    if problems:
        problems.sort(key=lambda p: p.line or 0)
        return ExtractResult(problems=problems)
    judged = judge_rows(cycle, parsed.rows)
    counts = dict.fromkeys(Verdict.values, 0)
    for row in judged:
        counts[row.verdict] += 1
    with transaction.atomic():
        locked = AuditCycle.objects.select_for_update().get(pk=cycle.pk)
        if locked.status != CycleStatus.OPEN:
            raise ValidationError({"file": "This audit has been submitted: it cannot change"})
        extract = AuditExtract.objects.create(
            cycle=cycle,
            file_name=clean_name(getattr(file, "name", "") or "extract.csv")[:200],
            sha256=hashlib.sha256(data).hexdigest(),
            uploaded_by=by,
            rows=len(judged),
            within_scope=counts[Verdict.WITHIN_SCOPE],
            outside_scope=counts[Verdict.OUTSIDE_SCOPE],
            unknown_examination=counts[Verdict.UNKNOWN_EXAMINATION],
        )
        for row in judged:
            row.extract = extract
        AuditExtractRow.objects.bulk_create(judged, batch_size=BATCH_SIZE)
    return ExtractResult(extract=extract)
