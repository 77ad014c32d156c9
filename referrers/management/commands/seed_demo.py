"""`python manage.py seed_demo`: load a fictional integrated care system to try the product on.

Idempotent: everything is looked up by its natural key (ODS code, e-mail, examination code,
procedure version number) and only what is missing is created, so a second run changes
nothing. Every write goes through the services, with history naming the demo superuser (or
the demo administrator, for what an administrator would do). Refuses to run against
production settings.
"""

import datetime
import os

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from entitlements import services as entitlement_services
from entitlements.modalities import IONISING_MODALITIES, Modality
from entitlements.models import (
    Application,
    Examination,
    ExaminationGroup,
    Procedure,
    ProcedureVersion,
)
from referrers import demo_data as data
from referrers import services
from referrers.attribution import save_attributed
from referrers.models import (
    DelegateAppointment,
    Department,
    Employment,
    Organisation,
    ReferrerProfile,
    Role,
    SharedResponsibilityAgreement,
    User,
)

PRODUCTION_SETTINGS_SUFFIX = ".production"


def production_settings_in_use() -> str | None:
    """The production settings module in use, if any (from settings or the environment)."""
    for module in (
        getattr(settings, "SETTINGS_MODULE", None),
        os.environ.get("DJANGO_SETTINGS_MODULE"),
    ):
        if module and (module == "production" or module.endswith(PRODUCTION_SETTINGS_SUFFIX)):
            return module
    return None


class Command(BaseCommand):
    help = (
        "Load demo organisations, a catalogue, a published procedure, referrers and one "
        f"sign-in per role (password {data.DEMO_PASSWORD}). Safe to run again."
    )

    def handle(self, *args, **options):
        module = production_settings_in_use()
        if module:
            raise CommandError(
                f"seed_demo refuses to run with production settings ({module}): it creates "
                f"accounts with a published password. Use config.settings.local."
            )
        seeder = DemoSeeder(today=timezone.localdate())
        with transaction.atomic():
            seeder.run()
        if seeder.created:
            self.stdout.write(f"Demo data loaded: {seeder.created} records created.")
        else:
            self.stdout.write("Demo data already loaded: nothing changed.")
        self.stdout.write(sign_in_block())


def sign_in_block() -> str:
    rows = [*data.DEMO_LOGINS, ("Django admin (superuser)", data.SUPERUSER)]
    width = max(len(role) for role, _ in rows)
    lines = [
        "",
        "=" * 72,
        f"  Demo site: {data.DEMO_URL}",
        f"  Django admin: {data.DEMO_URL}django-admin/",
        "",
        f"  {'Role'.ljust(width)}  E-mail",
        f"  {'-' * width}  {'-' * 26}",
        *(f"  {role.ljust(width)}  {person.email}" for role, person in rows),
        "",
        f"  Password for every demo account: {data.DEMO_PASSWORD}",
        "=" * 72,
        "",
    ]
    return "\n".join(lines)


class DemoSeeder:
    """Creates whatever of the demo data is missing. `created` counts what it created."""

    def __init__(self, *, today: datetime.date):
        self.today = today
        self.created = 0
        self.users: dict[str, User] = {}
        self.organisations: dict[str, Organisation] = {}
        self.departments: dict[tuple[str, str], Department] = {}

    def run(self) -> None:
        self.superuser = self._superuser()
        self._organisations()
        self._departments()
        self._demo_logins()
        self._supervisors()
        self._roles()
        self._catalogue()
        self._procedure()
        self._delegate_appointment()
        self._agreement()
        self._referrers()
        self._applications()
        self._training_records()

    # --- people ----------------------------------------------------------------------------

    def _user(self, person: data.PersonSpec, *, password: str | None) -> User:
        user = User.objects.filter(email=person.email).first()
        if user is None:
            user = services.user_create(
                email=person.email, full_name=person.full_name, password=password, by=self.superuser
            )
            self.created += 1
        self.users[person.key] = user
        return user

    def _superuser(self) -> User:
        person = data.SUPERUSER
        user = User.objects.filter(email=person.email).first()
        if user is None:
            user = services.user_create(
                email=person.email, full_name=person.full_name, password=data.DEMO_PASSWORD, by=None
            )
            # No service makes superusers (only `createsuperuser` and this demo do), so the
            # flags are set here, with history saying why.
            user.is_staff = user.is_superuser = True
            save_attributed(user, by=None, reason="Demo superuser")
            self.created += 1
        self.users[person.key] = user
        return user

    def _demo_logins(self) -> None:
        for _role, person in data.DEMO_LOGINS:
            self._user(person, password=data.DEMO_PASSWORD)

    def _supervisors(self) -> None:
        # Named on employments only; they have no password and cannot sign in.
        for person in data.SUPERVISORS:
            self._user(person, password=None)

    def _roles(self) -> None:
        """Roles that no employment or appointment gives: governance, practitioner, admin."""
        acute = self.organisations[data.ACUTE_TRUST]
        for key, role in (
            ("admin", Role.ORGANISATION_ADMINISTRATOR),
            ("governance", Role.GOVERNANCE_LEAD),
            ("practitioner", Role.IRMER_PRACTITIONER),
        ):
            user = self.users[key]
            if not user.organisation_roles.filter(organisation=acute, role=role).exists():
                services.role_assign(user=user, organisation=acute, role=role, by=self.superuser)
                self.created += 1

    # --- organisations ---------------------------------------------------------------------

    def _organisations(self) -> None:
        for spec in data.ORGANISATIONS:
            organisation = Organisation.objects.filter(ods_code=spec.ods_code).first()
            if organisation is None:
                organisation = services.organisation_create(
                    ods_code=spec.ods_code,
                    name=spec.name,
                    kind=spec.kind,
                    parent=self.organisations[spec.parent] if spec.parent else None,
                    by=self.superuser,
                )
                self.created += 1
            self.organisations[spec.ods_code] = organisation

    def _departments(self) -> None:
        for ods_code, name, site in data.DEPARTMENTS:
            organisation = self.organisations[ods_code]
            department = Department.objects.filter(organisation=organisation, name=name).first()
            if department is None:
                department = services.department_create(
                    organisation=organisation, name=name, site_ods_code=site, by=self.superuser
                )
                self.created += 1
            self.departments[(ods_code, name)] = department

    # --- the acute trust's catalogue and procedure ------------------------------------------

    def _catalogue(self) -> None:
        acute = self.organisations[data.ACUTE_TRUST]
        admin = self.users["admin"]
        existing = set(
            Examination.objects.filter(organisation=acute).values_list("code", flat=True)
        )
        for spec in data.EXAMINATIONS:
            if spec.code in existing:
                continue
            entitlement_services.examination_create(
                organisation=acute,
                code=spec.code,
                name=spec.name,
                modality=spec.modality,
                body_area=spec.body_area,
                ionising=spec.modality in IONISING_MODALITIES,
                contrast=spec.contrast,
                mri=spec.modality == Modality.MR,
                by=admin,
            )
            self.created += 1
        by_code = {e.code: e for e in Examination.objects.filter(organisation=acute)}
        for name, codes in data.EXAMINATION_GROUPS.items():
            if ExaminationGroup.objects.filter(organisation=acute, name=name).exists():
                continue
            entitlement_services.examination_group_create(
                organisation=acute,
                name=name,
                examinations=[by_code[code] for code in codes],
                by=admin,
            )
            self.created += 1

    def _procedure(self) -> None:
        acute = self.organisations[data.ACUTE_TRUST]
        admin = self.users["admin"]
        rules = dict(data.PROCEDURE_VERSION)
        number = rules.pop("number")
        if ProcedureVersion.objects.filter(procedure__organisation=acute, number=number).exists():
            return
        if Procedure.objects.filter(organisation=acute).exists():
            # A version would be numbered after the ones already there; leave them alone.
            return
        version = entitlement_services.procedure_version_create_draft(
            organisation=acute,
            rules=rules,
            training_rules=[
                entitlement_services.TrainingRuleData(kind, required_for, months)
                for kind, required_for, months in data.TRAINING_RULES
            ],
            by=admin,
            procedure_title=data.PROCEDURE_TITLE,
        )
        # The version must already be in force, so it starts in the past; publishing refuses a
        # past start date as of today, so it is published as of the day the committee
        # approved it (before its start date). `published_at` is still the real time.
        entitlement_services.procedure_version_publish(
            version=version, by=admin, today=data.PROCEDURE_PUBLISHED_ON
        )
        self.created += 1

    # --- appointments and agreements --------------------------------------------------------

    def _delegate_appointment(self) -> None:
        acute = self.organisations[data.ACUTE_TRUST]
        delegate = self.users["delegate"]
        spec = data.DELEGATE_APPOINTMENT
        if DelegateAppointment.objects.filter(
            organisation=acute, delegate=delegate, document_reference=spec["document_reference"]
        ).exists():
            return
        services.delegate_appointment_create(
            organisation=acute,
            delegate=delegate,
            valid_from=spec["valid_from"],
            document_reference=spec["document_reference"],
            all_modalities=True,
            by=self.users["admin"],
        )
        self.created += 1

    def _agreement(self) -> None:
        spec = data.AGREEMENT
        provider = self.organisations[spec["imaging_provider"]]
        referring = self.organisations[spec["referring_organisation"]]
        if SharedResponsibilityAgreement.objects.filter(
            imaging_provider=provider,
            referring_organisation=referring,
            document_reference=spec["document_reference"],
        ).exists():
            return
        services.agreement_create(
            imaging_provider=provider,
            referring_organisation=referring,
            valid_from=spec["valid_from"],
            document_reference=spec["document_reference"],
            by=self.users["admin"],
        )
        self.created += 1

    # --- applications and entitlements ------------------------------------------------------

    def _applications(self) -> None:
        for spec in data.APPLICATIONS:
            _apply(self, spec)

    # --- training records -------------------------------------------------------------------

    def _training_records(self) -> None:
        """Each referrer adds their record; the demo delegate verifies the verified ones. A
        record is known by its referrer, kind and title, so a second run adds nothing."""
        from dateutil.relativedelta import relativedelta

        from training import services as training_services
        from training.models import TrainingRecord

        emails = {spec.key: spec.email for spec in data.REFERRERS}
        for spec in data.TRAINING_RECORDS:
            user = User.objects.get(email=emails[spec.referrer])
            profile = user.referrer_profile
            if TrainingRecord.objects.filter(
                referrer=profile, kind=spec.kind, title=spec.title
            ).exists():
                continue
            record = training_services.training_record_add(
                referrer=profile,
                by=user,
                kind=spec.kind,
                provider=spec.provider,
                title=spec.title,
                completed_on=self.today
                - relativedelta(months=spec.months_ago)
                + datetime.timedelta(days=spec.days_later),
                hours=spec.hours,
            )
            if spec.verified:
                training_services.training_record_verify(record=record, by=self.users["delegate"])
            self.created += 1

    # --- referrers --------------------------------------------------------------------------

    def _referrers(self) -> None:
        for spec in data.REFERRERS:
            user = self.users.get(spec.key) or self._user(
                data.PersonSpec(spec.key, spec.email, spec.full_name), password=None
            )
            profile = ReferrerProfile.objects.filter(user=user).first()
            if profile is None:
                profile = services.referrer_profile_save(
                    user=user,
                    profession=spec.profession,
                    regulator=spec.regulator,
                    registration_number=spec.registration_number,
                    registration_expires_on=self.today
                    + datetime.timedelta(days=spec.registration_expires_in_days),
                    by=self.superuser,
                )
                self.created += 1
            for employment in spec.employments:
                self._employment(profile, employment)

    def _employment(self, profile: ReferrerProfile, spec: data.EmploymentSpec) -> None:
        organisation = self.organisations[spec.organisation]
        if Employment.objects.filter(
            referrer=profile,
            organisation=organisation,
            job_title=spec.job_title,
            starts_on=spec.starts_on,
        ).exists():
            return
        services.employment_create(
            referrer=profile,
            organisation=organisation,
            job_title=spec.job_title,
            level=spec.level,
            starts_on=spec.starts_on,
            ends_on=spec.ends_on,
            department=self.departments[(spec.organisation, spec.department)]
            if spec.department
            else None,
            clinical_supervisor=self.users[spec.supervisor],
            by=self.superuser,
        )
        self.created += 1


# A one-page PDF standing in for a competency sign-off.
DEMO_EVIDENCE = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _apply(seeder: "DemoSeeder", spec: data.ApplicationSpec) -> None:
    """Take one demo referrer's application as far as `spec.stage`, through the services."""
    acute = seeder.organisations[data.ACUTE_TRUST]
    referrer = User.objects.get(
        email=next(r.email for r in data.REFERRERS if r.key == spec.referrer)
    )
    profile = referrer.referrer_profile
    if Application.objects.filter(referrer=profile).exists():
        return
    employment = profile.employments.get(organisation=acute)
    supervisor = employment.clinical_supervisor
    application = entitlement_services.application_start(
        by=referrer, employment_id=employment.pk, organisation_id=acute.pk, kind="referral"
    )
    entitlement_services.application_answer(
        application=application,
        by=referrer,
        service_need=spec.service_need,
        expected_volume=300,
        clinical_supervisor=supervisor,
        decision_line="The consultant in emergency medicine on shift",
        accountability_line="Clinical director for emergency medicine",
    )
    for code in spec.examinations:
        entitlement_services.application_scope_item_add(
            application=application,
            by=referrer,
            request=entitlement_services.ScopeRequest(
                examination=Examination.objects.get(organisation=acute, code=code),
                age_min=16,
                settings=("ED", "MIU"),
                clinical_indications="As the iRefer guidelines for the presenting complaint",
            ),
        )
    for name in spec.groups:
        entitlement_services.application_scope_item_add(
            application=application,
            by=referrer,
            request=entitlement_services.ScopeRequest(
                group=ExaminationGroup.objects.get(organisation=acute, name=name),
                age_min=5,
                settings=("ED", "MIU"),
                clinical_indications="Suspected fracture after injury",
                exclusions="No pregnancy-possible patients under 16",
            ),
        )
    entitlement_services.evidence_add(
        application=application,
        by=referrer,
        upload=SimpleUploadedFile("competency-sign-off.pdf", DEMO_EVIDENCE),
        kind="competency",
        description="Signed competency assessment",
    )
    entitlement_services.application_submit(application=application, by=referrer)
    seeder.created += 1
    if spec.stage == "awaiting_endorsement":
        return
    entitlement_services.application_endorse(
        application=application, by=supervisor, outcome="endorsed", comment="Service need agreed."
    )
    if spec.stage == "under_review":
        return
    delegate = seeder.users["delegate"]
    decision = entitlement_services.application_decide(
        application=application,
        by=delegate,
        outcome="granted",
        rationale="Training, competency sign-off and service need meet the procedure.",
    )
    if spec.stage == "granted_item_suspended":
        entitlement = decision.entitlement
        item = entitlement.scope_items.filter(examination__code="XPELV").first()
        entitlement_services.entitlement_suspend(
            entitlement=entitlement,
            by=delegate,
            reason="Audit found pelvis requests outside the agreed indications; suspended "
            "pending a review with the supervisor.",
            scope_items=[item],
        )
