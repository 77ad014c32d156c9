"""Bundles of letters: the current letter of every live entitlement of an employer (or a
filtered set of them) as one ZIP, with a manifest, built by a Celery task.

`letter_bundle_request` records the request and starts the build once its transaction
commits. `letter_bundle_build` streams the letters from storage into a temporary file in
batches (one query per batch, never every letter in memory), counting progress as it goes,
and stores the ZIP with its SHA-256. Every live entitlement it selects has a manifest row:
a letter that is not ready (or whose stored file no longer matches its SHA-256) is listed
as missing, never silently dropped. A ready bundle is never built again.
"""

import csv
import datetime
import hashlib
import io
import logging
import tempfile
import zipfile

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from referrers import outbox
from referrers import selectors as people
from referrers.attribution import save_attributed
from referrers.models import Organisation, User
from referrers.regulators import Profession

from ..models import (
    BundleStatus,
    EntitlementKind,
    EntitlementState,
    Letter,
    LetterBundle,
    LetterStatus,
)
from ..selectors import letter_bundles as selectors

logger = logging.getLogger(__name__)

PERMISSION = "view_governance"
# Entitlements read (and progress saved) per batch. Letters themselves are read one at a
# time, so memory holds one letter and one batch of rows, whatever the employer's size.
BATCH_SIZE = 100
FILTER_KEYS = ("state", "kind", "department", "profession")

MANIFEST_HEADER = [
    "Entitlement reference",
    "Referrer name",
    "Registration",
    "State",
    "Letter verification code",
    "Letter SHA-256",
    "File name in ZIP",
    "Letter",
]
INCLUDED = "Included"
MISSING = {
    "none": "Missing: no letter has been issued",
    LetterStatus.PENDING: "Missing: still being prepared",
    LetterStatus.FAILED: "Missing: could not be prepared",
    "unreadable": "Missing: the stored file could not be read",
    "mismatch": "Missing: the stored file does not match its SHA-256",
}


class LetterBundleFailed(Exception):
    """Building a bundle failed; the bundle is marked failed with the error recorded."""


# --- Request -------------------------------------------------------------------------------


def letter_bundle_filters_clean(organisation: Organisation, filters: dict) -> dict:
    """`filters` as a bundle stores them: only the keys that narrow it, each checked.

    Raises ValidationError naming the field when a value is not one of the choices offered
    (a department must be one of `selectors.letter_bundle_departments`).
    """
    unknown = set(filters) - set(FILTER_KEYS)
    if unknown:
        raise ValueError(f"Unknown bundle filters: {sorted(unknown)}")
    errors, cleaned = {}, {}
    checks = {
        "state": (
            [EntitlementState.ACTIVE, EntitlementState.SUSPENDED],
            "Select which entitlements from the list",
        ),
        "kind": (EntitlementKind.values, "Select a kind of entitlement from the list"),
        "profession": (Profession.values, "Select a profession from the list"),
    }
    for key, (allowed, message) in checks.items():
        value = filters.get(key) or ""
        if value:
            cleaned[key] = value
            if value not in allowed:
                errors[key] = message
    department = filters.get("department") or ""
    if department:
        offered = dict(selectors.letter_bundle_departments(organisation))
        try:
            cleaned["department"] = int(department)
        except (TypeError, ValueError):
            cleaned["department"] = None
        if cleaned["department"] not in offered:
            errors["department"] = "Select a department from the list"
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def letter_bundle_request(*, organisation: Organisation, by: User, filters: dict) -> LetterBundle:
    """Record `by`'s request for a ZIP of the current letters of `organisation`'s live
    entitlements that `filters` select, and build it once this transaction commits.

    Only a governance lead of the employer may ask (PermissionDenied otherwise); a filter
    that is not one of the choices raises ValidationError naming it, and nothing is saved.
    """
    if not people.has_permission(by, PERMISSION, organisation):
        raise PermissionDenied(
            f"Only a governance lead of {organisation.name} can download its letters"
        )
    cleaned = letter_bundle_filters_clean(organisation, filters)
    bundle = LetterBundle(
        organisation=organisation,
        requested_by=by,
        filters=cleaned,
        total=selectors.bundle_entitlements(organisation, cleaned).count(),
    )
    save_attributed(bundle, by=by, reason="Requested a ZIP of letters")
    # Through the outbox, in this transaction: built once it commits, or once the broker is
    # back if it is down then (never an error page for a committed request).
    outbox.outbox_enqueue(task="entitlements.letter_bundle_build", kwargs={"bundle_id": bundle.pk})
    return bundle


# --- Build ---------------------------------------------------------------------------------


def _cell(value) -> str:
    """A manifest cell that a spreadsheet will show as text, never run as a formula."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def _zip_name(reference: str, letter: Letter) -> str:
    # No personal data in file names: the reference and the code say which letter it is.
    return f"letters/{reference}-{letter.verification_code}.pdf"


def _letter_bytes(letter: Letter) -> tuple[bytes | None, str]:
    """The stored PDF of a ready letter, if it still matches its SHA-256; else why not."""
    try:
        with letter.file.open("rb") as file:
            data = file.read()
    except OSError:
        logger.exception("Letter %s: the stored file %s could not be read", letter.pk, letter.file)
        return None, MISSING["unreadable"]
    if hashlib.sha256(data).hexdigest() != letter.sha256:
        logger.error(
            "Letter %s: the stored file %s does not match its SHA-256", letter.pk, letter.file
        )
        return None, MISSING["mismatch"]
    return data, INCLUDED


def _zip_time(moment: datetime.datetime | None) -> tuple:
    moment = timezone.localtime(moment or timezone.now())
    return (max(moment.year, 1980), *moment.timetuple()[1:6])


def _batches(iterable, size: int):
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _write_zip(bundle: LetterBundle, archive, manifest) -> int:
    """Write the letters into `archive` (a ZipFile) and their rows into `manifest` (a CSV
    writer), batch by batch, saving progress after each batch. Returns the rows written."""
    entitlements = selectors.bundle_entitlements(bundle.organisation, bundle.filters)
    done = 0
    for batch in _batches(entitlements.iterator(chunk_size=BATCH_SIZE), BATCH_SIZE):
        letters = selectors.bundle_letters(e.current_letter_id for e in batch)
        for entitlement in batch:
            letter = letters.get(entitlement.current_letter_id)
            name, outcome = "", MISSING["none"]
            if letter is not None:
                outcome = MISSING.get(letter.status, MISSING[LetterStatus.PENDING])
                if letter.status == LetterStatus.READY:
                    data, outcome = _letter_bytes(letter)
                    if data is not None:
                        name = _zip_name(entitlement.reference, letter)
                        info = zipfile.ZipInfo(name, date_time=_zip_time(letter.rendered_at))
                        info.compress_type = zipfile.ZIP_DEFLATED
                        archive.writestr(info, data)
            manifest.writerow(
                _cell(value)
                for value in (
                    entitlement.reference,
                    entitlement.referrer.user.full_name,
                    entitlement.referrer.registration,
                    entitlement.get_state_display(),
                    letter.verification_code if letter else "",
                    letter.sha256 if letter else "",
                    name,
                    outcome,
                )
            )
        done += len(batch)
        # Progress only: `done` is left out of the bundle's history, so a plain update.
        LetterBundle.objects.filter(pk=bundle.pk).update(done=done)
    return done


def _locked(pk: int) -> LetterBundle:
    return (
        LetterBundle.objects.select_for_update(of=("self",))
        .select_related("organisation", "requested_by")
        .get(pk=pk)
    )


def _claim(bundle: LetterBundle) -> LetterBundle | None:
    """Mark the bundle as being built, or None if it is ready or failed already. A bundle
    found "building" was left by a worker that died (the task is acknowledged late and
    delivered again): it is built again from the start."""
    with transaction.atomic():
        bundle = _locked(bundle.pk)
        if bundle.status in (BundleStatus.READY, BundleStatus.FAILED):
            return None
        bundle.status = BundleStatus.BUILDING
        bundle.total = selectors.bundle_entitlements(bundle.organisation, bundle.filters).count()
        bundle.done = 0
        bundle.error = ""
        save_attributed(bundle, by=bundle.requested_by, reason="Letter bundle: building")
    return bundle


def _finish(bundle: LetterBundle, file, *, total: int) -> LetterBundle:
    digest, size = hashlib.sha256(), 0
    file.seek(0)
    for chunk in iter(lambda: file.read(1024 * 1024), b""):
        digest.update(chunk)
        size += len(chunk)
    file.seek(0)
    with transaction.atomic():
        current = _locked(bundle.pk)
        if current.status != BundleStatus.BUILDING:
            return current  # another delivery of the task finished it first
        current.file.save(f"{bundle.pk}.zip", File(file), save=False)
        current.sha256 = digest.hexdigest()
        current.size = size
        current.total = current.done = total
        current.status = BundleStatus.READY
        current.finished_at = timezone.now()
        save_attributed(current, by=current.requested_by, reason="Letter bundle: ready")
    return current


def _fail(bundle: LetterBundle, error: Exception) -> LetterBundle:
    with transaction.atomic():
        current = _locked(bundle.pk)
        if current.status == BundleStatus.READY:
            return current
        current.status = BundleStatus.FAILED
        current.error = f"{type(error).__name__}: {error}"[:2000]
        current.finished_at = timezone.now()
        save_attributed(current, by=current.requested_by, reason="Letter bundle: failed")
    return current


def letter_bundle_build(*, bundle: LetterBundle) -> LetterBundle:
    """Build `bundle`'s ZIP: for each live entitlement selected, in the register's order,
    its current letter under `letters/` and a row in `manifest.csv`; store it with its
    SHA-256 and size, and mark the bundle ready.

    A bundle that is ready (or failed) is returned untouched, so a rerun does nothing. A
    failure marks the bundle failed with the error, then raises LetterBundleFailed.
    """
    claimed = _claim(bundle)
    if claimed is None:
        bundle.refresh_from_db()
        return bundle
    try:
        with tempfile.TemporaryFile() as file:
            with (
                tempfile.TemporaryFile() as manifest_file,
                zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED) as archive,
            ):
                text = io.TextIOWrapper(manifest_file, encoding="utf-8-sig", newline="")
                writer = csv.writer(text)
                writer.writerow(MANIFEST_HEADER)
                total = _write_zip(claimed, archive, writer)
                text.flush()
                manifest_file.seek(0)
                info = zipfile.ZipInfo("manifest.csv", date_time=_zip_time(None))
                info.compress_type = zipfile.ZIP_DEFLATED
                with archive.open(info, "w") as entry:
                    for chunk in iter(lambda: manifest_file.read(1024 * 1024), b""):
                        entry.write(chunk)
                text.detach()
            return _finish(claimed, file, total=total)
    except Exception as error:  # any failure is recorded on the bundle, then raised
        logger.exception("Letter bundle %s could not be built", claimed.pk)
        _fail(claimed, error)
        raise LetterBundleFailed(f"Letter bundle {claimed.pk}: {error}") from error


def letter_bundles_pending(*, older_than: datetime.timedelta) -> list[int]:
    """Ids of bundles still waiting to start after `older_than` (their task was lost, e.g.
    the broker was down when the request committed)."""
    return list(
        LetterBundle.objects.filter(
            status=BundleStatus.PENDING, requested_at__lt=timezone.now() - older_than
        )
        .order_by("requested_at", "id")
        .values_list("pk", flat=True)
    )
