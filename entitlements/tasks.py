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
