"""The register's record of every lookup (principle 9: who asked about whom, and the answer).

`register_lookup_record` writes the lookup at once. The entitlement-check API, the busiest
caller, uses `register_lookup_queue` instead when `REGISTER_LOOKUP_QUEUE` is on (the default
with Redis): the lookup is pushed onto a Redis list in the same request (no database round
trip) and `register_lookups_flush` (Celery beat, every few seconds) moves the list into the
database in batches. Nothing is lost on the way:

- if the push fails (Redis down), the lookup is written to the database at once, and if that
  fails too the API answers 503: an answer that cannot be put on record is not given;
- a flush reads a batch, inserts it in one transaction and only then trims it off the list;
  a flush that dies between the two leaves the batch on the list, and the next flush inserts
  it again, which the unique `queue_key` of each lookup turns into a no-op;
- one flush at a time (a Redis lock), so two workers never interleave their trims.

Redis must keep what it is given (AOF persistence, `appendfsync everysec`: at most a second
of queued lookups is at risk if the Redis host itself dies; see docs/performance.md).
"""

import datetime
import json
import logging
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from referrers.models import Organisation, User

from ..models import ApiClient, LookupChannel, RegisterLookup
from ..selectors.register import CheckAnswer

REGISTRATION_MAX = RegisterLookup._meta.get_field("registration").max_length
CODE_MAX = RegisterLookup._meta.get_field("examination_code").max_length
SETTING_MAX = RegisterLookup._meta.get_field("setting").max_length
AGE_MAX = 32767  # PositiveSmallIntegerField
FLUSH_BATCH = 1000

logger = logging.getLogger(__name__)


@transaction.atomic
def register_lookup_record(
    *,
    organisation: Organisation,
    answer: CheckAnswer,
    registration: str,
    examination_code: str,
    patient_age,
    setting: str,
    as_of: datetime.date | None,
    channel: str,
    asked_by: User | None = None,
    api_client: ApiClient | None = None,
) -> RegisterLookup:
    """Write one `RegisterLookup`: who asked (a user or an API client), about whom (as asked,
    and the referrer found, if any), what, and the answer with its reasons.

    Every lookup is recorded, yes or no, unknown registration included. What was asked is
    kept as typed (cut to the column's length); an age that is not a whole number from 0 is
    kept as blank, since the answer already says why it was refused."""
    return RegisterLookup.objects.create(
        **_lookup_fields(
            organisation=organisation,
            answer=answer,
            registration=registration,
            examination_code=examination_code,
            patient_age=patient_age,
            setting=setting,
            as_of=as_of,
            channel=channel,
            asked_by=asked_by,
            api_client=api_client,
        )
    )


def _pk(value) -> int | None:
    return value.pk if value is not None and value.pk else None


def _lookup_fields(
    *,
    organisation,
    answer: CheckAnswer,
    registration,
    examination_code,
    patient_age,
    setting,
    as_of,
    channel,
    asked_by,
    api_client,
) -> dict:
    """The RegisterLookup's fields (foreign keys as ids), checked and cut to length."""
    if channel not in LookupChannel.values:
        raise ValueError(f"Unknown lookup channel: {channel}")
    if asked_by is None and api_client is None:
        raise ValueError("A lookup is asked by a user or an API client")
    try:
        age = int(patient_age) if patient_age is not None and patient_age != "" else None
    except (TypeError, ValueError):
        age = None
    if age is not None and not 0 <= age <= AGE_MAX:
        age = None
    return {
        "organisation_id": organisation.pk,
        "channel": channel,
        "asked_by_id": _pk(asked_by),
        "api_client_id": _pk(api_client),
        "registration": (registration or "")[:REGISTRATION_MAX],
        "referrer_id": _pk(answer.referrer),
        "examination_code": (examination_code or "")[:CODE_MAX],
        "examination_id": _pk(answer.examination),
        "patient_age": age,
        "setting": (setting or "")[:SETTING_MAX],
        "as_of": as_of,
        "entitled": answer.entitled,
        "entitlement_id": _pk(answer.entitlement),
        "reasons": list(answer.reasons),
        "asked_at": answer.checked_at,
    }


# --- The queue (entitlement-check API) -------------------------------------------------------


def _keys() -> tuple[str, str]:
    """The queue's list and its flush lock, named after the database the lookups belong
    in, so databases sharing one Redis never take each other's lookups."""
    name = settings.DATABASES["default"]["NAME"]
    return f"register-lookups:{name}:queue", f"register-lookups:{name}:flush-lock"


def _redis():
    """A Redis client on REDIS_URL, made once per process."""
    global _client
    if _client is None:
        import redis

        _client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
        )
    return _client


_client = None


def register_lookup_queue(
    *,
    organisation: Organisation,
    answer: CheckAnswer,
    registration: str,
    examination_code: str,
    patient_age,
    setting: str,
    as_of: datetime.date | None,
    channel: str,
    asked_by: User | None = None,
    api_client: ApiClient | None = None,
) -> bool:
    """Put the lookup on record by way of the Redis queue (see the module's docstring), or
    straight into the database when queueing is off or Redis fails. True when queued.

    Guarantees the same as `register_lookup_record`, a little later: every lookup is
    written once, with the time it was asked."""
    fields = _lookup_fields(
        organisation=organisation,
        answer=answer,
        registration=registration,
        examination_code=examination_code,
        patient_age=patient_age,
        setting=setting,
        as_of=as_of,
        channel=channel,
        asked_by=asked_by,
        api_client=api_client,
    )
    if getattr(settings, "REGISTER_LOOKUP_QUEUE", False) and settings.REDIS_URL:
        fields["queue_key"] = str(uuid.uuid4())
        fields["as_of"] = fields["as_of"].isoformat() if fields["as_of"] else None
        fields["asked_at"] = fields["asked_at"].isoformat()
        try:
            _redis().rpush(_keys()[0], json.dumps(fields))
            return True
        except Exception:  # Redis is down: write it now instead, or fail the answer
            logger.exception("Register lookup not queued: writing it to the database now")
            fields["as_of"] = as_of
            fields["asked_at"] = answer.checked_at
            fields.pop("queue_key")
    with transaction.atomic():
        RegisterLookup.objects.create(**fields)
    return False


def register_lookups_queued() -> int:
    """How many lookups wait in the queue."""
    return int(_redis().llen(_keys()[0]))


def register_lookups_flush(*, batch: int = FLUSH_BATCH, max_batches: int = 1000) -> int:
    """Move queued lookups into the database, `batch` at a time, until the queue is empty
    (or `max_batches`). Returns how many were taken off the queue (each inserted once).
    One flush at a time: another flush already running makes this one return 0."""
    client = _redis()
    queue, lock_key = _keys()
    lock = client.lock(lock_key, timeout=300, blocking=False)
    if not lock.acquire(blocking=False):
        return 0
    inserted = 0
    try:
        for _ in range(max_batches):
            raw = client.lrange(queue, 0, batch - 1)
            if not raw:
                break
            rows = []
            for item in raw:
                data = json.loads(item)
                data["asked_at"] = parse_datetime(data["asked_at"]) or timezone.now()
                data["as_of"] = parse_date(data["as_of"]) if data.get("as_of") else None
                data["queue_key"] = uuid.UUID(data["queue_key"])
                rows.append(RegisterLookup(**data))
            with transaction.atomic():
                created = RegisterLookup.objects.bulk_create(rows, ignore_conflicts=True)
            # Only once the rows are committed: a crash before this leaves them queued, and
            # the next flush's insert of the same keys does nothing.
            client.ltrim(queue, len(raw), -1)
            inserted += len(created)
    finally:
        try:
            lock.release()
        except Exception:  # the lock timed out meanwhile; nothing to release
            logger.warning("Register lookup flush outlived its lock")
    return inserted
