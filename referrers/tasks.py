"""Celery tasks of the referrers app: thin, they call Django's mail and nothing else."""

from celery import shared_task
from django.core.mail import send_mail


@shared_task(
    name="referrers.email_send", autoretry_for=(OSError,), retry_backoff=True, max_retries=5
)
def email_send(*, to: str, subject: str, body: str) -> None:
    """Send one plain-text e-mail. Enqueued on commit, so a rolled-back change sends nothing."""
    send_mail(subject, body, None, [to])
