"""Celery tasks of the training app: thin, they find the work and call the control run.

Beat sends `training.controls_run_all` once a night (CELERY_BEAT_SCHEDULE); it fans out one
`training.controls_run_organisation` per organisation with a procedure in force, so one
organisation's failure or slowness does not hold up the others. Both are acknowledged late
and requeued if the worker dies; a task delivered twice does nothing twice (each action has
an idempotency key), so redelivery is always safe.
"""

import datetime

from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone


@shared_task(name="training.controls_run_all", acks_late=True, reject_on_worker_lost=True)
def controls_run_all(date: str | None = None) -> list[str]:
    """Enqueue the control run for `date` (default: today in London, when the task runs)
    at every organisation with a procedure in force that day. Returns their ODS codes."""
    from .selectors.controls import ods_codes_to_control

    on = datetime.date.fromisoformat(date) if date else timezone.localdate()
    codes = ods_codes_to_control(on)
    for ods in codes:
        controls_run_organisation.delay(ods=ods, date=on.isoformat())
    return codes


@shared_task(
    bind=True,
    name="training.controls_run_organisation",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=60,
    max_retries=5,
)
def controls_run_organisation(self, *, ods: str, date: str) -> int:
    """Run every control rule at one organisation for `date` (YYYY-MM-DD). Returns how many
    actions were taken. Retried on a database error; a retry, or the next night's run,
    takes only the actions not yet taken. An action that failed for another reason is
    logged, and the task fails once the rest are done, so monitoring sees it."""
    from referrers.models import Organisation

    from .controls import run_controls

    organisation = Organisation.objects.filter(ods_code=ods).first()
    if organisation is None:
        return 0
    result = run_controls(on=datetime.date.fromisoformat(date), organisation=organisation)
    if result.errors:
        raise RuntimeError(
            f"{len(result.errors)} control action(s) failed at {ods} for {date}: "
            + "; ".join(result.errors[:5])
        )
    return result.count
