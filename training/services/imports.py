"""Importing training records from a learning-management system's CSV export.

All or nothing: the whole file is checked first, on its own (`training.csv_import`) and
against the database (whose registration each row names, and whether that referrer is
employed or entitled at the importing organisation). If any row has a problem nothing is
saved and every problem is returned with its line number. A good file is written in one
transaction: the records with their history (`bulk_create_with_history`) and one
`TrainingImport`.

An import is a verification. Only a current entitlement delegate of the organisation may
import, from that organisation's own learning-management system, which holds completions
reported by the course providers; the delegate confirms this on the form. Each imported
record is verified by that delegate, and names the import it came from.

A record whose LMS id is already recorded for that referrer and kind is left as it is, so
importing the same file again creates nothing (and writes no `TrainingImport`).
"""

import datetime
import hashlib
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from entitlements.uploads import clean_name
from referrers.attribution import save_attributed
from referrers.models import Organisation, ReferrerProfile, User
from referrers.regulators import Regulator

from .. import selectors
from ..csv_import import MAX_FILE_BYTES, ImportProblem, TrainingRow, parse_training_csv
from ..models import RecordSource, TrainingImport, TrainingRecord

BATCH_SIZE = 500


@dataclass
class TrainingImportResult:
    """What an import did: its problems (and then nothing was saved), or what it created."""

    problems: list[ImportProblem] = field(default_factory=list)
    rows: int = 0
    created: int = 0
    already: int = 0
    training_import: TrainingImport | None = None

    @property
    def is_valid(self) -> bool:
        return not self.problems


def _profiles(rows: list[TrainingRow]) -> dict[tuple[str, str], ReferrerProfile]:
    numbers = sorted({row.registration_number for row in rows if row.registration_number})
    profiles = {}
    for start in range(0, len(numbers), selectors.records.ID_BATCH):
        for profile in ReferrerProfile.objects.filter(
            registration_number__in=numbers[start : start + selectors.records.ID_BATCH]
        ).select_related("user"):
            profiles[(profile.regulator, profile.registration_number)] = profile
    return profiles


def _connected(organisation: Organisation, ids: set[int], on: datetime.date) -> set[int]:
    return set(
        ReferrerProfile.objects.filter(pk__in=ids)
        .filter(selectors.employed_or_entitled_at(organisation, on))
        .values_list("pk", flat=True)
    )


def _existing(ids: set[int], rows: list[TrainingRow]) -> set[tuple[int, str, str]]:
    """(referrer id, kind, LMS id) of the records already imported for these rows."""
    external_ids = {row.lms_record_id for row in rows}
    return set(
        TrainingRecord.objects.filter(referrer_id__in=ids, external_id__in=external_ids)
        .exclude(external_id="")
        .values_list("referrer_id", "kind", "external_id")
    )


def _database_problems(
    organisation: Organisation,
    by: User,
    rows: list[TrainingRow],
    on: datetime.date,
) -> tuple[list[ImportProblem], dict[int, ReferrerProfile]]:
    """Problems only the database can show, and each good row's referrer, by line."""
    profiles = _profiles(rows)
    found = {
        row.line: profiles[(row.regulator, row.registration_number)]
        for row in rows
        if (row.regulator, row.registration_number) in profiles
    }
    connected = _connected(organisation, {p.pk for p in found.values()}, on)
    problems = []
    for row in rows:
        if not row.registration_number or row.regulator not in Regulator.values:
            continue  # already reported: the registration cannot be looked up
        profile = found.get(row.line)
        if profile is None:
            problems.append(
                ImportProblem(
                    row.line,
                    f"No referrer is registered here as {row.registration}: check the "
                    "regulator and registration number",
                )
            )
            continue
        if profile.user_id == by.pk:
            problems.append(
                ImportProblem(
                    row.line,
                    f"{row.registration} is your own registration: another delegate must "
                    "verify your training",
                )
            )
        elif profile.pk not in connected:
            problems.append(
                ImportProblem(
                    row.line,
                    f"{profile.user.full_name} ({row.registration}) is not employed or "
                    f"entitled at {organisation.name}",
                )
            )
    return problems, found


def training_import(
    *, organisation: Organisation, by: User, file, on: datetime.date | None = None
) -> TrainingImportResult:
    """Import a CSV export of `organisation`'s learning-management system, verified by `by`.

    Only a current entitlement delegate of `organisation` may (PermissionDenied otherwise).
    Returns the problems (and saves nothing) if any row is bad; otherwise the counts, and
    the `TrainingImport` when anything was created."""
    on = on or timezone.localdate()
    if not selectors.is_current_delegate(by, organisation, on):
        raise PermissionDenied(
            f"Only an entitlement delegate with a current appointment at {organisation.name} "
            "can import training records"
        )
    if (file.size or 0) > MAX_FILE_BYTES:
        return TrainingImportResult(
            problems=[ImportProblem(None, "The file must be smaller than 5 MB")]
        )
    file.seek(0)
    data = file.read()
    parsed = parse_training_csv(data, today=on)
    if any(problem.line in (None, 1) for problem in parsed.problems):
        # The file as a whole is unreadable (encoding, header, size): its rows mean nothing.
        return TrainingImportResult(problems=parsed.problems)
    problems = list(parsed.problems)
    database_problems, referrers = _database_problems(organisation, by, parsed.rows, on)
    problems.extend(database_problems)
    if problems:
        problems.sort(key=lambda p: p.line or 0)
        return TrainingImportResult(problems=problems, rows=len(parsed.rows))
    try:
        with transaction.atomic():
            return _write(
                organisation=organisation,
                by=by,
                rows=parsed.rows,
                referrers=referrers,
                file_name=clean_name(getattr(file, "name", "") or "training.csv"),
                sha256=hashlib.sha256(data).hexdigest(),
            )
    except IntegrityError:
        return TrainingImportResult(
            problems=[
                ImportProblem(
                    None,
                    "Some of these records were saved by someone else while the file was being "
                    "imported. Nothing was imported: upload the file again.",
                )
            ],
            rows=len(parsed.rows),
        )


def _write(
    *,
    organisation: Organisation,
    by: User,
    rows: list[TrainingRow],
    referrers: dict[int, ReferrerProfile],
    file_name: str,
    sha256: str,
) -> TrainingImportResult:
    # One import of an organisation at a time: the second waits, then finds the first's
    # records already there.
    Organisation.objects.select_for_update().filter(pk=organisation.pk).first()
    existing = _existing({p.pk for p in referrers.values()}, rows)
    now = timezone.now()
    new = [
        TrainingRecord(
            referrer=referrers[row.line],
            kind=row.kind,
            title=row.title,
            provider=row.provider,
            completed_on=row.completed_on,
            certificate_expires_on=row.certificate_expires_on,
            hours=row.hours,
            source=RecordSource.IMPORTED,
            external_id=row.lms_record_id,
            recorded_by=by,
            recorded_at=now,
            verified_by=by,
            verified_at=now,
        )
        for row in rows
        if (referrers[row.line].pk, row.kind, row.lms_record_id) not in existing
    ]
    result = TrainingImportResult(rows=len(rows), created=len(new), already=len(rows) - len(new))
    if not new:
        return result
    training_import = TrainingImport(
        organisation=organisation,
        file_name=file_name,
        sha256=sha256,
        rows=len(rows),
        created=len(new),
        imported_by=by,
        imported_at=now,
    )
    save_attributed(training_import, by=by, reason="Training records imported")
    for record in new:
        record.training_import = training_import
    bulk_create_with_history(
        new,
        TrainingRecord,
        batch_size=BATCH_SIZE,
        default_user=by,
        default_change_reason=f"Imported and verified from {file_name}"[:100],
    )
    result.training_import = training_import
    return result
