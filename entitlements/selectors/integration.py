"""Reads for the integration side of the register: API clients, FHIR PractitionerRole and the
nightly RIS export.

What a referrer "may request today" is decided the same way as `register.entitlement_check`
says yes (apart from the patient's age and the care setting, which a RIS list cannot hold):
a referral entitlement granted by this organisation, active, with its employment not ended,
its review not overdue and the referrer's registration neither lapsed nor expired; an
active scope item; a group stands for every examination in it.
"""

import datetime

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from referrers.models import Organisation

from ..models import (
    ApiClient,
    Entitlement,
    EntitlementKind,
    EntitlementState,
    Examination,
    ProcedureStatus,
    RisExport,
    ScopeItem,
    ScopeItemState,
)

# --- API clients ------------------------------------------------------------------------------


def api_client_by_token_hash(digest: str) -> ApiClient | None:
    """The client whose token has this SHA-256, revoked or not (the caller refuses revoked)."""
    return ApiClient.objects.select_related("organisation").filter(token_hash=digest).first()


def api_client_named(organisation: Organisation, name: str) -> ApiClient | None:
    """The organisation's live (not revoked) client called `name`."""
    return ApiClient.objects.filter(
        organisation=organisation, name=name, revoked_at__isnull=True
    ).first()


# --- What may be requested today -------------------------------------------------------------


def _requestable_entitlements(organisation: Organisation, on: datetime.date) -> Q:
    """Entitlements of `organisation` a referrer may request under on `on` (as a filter on
    Entitlement)."""
    return (
        Q(organisation=organisation)
        & Q(kind=EntitlementKind.REFERRAL)
        & Q(state=EntitlementState.ACTIVE)
        & Q(review_due_on__gte=on)
        & (Q(employment__ends_on__isnull=True) | Q(employment__ends_on__gte=on))
        & Q(referrer__registration_lapsed=False)
        & Q(referrer__registration_expires_on__gte=on)
    )


def _active_items() -> Prefetch:
    return Prefetch(
        "scope_items",
        queryset=ScopeItem.objects.filter(state=ScopeItemState.ACTIVE)
        .select_related("examination", "group")
        .prefetch_related(
            Prefetch("group__examinations", queryset=Examination.objects.order_by("code"))
        )
        .order_by("id"),
        to_attr="active_items",
    )


def requestable_entitlements(
    organisation: Organisation, on: datetime.date | None = None
) -> QuerySet[Entitlement]:
    """The entitlements under which referrers may request examinations from `organisation`
    on `on` (default today), each with `active_items`: its active scope items, groups and
    their examinations loaded. Three queries, whatever the number of rows."""
    on = on or timezone.localdate()
    entitlements = Entitlement.objects.filter(_requestable_entitlements(organisation, on)).order_by(
        "referrer__regulator", "referrer__registration_number", "id"
    )
    return entitlements.select_related(
        "referrer__user", "organisation", "employment"
    ).prefetch_related(_active_items())


def examinations_of_items(items) -> list[Examination]:
    """The examinations a list of scope items stands for (groups expanded), each once, by
    code."""
    found: dict[int, Examination] = {}
    for item in items:
        if item.examination_id:
            found[item.examination_id] = item.examination
        else:
            for examination in item.group.examinations.all():
                found[examination.pk] = examination
    return sorted(found.values(), key=lambda e: e.code)


def practitioner_roles_of(
    organisation: Organisation, *, regulator: str, registration_number: str
) -> list[Entitlement]:
    """The referrer's entitlements under which they may request examinations from
    `organisation` today (for FHIR PractitionerRole search)."""
    return list(
        requestable_entitlements(organisation).filter(
            referrer__regulator=regulator, referrer__registration_number=registration_number
        )
    )


def practitioner_role_at(organisation: Organisation, pk: int) -> Entitlement:
    """One of `organisation`'s entitlements under which its referrer may request today;
    404 for any other (ended, suspended, or another organisation's)."""
    entitlement = requestable_entitlements(organisation).filter(pk=pk).first()
    if entitlement is None:
        raise Http404("No active entitlement of this organisation has that id")
    return entitlement


# --- RIS exports ------------------------------------------------------------------------------


def ris_exports_of(organisation: Organisation) -> QuerySet[RisExport]:
    return RisExport.objects.filter(organisation=organisation).order_by("-for_date", "-id")


def ris_export_at(organisation: Organisation, pk: int) -> RisExport:
    """One of `organisation`'s exports; 404 for another organisation's."""
    export = RisExport.objects.filter(organisation=organisation, pk=pk).first()
    if export is None:
        raise Http404("This organisation has no such export")
    return export


def ris_export_for(organisation: Organisation, for_date: datetime.date) -> RisExport | None:
    return RisExport.objects.filter(organisation=organisation, for_date=for_date).first()


def organisations_with_published_procedure() -> QuerySet[Organisation]:
    """Every organisation with a published procedure version (those that entitle)."""
    return (
        Organisation.objects.filter(procedure__versions__status=ProcedureStatus.PUBLISHED)
        .distinct()
        .order_by("ods_code")
    )


def referrer_visible_to(organisation: Organisation, profile, entitlement=None) -> bool:
    """Whether `organisation`'s register may say anything about this referrer: one it
    entitled (itself, or under a shared-responsibility agreement), or one it employs."""
    if entitlement is not None and entitlement.organisation_id == organisation.pk:
        return True
    if Entitlement.objects.filter(referrer=profile, organisation=organisation).exists():
        return True
    return profile.employments.filter(organisation=organisation).exists()


# --- The RIS "restrict ordering by examination" list ----------------------------------------


def referrer_code(regulator: str, registration_number: str) -> str:
    """The code the RIS knows a referrer by: regulator and number run together, in capitals
    (NMC71A2998E, GPHC2012345): unique, stable for a registration, and letters and digits
    only, which every RIS takes."""
    return f"{regulator.upper()}{registration_number}"


def ris_rows(organisation: Organisation, on: datetime.date) -> list[tuple[str, str, str, str]]:
    """(referrer code, REGULATOR:NUMBER, name, examination code) for every examination each
    referrer may request from `organisation` on `on`, each pair once, in code order. Three
    queries, whatever the size of the register."""
    rows: set[tuple[str, str, str, str]] = set()
    for entitlement in requestable_entitlements(organisation, on):
        referrer = entitlement.referrer
        code = referrer_code(referrer.regulator, referrer.registration_number)
        for examination in examinations_of_items(entitlement.active_items):
            rows.add((code, referrer.registration, referrer.user.full_name, examination.code))
    return sorted(rows, key=lambda row: (row[0], row[3]))
