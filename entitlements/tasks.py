"""Celery tasks of the entitlements app: thin, they find the work and call services."""

import datetime

from celery import shared_task
from django.db import DatabaseError


@shared_task(
    bind=True,
    name="entitlements.letter_render",
    autoretry_for=(OSError, DatabaseError),
    retry_backoff=True,
    max_retries=3,
)
def letter_render(self, *, letter_id: int) -> None:
    """Render one letter to PDF (enqueued when the change that issued it commits).

    A rendering failure is recorded on the letter and retried; the last retry marks the
    letter failed. A letter already rendered is left alone, so a redelivered task is
    harmless.
    """
    from .services.letters import LetterRenderFailed
    from .services.letters import letter_render as render

    last_attempt = self.request.retries >= self.max_retries
    try:
        render(letter_id=letter_id, last_attempt=last_attempt)
    except LetterRenderFailed as error:
        if last_attempt:
            raise
        raise self.retry(exc=error, countdown=10 * 2**self.request.retries) from error


@shared_task(name="entitlements.letters_render_pending")
def letters_render_pending(*, older_than_minutes: int = 15) -> int:
    """Enqueue every letter still pending after `older_than_minutes` (its task was lost, e.g.
    the broker was down when the change committed). Rendering is idempotent, so a letter
    enqueued twice is rendered once."""
    from .services.letters import letters_pending

    ids = letters_pending(older_than=datetime.timedelta(minutes=older_than_minutes))
    for letter_id in ids:
        letter_render.delay(letter_id=letter_id)
    return len(ids)


@shared_task(name="entitlements.letter_bundle_build")
def letter_bundle_build(*, bundle_id: int) -> str:
    """Build one ZIP of letters (enqueued when its request commits). A bundle already
    ready is left alone, so a redelivered task is harmless; a failure is recorded on the
    bundle (and raised, so the worker's log shows it)."""
    from .models import LetterBundle
    from .services.letter_bundles import letter_bundle_build as build

    bundle = build(bundle=LetterBundle.objects.get(pk=bundle_id))
    return bundle.status


@shared_task(name="entitlements.letter_bundles_build_pending")
def letter_bundles_build_pending(*, older_than_minutes: int = 15) -> int:
    """Enqueue every bundle still waiting to start after `older_than_minutes` (its task was
    lost). Building claims the bundle under a row lock, so one enqueued twice is built once."""
    from .services.letter_bundles import letter_bundles_pending

    ids = letter_bundles_pending(older_than=datetime.timedelta(minutes=older_than_minutes))
    for bundle_id in ids:
        letter_bundle_build.delay(bundle_id=bundle_id)
    return len(ids)


@shared_task(
    name="entitlements.ris_exports_build",
    autoretry_for=(OSError, DatabaseError),
    retry_backoff=True,
    max_retries=3,
)
def ris_exports_build(*, for_date: str | None = None) -> int:
    """Build the day's RIS export (default today) for every organisation with a published
    procedure. An export already built is left as it is, so a retry or a second run only
    builds what is missing; one organisation's failure does not stop the others."""
    from django.utils import timezone

    from .selectors.integration import organisations_with_published_procedure
    from .services.ris_export import ris_export_build

    day = datetime.date.fromisoformat(for_date) if for_date else timezone.localdate()
    built, failed = 0, []
    for organisation in organisations_with_published_procedure():
        try:
            ris_export_build(organisation=organisation, for_date=day)
        except (OSError, DatabaseError) as error:
            error.add_note(f"RIS export of {organisation.ods_code} for {day}")
            failed.append(error)
        else:
            built += 1
    if failed:
        # Raised so that the task is retried (what was built is skipped then) and logged.
        failed[0].add_note(f"{len(failed)} organisation(s) failed; {built} built")
        raise failed[0]
    return built


@shared_task(name="entitlements.register_lookups_flush")
def register_lookups_flush() -> int:
    """Move the entitlement-check API's queued lookups into the database (see
    services.register). One flush at a time; a repeated flush inserts nothing twice."""
    from django.conf import settings

    from .services.register import register_lookups_flush as flush

    if not settings.REDIS_URL:  # no queue without Redis (drained even if queueing is off)
        return 0
    return flush()
