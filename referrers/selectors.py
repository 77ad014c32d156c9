"""Reads with rules, and the one place that decides what a user may see or change.

Every view asks here (`organisation_for`, `organisations_with`, ...) instead of building its
own permission filter. Permissions are django-guardian object permissions on the
organisation, granted by roles (roles.py).
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from guardian.core import ObjectPermissionChecker
from guardian.shortcuts import get_objects_for_user

from .models import (
    DelegateAppointment,
    Employment,
    Notification,
    Organisation,
    OrganisationRole,
    ReferrerProfile,
    Role,
    SharedResponsibilityAgreement,
    User,
)
from .regulators import normalise_registration_number

# Django's own view permission, and the organisation permissions declared on the model.
PERMISSIONS = {"view_organisation"} | {codename for codename, _ in Organisation._meta.permissions}


def _perm(permission: str) -> str:
    if permission not in PERMISSIONS:
        raise ValueError(f"Unknown organisation permission: {permission}")
    return f"referrers.{permission}"


def has_permission(user: User, permission: str, organisation: Organisation) -> bool:
    """Whether `user` holds `permission` on `organisation` (guardian object permission)."""
    if not user.is_authenticated or not user.is_active:
        return False
    checker = getattr(user, "_organisation_checker", None)
    if checker is None:
        checker = user._organisation_checker = ObjectPermissionChecker(user)
    return checker.has_perm(_perm(permission), organisation)


def organisation_for(user: User, ods_code: str, permission: str) -> Organisation:
    """The organisation with this ODS code, if `user` may `permission` there.

    Raises Http404 for an unknown code and PermissionDenied when the user lacks the
    permission, so a view never returns another organisation's data.
    """
    try:
        organisation = Organisation.objects.select_related("parent").get(ods_code=ods_code.upper())
    except Organisation.DoesNotExist:
        raise Http404("No organisation has that ODS code") from None
    if not has_permission(user, permission, organisation):
        raise PermissionDenied(f"You do not have access to this for {organisation.name}")
    return organisation


def organisations_with(user: User, permission: str) -> QuerySet[Organisation]:
    """Every organisation where `user` holds `permission`."""
    if not user.is_authenticated or not user.is_active:
        return Organisation.objects.none()
    return get_objects_for_user(
        user, _perm(permission), klass=Organisation, accept_global_perms=False
    ).order_by("name")


@dataclass(frozen=True)
class RoleHome:
    role: str
    label: str
    organisation: Organisation | None
    url_name: str

    @property
    def url_args(self) -> tuple:
        return (self.organisation.ods_code,) if self.organisation else ()


ROLE_HOME_URLS = {
    Role.REFERRER: "referrer_home",
    Role.CLINICAL_SUPERVISOR: "supervisor_home",
    Role.ENTITLEMENT_DELEGATE: "delegate_home",
    Role.GOVERNANCE_LEAD: "governance_home",
    Role.IRMER_PRACTITIONER: "practitioner_home",
    Role.ORGANISATION_ADMINISTRATOR: "administration_home",
}
PERSONAL_ROLES = {Role.REFERRER, Role.CLINICAL_SUPERVISOR}


def role_homes(user: User) -> list[RoleHome]:
    """The home pages `user` has: one per organisational role, one each for referrer and
    supervisor (those pages span every organisation)."""
    if not user.is_authenticated:
        return []
    homes: list[RoleHome] = []
    seen_personal: set[str] = set()
    roles = OrganisationRole.objects.filter(user=user).select_related("organisation")
    for role in roles.order_by("role", "organisation__name"):
        if role.role in PERSONAL_ROLES:
            if role.role in seen_personal:
                continue
            seen_personal.add(role.role)
            homes.append(
                RoleHome(role.role, role.get_role_display(), None, ROLE_HOME_URLS[role.role])
            )
        else:
            homes.append(
                RoleHome(
                    role.role, role.get_role_display(), role.organisation, ROLE_HOME_URLS[role.role]
                )
            )
    if Role.REFERRER not in seen_personal and referrer_profile_of(user) is not None:
        homes.insert(0, RoleHome(Role.REFERRER, Role.REFERRER.label, None, "referrer_home"))
    return homes


def referrer_profile_of(user: User) -> ReferrerProfile | None:
    return ReferrerProfile.objects.filter(user=user).first()


def employments_of_referrer(profile: ReferrerProfile) -> QuerySet[Employment]:
    return profile.employments.select_related(
        "organisation", "department", "clinical_supervisor"
    ).order_by("-starts_on")


def supervisees_of(user: User) -> QuerySet[Employment]:
    """Current employments that name `user` as clinical supervisor."""
    today = timezone.localdate()
    return (
        Employment.objects.filter(clinical_supervisor=user, starts_on__lte=today)
        .exclude(ends_on__lt=today)
        .select_related("referrer__user", "organisation", "department")
        .order_by("referrer__user__full_name")
    )


def employments_at(
    user: User, organisation: Organisation, *, search: str = "", current_only: bool = True
) -> QuerySet[Employment]:
    """The referrers employed at `organisation`, for a user who may see its people."""
    if not has_permission(user, "view_people", organisation) and not has_permission(
        user, "view_register", organisation
    ):
        raise PermissionDenied("You cannot see this organisation's people")
    employments = Employment.objects.filter(organisation=organisation).select_related(
        "referrer__user", "department", "clinical_supervisor"
    )
    if current_only:
        today = timezone.localdate()
        employments = employments.filter(starts_on__lte=today).exclude(ends_on__lt=today)
    search = search.strip()
    if search:
        employments = employments.filter(
            Q(referrer__user__full_name__icontains=search)
            | Q(referrer__registration_number=normalise_registration_number(search))
            | Q(job_title__icontains=search)
        )
    return employments.order_by("referrer__user__full_name", "id")


def delegate_appointments_at(organisation: Organisation) -> QuerySet[DelegateAppointment]:
    return (
        DelegateAppointment.objects.filter(organisation=organisation)
        .select_related("delegate", "appointed_by")
        .prefetch_related("departments")
        .order_by("-valid_from", "id")
    )


def delegate_appointments_of(user: User, organisation: Organisation):
    return delegate_appointments_at(organisation).filter(delegate=user)


def agreements_of(organisation: Organisation) -> QuerySet[SharedResponsibilityAgreement]:
    return (
        SharedResponsibilityAgreement.objects.filter(
            Q(imaging_provider=organisation) | Q(referring_organisation=organisation)
        )
        .select_related("imaging_provider", "referring_organisation", "recorded_by")
        .order_by("-valid_from", "id")
    )


def clinical_supervisors_at(organisation: Organisation) -> QuerySet[User]:
    return User.objects.filter(
        organisation_roles__organisation=organisation,
        organisation_roles__role=Role.CLINICAL_SUPERVISOR,
        is_active=True,
    ).order_by("full_name")


def roles_at(organisation: Organisation) -> QuerySet[OrganisationRole]:
    return OrganisationRole.objects.filter(organisation=organisation).select_related(
        "user", "granted_by"
    )


def notifications_of(user: User) -> QuerySet[Notification]:
    """The user's own in-app notifications, newest first."""
    return Notification.objects.filter(user=user).order_by("-created_at", "-id")


def unread_notification_count(user: User) -> int:
    """How many of the user's notifications are unread: one COUNT query."""
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
