"""Celery tasks of the referrers app: thin, they call Django's mail and the outbox."""

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.core.mail import send_mail

logger = logging.getLogger(__name__)


@shared_task(
    name="referrers.email_send", autoretry_for=(OSError,), retry_backoff=True, max_retries=5
)
def email_send(*, to: str, subject: str, body: str) -> None:
    """Send one plain-text e-mail. Enqueued through the outbox on commit, so a rolled-back
    change sends nothing and a committed one sends it even if the broker was down then."""
    send_mail(subject, body, None, [to])


@shared_task(name="referrers.outbox_send")
def outbox_send() -> int:
    """Publish every outbox message still waiting (its broker was down when it committed).
    Beat runs this every minute; a worker runs it when it starts."""
    from .outbox import outbox_prune, outbox_send_pending

    sent = outbox_send_pending()
    outbox_prune()
    return sent


@shared_task(name="referrers.worker_heartbeat", ignore_result=True)
def worker_heartbeat() -> str:
    """Beat asks a worker every minute to note the time; /health reads it (config/health.py).
    A recent heartbeat shows that beat, the broker and a worker are all working."""
    from config.health import heartbeat_record

    return heartbeat_record()


@worker_ready.connect
def _send_waiting_messages_on_start(sender=None, **kwargs) -> None:
    # A worker that starts after an outage sends what waited, without waiting for beat.
    try:
        outbox_send.apply_async()
        worker_heartbeat.apply_async()
    except Exception:
        logger.warning("Outbox: could not queue the sweep at worker start", exc_info=True)
