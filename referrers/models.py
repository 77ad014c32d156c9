"""People, organisations, roles, delegate appointments and shared-responsibility agreements."""

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from simple_history.models import HistoricalRecords

from entitlements.modalities import Modality

from .ods import normalise_ods_code, validate_ods_code_for_kind, validate_site_code
from .regulators import Profession, Regulator, validate_registration


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        if not email:
            raise ValueError("A user needs an e-mail address")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """Anyone who signs in. E-mail is the login."""

    email = models.EmailField("e-mail address", unique=True)
    full_name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        default=False, help_text="May use the Django admin (superusers only)."
    )
    date_joined = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name"]
        # The register lists people by name: with this index its first page is read in name
        # order and stops after a page, instead of sorting every entitlement (50,000 rows).
        indexes = [models.Index(fields=["full_name"], name="user_full_name_idx")]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class OrganisationKind(models.TextChoices):
    NHS_TRUST = "nhs_trust", "NHS trust"
    GP_PRACTICE = "gp_practice", "GP practice"
    INDEPENDENT_PROVIDER = "independent_provider", "Independent provider"
    ICS = "ics", "Integrated care system (ICB)"


class Organisation(models.Model):
    """An NHS body with an ODS code. Several employers share one installation."""

    ods_code = models.CharField("ODS code", max_length=6, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=OrganisationKind.choices)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        limit_choices_to={"kind": OrganisationKind.ICS},
        help_text="The integrated care system this organisation belongs to.",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=F("id")), name="organisation_not_own_parent"
            ),
        ]
        # Object permissions granted on an organisation through roles (see roles.py).
        permissions = [
            ("view_people", "See the organisation's referrers and their employments"),
            ("manage_catalogue", "Maintain the examination catalogue"),
            ("manage_procedures", "Maintain the written procedures"),
            ("manage_appointments", "Maintain roles, departments, delegates and agreements"),
            ("decide_entitlements", "Decide applications and change entitlements"),
            ("view_register", "Look up the register of entitled referrers"),
            ("view_governance", "See governance reports and letters"),
            ("report_referrals", "Record inappropriate referrals"),
            ("supervise", "Act as a clinical supervisor"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.ods_code})"

    def clean(self) -> None:
        self.ods_code = normalise_ods_code(self.ods_code)
        if self.kind:
            validate_ods_code_for_kind(self.ods_code, self.kind)
        if self.parent_id and self.kind == OrganisationKind.ICS:
            raise ValidationError({"parent": "An integrated care system has no parent"})


class OrganisationUserObjectPermission(UserObjectPermissionBase):
    """Direct foreign-key object permission (faster than guardian's generic table)."""

    content_object = models.ForeignKey(Organisation, on_delete=models.CASCADE)


class OrganisationGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Organisation, on_delete=models.CASCADE)


class Department(models.Model):
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="departments"
    )
    name = models.CharField(max_length=200)
    site_ods_code = models.CharField("site ODS code", max_length=5, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="department_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.site_ods_code:
            self.site_ods_code = normalise_ods_code(self.site_ods_code)
            validate_site_code(self.site_ods_code, self.organisation.ods_code)


class ReferrerProfile(models.Model):
    """A registered professional who may refer: one per person."""

    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="referrer_profile")
    profession = models.CharField(max_length=40, choices=Profession.choices)
    regulator = models.CharField(max_length=8, choices=Regulator.choices)
    registration_number = models.CharField(max_length=12)
    registration_expires_on = models.DateField(
        help_text="When the registration must next be renewed."
    )
    registration_lapsed = models.BooleanField(
        default=False, help_text="Marked lapsed by a delegate after checking the register."
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["user__full_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["regulator", "registration_number"],
                name="referrer_registration_unique_per_regulator",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user.full_name} ({self.registration})"

    @property
    def registration(self) -> str:
        return f"{self.regulator}:{self.registration_number}"

    def clean(self) -> None:
        self.registration_number = validate_registration(
            self.regulator, self.registration_number, self.profession
        )


class LevelOfPractice(models.TextChoices):
    ENHANCED = "enhanced", "Enhanced"
    ADVANCED = "advanced", "Advanced"
    CONSULTANT = "consultant", "Consultant"


class Employment(models.Model):
    """A referrer in one job role at one organisation. Entitlements belong to one employment."""

    referrer = models.ForeignKey(
        ReferrerProfile, on_delete=models.PROTECT, related_name="employments"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="employments"
    )
    job_title = models.CharField(max_length=200)
    level = models.CharField("level of practice", max_length=16, choices=LevelOfPractice.choices)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="employments"
    )
    clinical_supervisor = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="supervisees"
    )
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="employment_ends_after_start",
            ),
        ]
        indexes = [models.Index(fields=["organisation", "ends_on"])]

    def __str__(self) -> str:
        return f"{self.job_title}, {self.organisation.name}"

    def is_current(self, on=None) -> bool:
        on = on or timezone.localdate()
        return self.starts_on <= on and (self.ends_on is None or self.ends_on >= on)

    def clean(self) -> None:
        if self.ends_on and self.starts_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": "The end date must be on or after the start date"})
        if self.department_id and self.department.organisation_id != self.organisation_id:
            raise ValidationError({"department": "Select a department of this organisation"})
        if self.clinical_supervisor_id and self.clinical_supervisor_id == self.referrer.user_id:
            raise ValidationError({"clinical_supervisor": "You cannot supervise yourself"})


class Role(models.TextChoices):
    REFERRER = "referrer", "Referrer"
    CLINICAL_SUPERVISOR = "clinical_supervisor", "Clinical supervisor"
    ENTITLEMENT_DELEGATE = "entitlement_delegate", "Entitlement delegate"
    GOVERNANCE_LEAD = "governance_lead", "Governance lead"
    IRMER_PRACTITIONER = "irmer_practitioner", "IR(ME)R practitioner"
    ORGANISATION_ADMINISTRATOR = "organisation_administrator", "Organisation administrator"


class OrganisationRole(models.Model):
    """A user holds a role at an organisation. Its object permissions follow (roles.py)."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="organisation_roles")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="roles")
    role = models.CharField(max_length=32, choices=Role.choices)
    granted_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    granted_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["organisation__name", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation", "role"], name="organisation_role_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.organisation.name}"


class DelegateAppointment(models.Model):
    """Principle 1: the employer appoints a named person to grant entitlement, within a scope."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="delegate_appointments"
    )
    delegate = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="delegate_appointments"
    )
    all_modalities = models.BooleanField(
        default=True, help_text="The appointment covers every modality."
    )
    modalities = models.JSONField(
        default=list, blank=True, help_text="The modalities covered, when not all."
    )
    departments = models.ManyToManyField(
        Department,
        blank=True,
        related_name="delegate_appointments",
        help_text="Leave empty for every department.",
    )
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    appointed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    document_reference = models.CharField(
        max_length=200, help_text="The board paper or letter that made the appointment."
    )
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords(m2m_fields=[departments])

    class Meta:
        ordering = ["-valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="delegate_appointment_valid_range",
            ),
            models.CheckConstraint(
                condition=Q(all_modalities=True) | ~Q(modalities=[]),
                name="delegate_appointment_names_modalities",
            ),
        ]
        indexes = [models.Index(fields=["organisation", "delegate", "valid_to"])]

    def __str__(self) -> str:
        return f"{self.delegate} — delegate at {self.organisation.name} from {self.valid_from}"

    def is_current(self, on=None) -> bool:
        on = on or timezone.localdate()
        return self.valid_from <= on and (self.valid_to is None or self.valid_to >= on)

    def covers_modalities(self, modalities) -> bool:
        return self.all_modalities or set(modalities) <= set(self.modalities)

    def modality_labels(self) -> list[str]:
        if self.all_modalities:
            return ["All modalities"]
        return [Modality(m).label for m in self.modalities]

    def clean(self) -> None:
        if self.valid_to and self.valid_from and self.valid_to < self.valid_from:
            raise ValidationError({"valid_to": "The end date must be on or after the start date"})
        unknown = set(self.modalities or []) - set(Modality.values)
        if unknown:
            raise ValidationError({"modalities": f"Unknown modality: {', '.join(sorted(unknown))}"})
        if not self.all_modalities and not self.modalities:
            raise ValidationError(
                {"modalities": "Select the modalities the appointment covers, or all modalities"}
            )


class SharedResponsibilityAgreement(models.Model):
    """IR(ME)R 2024: an imaging provider entitles referrers employed by another organisation."""

    imaging_provider = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="agreements_as_provider"
    )
    referring_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="agreements_as_referrer"
    )
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    document_reference = models.CharField(max_length=200)
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(imaging_provider=F("referring_organisation")),
                name="agreement_between_two_organisations",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="agreement_valid_range",
            ),
        ]
        indexes = [models.Index(fields=["imaging_provider", "referring_organisation"])]

    def __str__(self) -> str:
        return f"{self.imaging_provider.name} ↔ {self.referring_organisation.name}"

    def is_current(self, on=None) -> bool:
        on = on or timezone.localdate()
        return self.valid_from <= on and (self.valid_to is None or self.valid_to >= on)

    def clean(self) -> None:
        if self.imaging_provider_id and self.imaging_provider_id == self.referring_organisation_id:
            raise ValidationError(
                {"referring_organisation": "Select an organisation other than the imaging provider"}
            )
        if self.valid_to and self.valid_from and self.valid_to < self.valid_from:
            raise ValidationError({"valid_to": "The end date must be on or after the start date"})


class Notification(models.Model):
    """An in-app notification; the same message also goes by e-mail (services.notify)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at", "created_at"])]

    def __str__(self) -> str:
        return self.subject


class OutboxMessage(models.Model):
    """A Celery task to send, written in the same transaction as the change that needs it
    (referrers/outbox.py). A change that commits keeps its message even if the broker is down
    then; one that rolls back leaves none. Sent when the broker takes it, by the commit
    itself, or later by the sweep (beat, worker start, `manage.py outbox_send`)."""

    task = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["created_at", "id"],
                condition=Q(sent_at__isnull=True),
                name="outbox_unsent_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.task} ({'sent' if self.sent_at else 'waiting'})"
