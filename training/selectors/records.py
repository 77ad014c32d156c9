"""Reads of training records, with the rules on who may see and verify which.

A referrer sees their own records. A referrer is *connected* to an organisation when they
hold an employment there that has not ended, or a live (active or suspended) entitlement
from it (an imaging provider entitling them under a shared-responsibility agreement). The
delegates of a connected organisation (a current delegate appointment there) may verify,
reject and add records for them; its delegates and governance leads may open their
certificates. Anyone else gets a 404, so changing an id in a URL reveals nothing.

Requirements are computed by `training.requirements` from records loaded here in bulk.
"""

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from entitlements import selectors as entitlement_selectors
from entitlements.models import (
    LIVE_STATES,
    Entitlement,
    ProcedureVersion,
    ScopeItem,
)
from referrers import selectors as people
from referrers.models import (
    DelegateAppointment,
    Employment,
    Organisation,
    ReferrerProfile,
    User,
)
from referrers.regulators import normalise_registration_number

from ..models import TrainingRecord
from ..requirements import CpdRequirement, Requirement, cpd_for, requirements_for

# Who may open a certificate, besides the referrer.
CERTIFICATE_PERMISSIONS = ("decide_entitlements", "view_governance")
# Larger id lists are read in slices, so no database meets more parameters than it allows.
ID_BATCH = 5000


# --- Records in bulk (also read by the control run) ------------------------------------------


def records_of_referrers(
    referrer_ids: Iterable[int], *, counting_only: bool = False
) -> dict[int, list[TrainingRecord]]:
    """Every training record of each referrer in `referrer_ids`, newest completion first:
    one query (per 5,000 ids). With `counting_only`, only verified, unrejected records (the
    only ones a requirement counts). Referrers without records map to an empty list."""
    ids = sorted(set(referrer_ids))
    result: dict[int, list[TrainingRecord]] = {pk: [] for pk in ids}
    for start in range(0, len(ids), ID_BATCH):
        records = TrainingRecord.objects.filter(referrer_id__in=ids[start : start + ID_BATCH])
        if counting_only:
            records = records.filter(verified_at__isnull=False, rejected_at__isnull=True)
        for record in records.order_by("referrer_id", "-completed_on", "-id"):
            result[record.referrer_id].append(record)
    return result


def _records() -> QuerySet[TrainingRecord]:
    return TrainingRecord.objects.select_related(
        "referrer__user", "recorded_by", "verified_by", "rejected_by", "training_import"
    )


def records_of(referrer: ReferrerProfile) -> QuerySet[TrainingRecord]:
    """A referrer's records, newest completion first, with who recorded and verified them."""
    return _records().filter(referrer=referrer).order_by("-completed_on", "-id")


# --- Who is connected to which organisation ---------------------------------------------------


def employed_or_entitled_at(organisation: Organisation | int, on: datetime.date) -> Q:
    """A ReferrerProfile filter: an employment at `organisation` that has not ended by `on`,
    or a live entitlement from it. Built from EXISTS subqueries, so it never duplicates rows."""
    employed = Employment.objects.filter(referrer=OuterRef("pk"), organisation=organisation).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=on)
    )
    entitled = Entitlement.objects.filter(
        referrer=OuterRef("pk"), organisation=organisation, state__in=LIVE_STATES
    )
    return Q(Exists(employed)) | Q(Exists(entitled))


def organisations_of_referrer(referrer: ReferrerProfile, on: datetime.date) -> set[int]:
    """The ids of the organisations `referrer` is connected to on `on` (two queries)."""
    employed = Employment.objects.filter(referrer=referrer).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=on)
    )
    entitled = Entitlement.objects.filter(referrer=referrer, state__in=LIVE_STATES)
    return set(employed.values_list("organisation_id", flat=True)) | set(
        entitled.values_list("organisation_id", flat=True)
    )


def current_appointments(user: User, on: datetime.date) -> QuerySet[DelegateAppointment]:
    return DelegateAppointment.objects.filter(delegate=user, valid_from__lte=on).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=on)
    )


def is_current_delegate(user: User, organisation: Organisation, on: datetime.date | None = None):
    """Whether `user` may act as an entitlement delegate of `organisation` on `on`: the
    permission, and a current appointment (an ended appointment allows nothing)."""
    on = on or timezone.localdate()
    if not people.has_permission(user, "decide_entitlements", organisation):
        return False
    return current_appointments(user, on).filter(organisation=organisation).exists()


def delegate_organisation_for(
    user: User, referrer: ReferrerProfile, on: datetime.date | None = None
) -> Organisation | None:
    """An organisation `referrer` is connected to where `user` is a current entitlement
    delegate: the authority to verify, reject or add their records. None for the referrer
    themself (nobody verifies their own training) and for anyone else."""
    if not user.is_authenticated or not user.is_active or referrer.user_id == user.pk:
        return None
    on = on or timezone.localdate()
    connected = organisations_of_referrer(referrer, on)
    appointed = set(current_appointments(user, on).values_list("organisation_id", flat=True))
    for organisation in Organisation.objects.filter(pk__in=connected & appointed).order_by("name"):
        if people.has_permission(user, "decide_entitlements", organisation):
            return organisation
    return None


# --- One referrer, one record -----------------------------------------------------------------


def referrers_at(
    organisation: Organisation, *, search: str = "", on: datetime.date | None = None
) -> QuerySet[ReferrerProfile]:
    """The referrers connected to `organisation` (the caller checked the user may see them),
    by name or registration number."""
    on = on or timezone.localdate()
    profiles = ReferrerProfile.objects.filter(employed_or_entitled_at(organisation, on))
    search = search.strip()
    if search:
        profiles = profiles.filter(
            Q(user__full_name__icontains=search)
            | Q(registration_number=normalise_registration_number(search))
        )
    return profiles.select_related("user").order_by("user__full_name", "id")


def referrer_at(
    organisation: Organisation, pk: int, on: datetime.date | None = None
) -> ReferrerProfile:
    """A referrer connected to `organisation`, or 404."""
    referrer = referrers_at(organisation, on=on).filter(pk=pk).first()
    if referrer is None:
        raise Http404("No such referrer here")
    return referrer


def record_of_referrer(user: User, pk: int) -> TrainingRecord:
    """One of the signed-in referrer's own records, or 404."""
    record = _records().filter(pk=pk, referrer__user=user).first()
    if record is None:
        raise Http404("No such training record")
    return record


def record_at(
    organisation: Organisation, pk: int, on: datetime.date | None = None
) -> TrainingRecord:
    """A record of a referrer connected to `organisation`, or 404."""
    on = on or timezone.localdate()
    connected = ReferrerProfile.objects.filter(employed_or_entitled_at(organisation, on))
    record = _records().filter(pk=pk, referrer__in=connected).first()
    if record is None:
        raise Http404("No such training record")
    return record


def certificate_for(user: User, pk: int) -> TrainingRecord:
    """A record's certificate, for the referrer themself, or the delegates and governance
    leads of an organisation the referrer is connected to; otherwise 404."""
    record = (
        TrainingRecord.objects.select_related("referrer")
        .filter(pk=pk)
        .exclude(certificate="")
        .first()
    )
    if record is None or not user.is_authenticated:
        raise Http404("No such certificate")
    if record.referrer.user_id == user.pk:
        return record
    connected = organisations_of_referrer(record.referrer, timezone.localdate())
    for organisation in Organisation.objects.filter(pk__in=connected):
        if any(people.has_permission(user, p, organisation) for p in CERTIFICATE_PERMISSIONS):
            return record
    raise Http404("No such certificate")


# --- What a referrer's entitlements need ------------------------------------------------------


@dataclass
class EntitlementTraining:
    """One live entitlement, the procedure version whose rules apply on the day, and each
    training requirement with the record that meets it (or not)."""

    entitlement: Entitlement
    version: ProcedureVersion | None
    requirements: list[Requirement]
    cpd: CpdRequirement | None

    @property
    def worst_status(self) -> str:
        order = ["lapsed", "missing", "expiring", "valid"]
        statuses = [r.status for r in self.requirements] or ["valid"]
        return min(statuses, key=order.index)


def scope_items_prefetch(lookup: str = "scope_items") -> Prefetch:
    """Scope items with their examinations and groups' examinations: what
    `requirements.item_needs` reads, in three queries for any number of entitlements."""
    return Prefetch(
        lookup,
        queryset=ScopeItem.objects.select_related("examination", "group")
        .prefetch_related("group__examinations")
        .order_by("id"),
    )


class VersionCache:
    """The procedure version in force per organisation on one day, each asked for once."""

    def __init__(self, on: datetime.date, known: dict[int, ProcedureVersion] | None = None):
        self.on = on
        self._versions: dict[int, ProcedureVersion | None] = dict(known or {})

    def get(self, organisation: Organisation) -> ProcedureVersion | None:
        if organisation.pk not in self._versions:
            self._versions[organisation.pk] = entitlement_selectors.procedure_version_in_force(
                organisation, on=self.on
            )
        return self._versions[organisation.pk]


def live_entitlements_of_referrer(
    referrer: ReferrerProfile, *, organisation: Organisation | None = None
) -> QuerySet[Entitlement]:
    entitlements = Entitlement.objects.filter(referrer=referrer, state__in=LIVE_STATES)
    if organisation is not None:
        entitlements = entitlements.filter(organisation=organisation)
    return (
        entitlements.select_related(
            "organisation",
            "employment__organisation",
            "employment__department",
            "procedure_version__procedure__organisation",
        )
        .prefetch_related(scope_items_prefetch())
        .order_by("organisation__name", "granted_at", "id")
    )


def training_status(
    entitlements: Iterable[Entitlement],
    records: Iterable[TrainingRecord],
    on: datetime.date,
    versions: VersionCache | None = None,
) -> list[EntitlementTraining]:
    """The requirements of each entitlement (scope items prefetched) from `records`, under the
    version in force at its employer on `on` (or, if none is, the version it was granted
    under). No query but one per employer for its version."""
    versions = versions or VersionCache(on)
    records = list(records)
    result = []
    for entitlement in entitlements:
        version = versions.get(entitlement.organisation) or entitlement.procedure_version
        items = list(entitlement.scope_items.all())
        result.append(
            EntitlementTraining(
                entitlement=entitlement,
                version=version,
                requirements=requirements_for(items, version, records, on),
                cpd=cpd_for(version, records, on),
            )
        )
    return result


def training_status_of_referrer(
    referrer: ReferrerProfile,
    on: datetime.date | None = None,
    *,
    organisation: Organisation | None = None,
) -> list[EntitlementTraining]:
    """For each live entitlement of `referrer` (only those from `organisation`, if given):
    the version in force, the requirements and CPD. About eight queries whatever the scope."""
    on = on or timezone.localdate()
    entitlements = list(live_entitlements_of_referrer(referrer, organisation=organisation))
    if not entitlements:
        return []
    records = records_of_referrers([referrer.pk], counting_only=True)[referrer.pk]
    return training_status(entitlements, records, on)


def requirement_statuses_by_record(
    statuses: list[EntitlementTraining],
) -> dict[int, list[str]]:
    """For each record id, the requirements it meets ("Radiation protection (IR(ME)R) for
    ENT-000012"), so a list of records can say what each is used for."""
    meets: dict[int, list[str]] = defaultdict(list)
    for status in statuses:
        for requirement in status.requirements:
            if requirement.record is not None:
                meets[requirement.record.pk].append(
                    f"{requirement.label} for {status.entitlement.reference}"
                )
    return meets
