"""Every write to people, organisations, roles, appointments and agreements.

Each service takes the acting user as `by`, runs in a transaction, and writes history that
names the actor.
"""

import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from .attribution import save_attributed
from .models import (
    DelegateAppointment,
    Department,
    Employment,
    Notification,
    Organisation,
    OrganisationRole,
    OrganisationUserObjectPermission,
    ReferrerProfile,
    Role,
    SharedResponsibilityAgreement,
    User,
)
from .outbox import outbox_enqueue
from .roles import GRANTABLE_ROLES, ROLE_PERMISSIONS, permissions_for_roles
from .tasks import email_send


def _sync_permissions(user: User, organisation: Organisation) -> None:
    """Make the user's guardian permissions on `organisation` match the roles they hold,
    touching only the permissions that differ."""
    held = OrganisationRole.objects.filter(user=user, organisation=organisation).values_list(
        "role", flat=True
    )
    wanted = permissions_for_roles(held)
    managed = set().union(*ROLE_PERMISSIONS.values())
    current = set(
        OrganisationUserObjectPermission.objects.filter(
            user=user, content_object=organisation, permission__codename__in=managed
        ).values_list("permission__codename", flat=True)
    )
    for codename in current - wanted:
        remove_perm(f"referrers.{codename}", user, organisation)
    for codename in wanted - current:
        assign_perm(f"referrers.{codename}", user, organisation)
    if hasattr(user, "_organisation_checker"):
        del user._organisation_checker


@transaction.atomic
def role_assign(
    *, user: User, organisation: Organisation, role: str, by: User | None
) -> OrganisationRole:
    """Give `user` `role` at `organisation` (idempotent) and the permissions it carries."""
    if role not in Role.values:
        raise ValidationError(f"Unknown role: {role}")
    existing = OrganisationRole.objects.filter(
        user=user, organisation=organisation, role=role
    ).first()
    if existing:
        return existing
    organisation_role = OrganisationRole(
        user=user, organisation=organisation, role=role, granted_by=by
    )
    save_attributed(organisation_role, by=by, reason=f"Role {role} assigned")
    _sync_permissions(user, organisation)
    return organisation_role


@transaction.atomic
def role_grant(
    *, organisation: Organisation, email: str, full_name: str, role: str, by: User
) -> OrganisationRole:
    """Give the person with `email` `role` at `organisation`, creating their account (with no
    password: they set one through the e-mailed link) when they have none."""
    if role not in GRANTABLE_ROLES:
        raise ValidationError({"role": "Select a role that can be given here"})
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email=email).first()
    if user is None:
        if not full_name.strip():
            raise ValidationError({"full_name": "Enter the person's full name"})
        user = user_create(email=email, full_name=full_name.strip(), password=None, by=by)
    elif not user.is_active:
        raise ValidationError({"email": "This account has been disabled"})
    if OrganisationRole.objects.filter(user=user, organisation=organisation, role=role).exists():
        raise ValidationError(
            {"role": f"{user.full_name} is already {Role(role).label.lower()} here"}
        )
    return role_assign(user=user, organisation=organisation, role=role, by=by)


@transaction.atomic
def role_remove(*, user: User, organisation: Organisation, role: str, by: User) -> None:
    """Take `role` at `organisation` away from `user`, with the permissions only it gave.

    Refuses to remove the organisation's last administrator, so nobody is locked out."""
    if role == Role.ORGANISATION_ADMINISTRATOR:
        administrators = list(
            OrganisationRole.objects.select_for_update()
            .filter(organisation=organisation, role=role)
            .values_list("user_id", flat=True)
        )
        if administrators == [user.pk]:
            raise ValidationError(
                "This is the organisation's only administrator. Give someone else the role first."
            )
    for organisation_role in OrganisationRole.objects.filter(
        user=user, organisation=organisation, role=role
    ):
        organisation_role._history_user = by
        organisation_role._change_reason = f"Role {role} removed"
        organisation_role.delete()
    _sync_permissions(user, organisation)


def user_create(*, email: str, full_name: str, password: str | None, by: User | None) -> User:
    user = User(email=User.objects.normalize_email(email).lower(), full_name=full_name)
    user.set_password(password) if password else user.set_unusable_password()
    user.full_clean()
    save_attributed(user, by=by, reason="User created")
    return user


def mfa_device_pending(*, user: User):
    """The authenticator `user` is setting up: their unconfirmed TOTP device, made if they
    have none. Refused once they have a confirmed one: a second authenticator is never added
    on a password alone."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise PermissionDenied("An authenticator app is already set up for this account")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


def mfa_device_confirm(*, device) -> None:
    """Mark the device set up, once the person has entered a code from it."""
    device.confirmed = True
    device.save(update_fields=["confirmed"])


@transaction.atomic
def user_disable(*, user: User, by: User | None, reason: str = "") -> dict[str, int]:
    """Stop `user` signing in or acting from now on: the account is marked inactive (no
    password, OpenID Connect or API sign-in accepts it), every session of theirs is ended at
    once, and the API client tokens they created are revoked, since each was shown to them
    when it was made. Returns how many sessions and tokens were ended. Idempotent."""
    from django.contrib.sessions.models import Session

    from entitlements.models import ApiClient
    from entitlements.services import api_client_revoke

    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_active:
        user.is_active = False
        save_attributed(user, by=by, reason=reason or "User disabled")
    ended = 0
    # Sessions are signed blobs: only decoding tells whose each is. Live ones only.
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()
            ended += 1
    revoked = 0
    for client in ApiClient.objects.filter(created_by=user, revoked_at__isnull=True):
        api_client_revoke(client=client, by=by)
        revoked += 1
    return {"sessions": ended, "api_clients": revoked}


def organisation_create(
    *, ods_code: str, name: str, kind: str, parent: Organisation | None = None, by: User | None
) -> Organisation:
    organisation = Organisation(ods_code=ods_code, name=name, kind=kind, parent=parent)
    organisation.full_clean()
    save_attributed(organisation, by=by, reason="Organisation created")
    return organisation


def department_create(
    *, organisation: Organisation, name: str, site_ods_code: str = "", by: User | None
) -> Department:
    department = Department(organisation=organisation, name=name, site_ods_code=site_ods_code)
    department.full_clean()
    save_attributed(department, by=by, reason="Department created")
    return department


@transaction.atomic
def referrer_profile_save(
    *,
    user: User,
    profession: str,
    regulator: str,
    registration_number: str,
    registration_expires_on: datetime.date,
    by: User,
) -> ReferrerProfile:
    """Create or update `user`'s professional registration, checked against the regulator."""
    profile = ReferrerProfile.objects.select_for_update().filter(user=user).first()
    profile = profile or ReferrerProfile(user=user)
    profile.profession = profession
    profile.regulator = regulator
    profile.registration_number = registration_number
    profile.registration_expires_on = registration_expires_on
    profile.full_clean()
    save_attributed(profile, by=by, reason="Registration details saved")
    return profile


def _registration_checked_by_delegate(
    referrer: ReferrerProfile, by: User, reason: str, *, missing: str, doing: str
) -> tuple[ReferrerProfile, str]:
    """The checks both registration services make, before anything changes: a reason
    (`missing` says what to enter), and `by` a current entitlement delegate of an
    organisation that employs or entitles the referrer, not the referrer themself. Returns
    the referrer's profile, locked, and the reason stripped."""
    from training import selectors as training_selectors  # training builds on referrers

    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": missing})
    if len(reason) > 2000:
        raise ValidationError({"reason": "The reason must be 2,000 characters or fewer"})
    profile = ReferrerProfile.objects.select_for_update(of=("self",)).get(pk=referrer.pk)
    if profile.user_id == by.pk:
        raise ValidationError(f"You cannot {doing.format(whose='your own')}")
    if training_selectors.delegate_organisation_for(by, profile) is None:
        raise PermissionDenied(
            "Only an entitlement delegate of an organisation that employs or entitles "
            f"{profile.user.full_name} can {doing.format(whose='their')}"
        )
    return profile, reason


@transaction.atomic
def registration_mark_lapsed(
    *, referrer: ReferrerProfile, by: User, reason: str
) -> ReferrerProfile:
    """A delegate records that `referrer`'s professional registration has lapsed (they
    checked the regulator's register), with why; history names them. The control run's
    `registration.lapse` rule then suspends the referrer's entitlements.

    Only a current entitlement delegate of an organisation that employs or entitles the
    referrer may, never for their own registration; a registration already marked lapsed is
    refused. Refusals raise ValidationError (PermissionDenied for authority) and change nothing.
    """
    profile, reason = _registration_checked_by_delegate(
        referrer,
        by,
        reason,
        missing="Enter how you know the registration has lapsed",
        doing="mark {whose} registration as lapsed",
    )
    if profile.registration_lapsed:
        raise ValidationError(f"{profile.user.full_name}'s registration is already marked lapsed")
    profile.registration_lapsed = True
    save_attributed(profile, by=by, reason=f"Registration marked lapsed: {reason}"[:100])
    # The history row keeps 100 characters of the reason; the referrer is told all of it.
    notification_send(
        user=profile.user,
        subject="Your professional registration has been marked as lapsed",
        body=f"{by.full_name} marked your {profile.regulator} registration "
        f"{profile.registration_number} as lapsed: {reason}\n\nYou cannot refer for imaging "
        "until it is renewed. Tell your entitlement delegate when it has been.",
    )
    return profile


@transaction.atomic
def registration_confirm_renewed(
    *, referrer: ReferrerProfile, by: User, renewal_due_on: datetime.date, reason: str
) -> ReferrerProfile:
    """A delegate records that `referrer`'s registration is current again (they checked the
    regulator's register): the lapsed mark is cleared and the next renewal date set; history
    names them. Entitlements the `registration.lapse` rule suspended are not lifted here: the
    control run queues them for a delegate to reinstate.

    The same people as `registration_mark_lapsed` may do it; the next renewal date must be
    after today; a registration that is neither marked lapsed nor past its renewal date is
    refused. Refusals change nothing.
    """
    today = timezone.localdate()
    if renewal_due_on <= today:
        raise ValidationError({"renewal_due_on": "The next renewal date must be in the future"})
    profile, reason = _registration_checked_by_delegate(
        referrer,
        by,
        reason,
        missing="Enter how you know the registration is current",
        doing="confirm {whose} registration",
    )
    if not profile.registration_lapsed and profile.registration_expires_on >= today:
        raise ValidationError(f"{profile.user.full_name}'s registration is already current")
    profile.registration_lapsed = False
    profile.registration_expires_on = renewal_due_on
    save_attributed(profile, by=by, reason=f"Registration confirmed current: {reason}"[:100])
    notification_send(
        user=profile.user,
        subject="Your professional registration has been confirmed as current",
        body=f"{by.full_name} confirmed your {profile.regulator} registration "
        f"{profile.registration_number} is current, next due for renewal on "
        f"{renewal_due_on:%d %B %Y}: {reason}\n\nAn entitlement delegate will reinstate any "
        "entitlement that was suspended while it had lapsed.",
    )
    return profile


@transaction.atomic
def employment_create(
    *,
    referrer: ReferrerProfile,
    organisation: Organisation,
    job_title: str,
    level: str,
    starts_on: datetime.date,
    department: Department | None = None,
    clinical_supervisor: User | None = None,
    ends_on: datetime.date | None = None,
    by: User | None,
) -> Employment:
    """Record that `referrer` works at `organisation`; they become a referrer there."""
    employment = Employment(
        referrer=referrer,
        organisation=organisation,
        job_title=job_title,
        level=level,
        department=department,
        clinical_supervisor=clinical_supervisor,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    employment.full_clean()
    save_attributed(employment, by=by, reason="Employment recorded")
    role_assign(user=referrer.user, organisation=organisation, role=Role.REFERRER, by=by)
    if clinical_supervisor is not None:
        role_assign(
            user=clinical_supervisor,
            organisation=organisation,
            role=Role.CLINICAL_SUPERVISOR,
            by=by,
        )
    return employment


@transaction.atomic
def employment_end(*, employment: Employment, ends_on: datetime.date, by: User) -> Employment:
    """Record the last day of an employment. The record itself stays."""
    employment = Employment.objects.select_for_update().get(pk=employment.pk)
    if employment.ends_on is not None and employment.ends_on <= ends_on:
        return employment
    employment.ends_on = max(ends_on, employment.starts_on)
    employment.full_clean()
    save_attributed(employment, by=by, reason="Employment ended")
    return employment


def notification_send(*, user: User, subject: str, body: str = "", url: str = "") -> Notification:
    """Tell `user` something: an in-app notification now, and an e-mail once the surrounding
    transaction commits (so a change that rolls back tells nobody anything)."""
    notification = Notification.objects.create(user=user, subject=subject, body=body, url=url)
    if user.is_active and user.email:
        text = body
        if url:
            text = f"{body}\n\n{settings.SITE_URL.rstrip('/')}{url}".strip()
        # Through the outbox: sent once this commits, or later if the broker is down then.
        outbox_enqueue(
            task=email_send.name, kwargs={"to": user.email, "subject": subject, "body": text}
        )
    return notification


def notifications_read(*, user: User, ids: list[int] | None = None) -> int:
    """Mark `user`'s notifications (or only `ids`) read; returns how many changed."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())


@transaction.atomic
def delegate_appointment_create(
    *,
    organisation: Organisation,
    delegate: User,
    valid_from: datetime.date,
    document_reference: str,
    by: User,
    all_modalities: bool = True,
    modalities: list[str] | None = None,
    departments=(),
    valid_to: datetime.date | None = None,
) -> DelegateAppointment:
    """Principle 1: appoint `delegate` to grant entitlement at `organisation`."""
    departments = list(departments)
    if any(d.organisation_id != organisation.id for d in departments):
        raise ValidationError({"departments": "Select departments of this organisation"})
    appointment = DelegateAppointment(
        organisation=organisation,
        delegate=delegate,
        all_modalities=all_modalities,
        modalities=[] if all_modalities else sorted(set(modalities or [])),
        valid_from=valid_from,
        valid_to=valid_to,
        appointed_by=by,
        document_reference=document_reference,
    )
    appointment.full_clean()
    save_attributed(appointment, by=by, reason="Delegate appointed")
    appointment.departments.set(departments)
    role_assign(user=delegate, organisation=organisation, role=Role.ENTITLEMENT_DELEGATE, by=by)
    return appointment


@transaction.atomic
def delegate_appointment_end(
    *, appointment: DelegateAppointment, ends_on: datetime.date, by: User
) -> DelegateAppointment:
    """End an appointment on `ends_on`. The appointment itself stays on record."""
    appointment = DelegateAppointment.objects.select_for_update().get(pk=appointment.pk)
    if appointment.valid_to is not None and appointment.valid_to <= ends_on:
        raise ValidationError({"valid_to": "This appointment already ends on or before that date"})
    appointment.valid_to = ends_on
    appointment.full_clean()
    save_attributed(appointment, by=by, reason="Delegate appointment ended")
    return appointment


def agreement_create(
    *,
    imaging_provider: Organisation,
    referring_organisation: Organisation,
    valid_from: datetime.date,
    document_reference: str,
    by: User,
    valid_to: datetime.date | None = None,
) -> SharedResponsibilityAgreement:
    """Record a shared-responsibility arrangement (IR(ME)R 2024) between two organisations."""
    agreement = SharedResponsibilityAgreement(
        imaging_provider=imaging_provider,
        referring_organisation=referring_organisation,
        valid_from=valid_from,
        valid_to=valid_to,
        document_reference=document_reference,
        recorded_by=by,
    )
    agreement.full_clean()
    save_attributed(agreement, by=by, reason="Shared-responsibility agreement recorded")
    return agreement
