"""Celery tasks of the entitlements app: thin, they find the work and call services."""

from celery import shared_task


@shared_task(name="entitlements.letter_render", autoretry_for=(OSError,), max_retries=3)
def letter_render(*, letter_id: int) -> None:
    """Render one letter to PDF (enqueued when the change that issued it commits)."""
    from .services.letters import letter_render as render

    render(letter_id=letter_id)
