"""The register's record of every lookup (principle 9: who asked about whom, and the answer)."""

import datetime

from django.db import transaction

from referrers.models import Organisation, User

from ..models import ApiClient, LookupChannel, RegisterLookup
from ..selectors.register import CheckAnswer

REGISTRATION_MAX = RegisterLookup._meta.get_field("registration").max_length
CODE_MAX = RegisterLookup._meta.get_field("examination_code").max_length
SETTING_MAX = RegisterLookup._meta.get_field("setting").max_length
AGE_MAX = 32767  # PositiveSmallIntegerField


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
    return RegisterLookup.objects.create(
        organisation=organisation,
        channel=channel,
        asked_by=asked_by,
        api_client=api_client,
        registration=(registration or "")[:REGISTRATION_MAX],
        referrer=answer.referrer if answer.referrer and answer.referrer.pk else None,
        examination_code=(examination_code or "")[:CODE_MAX],
        examination=answer.examination if answer.examination and answer.examination.pk else None,
        patient_age=age,
        setting=(setting or "")[:SETTING_MAX],
        as_of=as_of,
        entitled=answer.entitled,
        entitlement=answer.entitlement if answer.entitlement and answer.entitlement.pk else None,
        reasons=list(answer.reasons),
        asked_at=answer.checked_at,
    )
