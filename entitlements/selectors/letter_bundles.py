"""Which letter is *current*: read in bulk for ZIP bundles, and by anyone checking a code.

The current letter of an entitlement is the last one issued for it (newest `created_at`,
then id), whether or not it has been rendered yet: a later letter, even one still being
prepared, means the earlier one no longer describes the entitlement. A bundle therefore
never slips in an older letter in place of one still being prepared; it lists that one as
missing instead.

Bundles are for the employer's governance leads (`view_governance`, checked by the view's
`OrganisationMixin` and again by the service); another employer's bundle is a 404. The
public verification answer (`letter_verification`) says only whether a letter is genuine
and in force, with the referrer's and employer's names and the letter's date: nothing that
would tell a stranger more about the referrer.
"""

import datetime
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404

from referrers.models import Department, Organisation
from referrers.regulators import Profession

from ..models import (
    BundleStatus,
    Entitlement,
    EntitlementKind,
    EntitlementState,
    Letter,
    LetterBundle,
)
from ..models.entitlements import LIVE_STATES
from ..models.letters import CODE_ALPHABET

# --- The current letter --------------------------------------------------------------------


def current_letter_id(entitlement: str = "pk") -> Subquery:
    """The id of the last letter issued for the entitlement `OuterRef(entitlement)`."""
    letters = Letter.objects.filter(entitlement=OuterRef(entitlement))
    return Subquery(letters.order_by("-created_at", "-id").values("pk")[:1])


# --- Bundles -------------------------------------------------------------------------------

BUNDLE_STATE_CHOICES = [
    ("", "Active and suspended"),
    (EntitlementState.ACTIVE.value, "Active only"),
    (EntitlementState.SUSPENDED.value, "Suspended only"),
]


def bundle_entitlements(organisation: Organisation, filters: dict) -> QuerySet[Entitlement]:
    """The live entitlements of `organisation` that `filters` (as stored on a bundle)
    select, in the register's order (referrer's name, then id), each annotated with
    `current_letter_id`. Only what the manifest states is loaded with them."""
    state = filters.get("state") or ""
    entitlements = Entitlement.objects.filter(
        organisation=organisation, state__in=[state] if state else list(LIVE_STATES)
    )
    if filters.get("kind"):
        entitlements = entitlements.filter(kind=filters["kind"])
    if filters.get("department"):
        entitlements = entitlements.filter(employment__department_id=filters["department"])
    if filters.get("profession"):
        entitlements = entitlements.filter(referrer__profession=filters["profession"])
    return (
        entitlements.select_related("referrer__user")
        .only(
            "id",
            "state",
            "kind",
            "referrer__regulator",
            "referrer__registration_number",
            "referrer__user__full_name",
        )
        .annotate(current_letter_id=current_letter_id())
        .order_by("referrer__user__full_name", "id")
    )


def bundle_letters(ids: Iterable[int]) -> dict[int, Letter]:
    """The letters with these ids, by id, with only what a bundle needs of each."""
    return Letter.objects.only(
        "id", "status", "verification_code", "file", "sha256", "size", "rendered_at", "created_at"
    ).in_bulk([pk for pk in ids if pk])


def letter_bundle_departments(organisation: Organisation) -> list[tuple[int, str]]:
    """The departments a bundle may be narrowed to: those of the employments behind the
    organisation's live entitlements (another employer's department is named with it)."""
    departments = (
        Department.objects.filter(
            employments__entitlements__organisation=organisation,
            employments__entitlements__state__in=list(LIVE_STATES),
        )
        .select_related("organisation")
        .distinct()
        .order_by("name", "id")
    )
    return [
        (
            department.pk,
            department.name
            if department.organisation_id == organisation.pk
            else f"{department.name} ({department.organisation.name})",
        )
        for department in departments
    ]


def letter_bundles_at(organisation: Organisation) -> QuerySet[LetterBundle]:
    """The bundles requested for `organisation`, newest first."""
    return LetterBundle.objects.filter(organisation=organisation).select_related("requested_by")


def letter_bundle_at(organisation: Organisation, pk: int) -> LetterBundle:
    """One of `organisation`'s bundles; another organisation's (or none) is a 404."""
    try:
        return LetterBundle.objects.select_related("requested_by", "organisation").get(
            pk=pk, organisation=organisation
        )
    except LetterBundle.DoesNotExist:
        raise Http404("No such bundle of letters") from None


def describe_filters(filters: dict, departments: dict[int, str] | None = None) -> list[str]:
    """What a bundle was narrowed to, in words ("Suspended only", "Nurse"); empty for the
    current letters of every live entitlement."""
    words = []
    if filters.get("state"):
        words.append(dict(BUNDLE_STATE_CHOICES).get(filters["state"], filters["state"]))
    if filters.get("kind"):
        words.append(EntitlementKind(filters["kind"]).label)
    if filters.get("department"):
        words.append((departments or {}).get(filters["department"], "One department"))
    if filters.get("profession"):
        words.append(Profession(filters["profession"]).label)
    return words


def department_names(bundles: Iterable[LetterBundle]) -> dict[int, str]:
    """The names of the departments `bundles` were narrowed to, in one query."""
    ids = {b.filters.get("department") for b in bundles} - {None, ""}
    if not ids:
        return {}
    return dict(Department.objects.filter(pk__in=ids).values_list("pk", "name"))


@dataclass(frozen=True)
class BundleContents:
    included: int
    missing: int


def letter_bundle_contents(bundle: LetterBundle) -> BundleContents | None:
    """How many letters a ready bundle holds and how many its manifest lists as missing,
    read from the ZIP's directory (the manifest has a row for each of `total`)."""
    if bundle.status != BundleStatus.READY or not bundle.file:
        return None
    with bundle.file.open("rb") as file, zipfile.ZipFile(file) as archive:
        included = sum(1 for name in archive.namelist() if name.startswith("letters/"))
    return BundleContents(included=included, missing=max(0, bundle.total - included))


# --- Public verification -------------------------------------------------------------------

# Hyphens and the dashes a word processor or PDF reader may turn them into.
_SEPARATORS = re.compile(r"[\s\-\u2010\u2011\u2012\u2013\u2014\u2015\u2212]")
_CODE = re.compile(f"[{CODE_ALPHABET}]{{12}}")


def normalise_code(typed: str) -> str | None:
    """`typed` as a verification code (XXXX-XXXX-XXXX), whatever its case, spaces or
    dashes; None if it cannot be one."""
    raw = _SEPARATORS.sub("", typed or "").upper()
    if not _CODE.fullmatch(raw):
        return None
    return "-".join(raw[i : i + 4] for i in range(0, 12, 4))


@dataclass(frozen=True)
class LetterVerification:
    """What the public may learn from a letter's code."""

    in_force: bool
    reasons: tuple[str, ...]
    referrer_name: str
    employer_name: str
    issued_on: datetime.date | None


NOT_IN_FORCE = {
    EntitlementState.SUSPENDED: "The entitlement this letter records is suspended.",
    EntitlementState.REVOKED: "The entitlement this letter records has been revoked.",
    EntitlementState.EXPIRED: "The entitlement this letter records has ended.",
    EntitlementState.SUPERSEDED: "The entitlement this letter records has been replaced by "
    "a newer one.",
}
NEWER_LETTER = "A newer letter has been issued since this one."


def letter_verification(code: str) -> LetterVerification | None:
    """Whether the letter with `code` (already normalised) is genuine and in force: the
    current letter of an active entitlement. None when no letter has that code.

    Always exactly one query, found or not, so the answer for an unknown code takes the
    same path as for a genuine one.
    """
    row = (
        Letter.objects.filter(verification_code=code)
        .annotate(current_id=current_letter_id("entitlement"))
        .values(
            "pk",
            "current_id",
            "entitlement__state",
            "content__referrer__name",
            "content__employer__name",
            "content__issued_on",
        )
        .first()
    )
    if row is None:
        return None
    reasons = []
    state = row["entitlement__state"]
    if state != EntitlementState.ACTIVE:
        reasons.append(NOT_IN_FORCE[state])
    if row["current_id"] != row["pk"]:
        reasons.append(NEWER_LETTER)
    issued = row["content__issued_on"]
    return LetterVerification(
        in_force=not reasons,
        reasons=tuple(reasons),
        referrer_name=row["content__referrer__name"] or "",
        employer_name=row["content__employer__name"] or "",
        issued_on=datetime.date.fromisoformat(issued[:10]) if issued else None,
    )


__all__ = [
    "BUNDLE_STATE_CHOICES",
    "BundleContents",
    "LetterVerification",
    "bundle_entitlements",
    "bundle_letters",
    "current_letter_id",
    "department_names",
    "describe_filters",
    "letter_bundle_at",
    "letter_bundle_contents",
    "letter_bundle_departments",
    "letter_bundles_at",
    "letter_verification",
    "normalise_code",
]
