"""A transactional outbox for Celery tasks: nothing a committed change needs sent is lost
because the broker was down when it committed.

`outbox_enqueue` writes an `OutboxMessage` in the caller's transaction. Once that commits the
message is published at once (a bounded try: BROKER_TIMEOUT in settings); if the broker is
down the row stays unsent, with the error, and the web request carries on. Unsent rows are
published later by the `referrers.outbox_send` task (beat, every minute), when a worker
starts, after the next publish that succeeds, and by `manage.py outbox_send`.

Publishing claims rows with `select_for_update(skip_locked=True)`, so two senders never
publish the same row; a row is marked sent in the transaction that published it. A crash
between the broker taking a message and that commit sends it again, so every consumer is
idempotent: a rendered letter or a built bundle is left alone, and an e-mail may (only in that
window) arrive twice: at least once, never lost.

A bulk job (the nightly control run) writes thousands of messages; publishing each after its
own commit cost it a lock, an update and a broker round trip per message. Inside
`outbox_deferred()` a committed message is only noted; `outbox_handover()` (at the end of
each of the job's batches, and when the block ends) asks a worker to publish what waits,
with one message to the broker: `referrers.outbox_send`, the sweep beat runs anyway, so
publishing keeps its one claim-and-mark path (every message once, or again only in the
crash window above).
"""

import contextlib
import contextvars
import datetime
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from .models import OutboxMessage

logger = logging.getLogger(__name__)

BATCH_SIZE = 200
# Sent messages are kept this long (to see what was sent after an outage), then deleted.
KEEP_SENT = datetime.timedelta(days=7)


@dataclass
class _Deferred:
    committed: int = 0  # messages committed since the last handover
    buffer: list[OutboxMessage] | None = None  # inside outbox_buffered()


_deferred: contextvars.ContextVar[_Deferred | None] = contextvars.ContextVar(
    "outbox_deferred", default=None
)


def outbox_enqueue(*, task: str, kwargs: dict) -> OutboxMessage:
    """Record that `task(**kwargs)` must run, in the current transaction, and publish it once
    that commits. A rolled-back change leaves no message; a broker that is down leaves the
    message waiting for the sweep, never an error for the caller. Inside `outbox_deferred()`
    the message is handed over with the rest of its batch instead."""
    deferred = _deferred.get()
    if deferred is not None and deferred.buffer is not None:
        message = OutboxMessage(task=task, kwargs=kwargs)
        deferred.buffer.append(message)  # written when the outbox_buffered() block ends
        return message
    message = OutboxMessage.objects.create(task=task, kwargs=kwargs)
    if deferred is not None:
        # Counted only once the change commits (a rolled-back savepoint or transaction
        # drops the hook with the row).
        transaction.on_commit(lambda: _committed(deferred, 1))
    else:
        transaction.on_commit(lambda: _publish_after_commit(message.pk), robust=True)
    return message


def _committed(deferred: _Deferred, count: int) -> None:
    deferred.committed += count


@contextlib.contextmanager
def outbox_deferred() -> Iterator[None]:
    """Within the block, messages are not published one by one after their commits: call
    `outbox_handover()` after each batch of work; what is left is handed over at the end
    (even if the block fails: what committed must be sent). Messages of changes that roll
    back (a dry run) are never handed over."""
    token = _deferred.set(_Deferred())
    try:
        yield
    finally:
        try:
            outbox_handover()
        finally:
            _deferred.reset(token)


@contextlib.contextmanager
def outbox_buffered() -> Iterator[None]:
    """Inside `outbox_deferred()` and a transaction: the messages enqueued in the block are
    written together, in one statement, when it ends without an error (so still in the
    same transaction as the change that needs them), and dropped if it fails. For one step
    of a bulk job (one control action: its letter, and the e-mails of its notifications)."""
    deferred = _deferred.get()
    if deferred is None or deferred.buffer is not None:
        yield
        return
    deferred.buffer = []
    try:
        yield
        messages = deferred.buffer
        deferred.buffer = None
        if messages:
            OutboxMessage.objects.bulk_create(messages)
            transaction.on_commit(lambda: _committed(deferred, len(messages)))
    finally:
        deferred.buffer = None


def outbox_handover() -> int:
    """Inside `outbox_deferred()`: ask a worker to publish the messages committed since the
    last handover (one task for all of them; if the broker is down they wait for beat's
    sweep, as any unsent message does). Returns how many were handed over."""
    deferred = _deferred.get()
    if deferred is None or not deferred.committed:
        return 0
    count, deferred.committed = deferred.committed, 0
    from .tasks import outbox_send

    try:
        outbox_send.apply_async()
    except Exception:
        logger.warning("Outbox: could not ask a worker to send %s waiting messages", count)
    return count


def _publish_after_commit(message_id: int) -> None:
    sent = outbox_publish(ids=[message_id])
    if sent and OutboxMessage.objects.filter(sent_at__isnull=True).exists():
        # The broker is back: a worker sends what waited while it was down, rather than this
        # request. Only a nudge: if it is lost, beat's sweep does the same within a minute.
        from .tasks import outbox_send

        try:
            outbox_send.apply_async()
        except Exception:
            logger.warning("Outbox: could not ask a worker to send waiting messages")


def _celery_task(name: str):
    from config.celery import app

    if name not in app.tasks:
        app.loader.import_default_modules()
    return app.tasks[name]


def outbox_publish(*, ids: list[int] | None = None, limit: int = BATCH_SIZE) -> int:
    """Publish unsent messages (only `ids`, if given), oldest first, at most `limit`; returns
    how many were sent. Stops at the first failure (the broker is down: the rest would fail
    too) and records it on that message."""
    with transaction.atomic():
        pending = OutboxMessage.objects.filter(sent_at__isnull=True).order_by("created_at", "id")
        if ids is not None:
            pending = pending.filter(pk__in=ids)
        claimed = list(pending.select_for_update(skip_locked=True)[:limit])
        sent: list[OutboxMessage] = []
        for message in claimed:
            message.attempts += 1
            message.last_attempt_at = timezone.now()
            try:
                _celery_task(message.task).apply_async(kwargs=message.kwargs)
            except Exception as error:  # the broker is down or hung: keep it for the sweep
                message.last_error = f"{type(error).__name__}: {error}"[:2000]
                message.save(update_fields=["attempts", "last_attempt_at", "last_error"])
                logger.warning(
                    "Outbox: %s (message %s) not sent, will retry: %s",
                    message.task,
                    message.pk,
                    error,
                )
                break
            message.sent_at = timezone.now()
            sent.append(message)
        # Marked sent in one statement, in the transaction that published them.
        OutboxMessage.objects.bulk_update(sent, ["attempts", "last_attempt_at", "sent_at"])
    return len(sent)


def outbox_send_pending(*, limit: int | None = None) -> int:
    """Publish every unsent message, in batches, until none is left or the broker fails;
    returns how many were sent."""
    total = 0
    while limit is None or total < limit:
        batch = BATCH_SIZE if limit is None else min(BATCH_SIZE, limit - total)
        sent = outbox_publish(limit=batch)
        total += sent
        if sent < batch:
            break
    return total


def outbox_waiting() -> dict:
    """How many messages wait, and since when (for /health and the command)."""
    pending = OutboxMessage.objects.filter(sent_at__isnull=True)
    oldest = pending.order_by("created_at").values_list("created_at", flat=True).first()
    return {"waiting": pending.count(), "oldest": oldest}


def outbox_prune(*, now: datetime.datetime | None = None) -> int:
    """Delete messages sent more than KEEP_SENT ago; returns how many. Unsent ones stay."""
    cutoff = (now or timezone.now()) - KEEP_SENT
    deleted, _ = OutboxMessage.objects.filter(sent_at__lt=cutoff).delete()
    return deleted
