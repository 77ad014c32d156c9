"""The objects the access matrix (test_access_matrix.py) fills URLs with.

Two of everything: *ours*, belonging to the trust RDZ and its people (Priya the referrer, her
supervisor, her delegate...), and *theirs*, belonging to the other trust RX9 and its people
(Sam, the other referrer). Built once, through the services, for the one test that walks the
whole URL configuration.
"""

import datetime
from dataclasses import dataclass, field

from django.contrib.auth.tokens import default_token_generator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from audits import services as audit_services
from audits.models import AuditAction
from entitlements import services as entitlement_services
from entitlements.models import ChangeKind, ProcedureVersion
from entitlements.services import Rule
from referrers.models import DelegateAppointment, OrganisationRole, Role
from tests.factories import EmploymentFactory, ReferrerProfileFactory, UserFactory, give_role
from tests.journeys import PDF_BYTES, apply, catalogue_at, grant, procedure_at
from training import services as training_services


@dataclass
class Side:
    """The objects of one side (ours or theirs), by the URL keyword they fill."""

    ods_code: str
    values: dict = field(default_factory=dict)


def _record(profile, by, *, certificate: bool):
    return training_services.training_record_add(
        referrer=profile,
        by=by,
        kind="radiation_protection",
        provider="e-Learning for Healthcare",
        title="IR(ME)R for referrers",
        completed_on=datetime.date(2026, 1, 14),
        certificate=SimpleUploadedFile("certificate.pdf", PDF_BYTES) if certificate else None,
    )


def _side(
    *,
    organisation,
    referrer,
    supervisor,
    delegate,
    admin,
    governance,
    practitioner,
    colleague_name,
) -> dict:
    """One trust's objects: an entitlement of its referrer (granted), a draft application of
    theirs (clinical evaluation), a colleague's application awaiting endorsement and another
    under review, a change notice, letters, a bundle, a RIS export, training records and a
    lapse, a delegate appointment, a role, a catalogue entry and procedure version 1."""
    catalogue = catalogue_at(organisation)
    version = procedure_at(organisation, by=admin)
    application = apply(
        referrer, organisation, [catalogue["xr_chest"]], supervisor=supervisor, until="endorsed"
    )
    entitlement = grant(application, delegate)
    draft = apply(
        referrer,
        organisation,
        [catalogue["xr_chest"]],
        supervisor=supervisor,
        until="draft",
        kind="clinical_evaluation",
    )
    colleague = ReferrerProfileFactory(
        user=UserFactory(full_name=colleague_name), registration_number=colleague_name[:8]
    )
    EmploymentFactory(referrer=colleague, organisation=organisation)
    give_role(colleague.user, organisation, Role.REFERRER)
    awaiting = apply(colleague.user, organisation, [catalogue["xr_chest"]], supervisor=supervisor)
    under_review = apply(
        colleague.user,
        organisation,
        [catalogue["xr_chest"]],
        supervisor=supervisor,
        until="endorsed",
        kind="clinical_evaluation",
    )
    notice = entitlement_services.change_notify(
        entitlement=entitlement,
        by=referrer,
        kind=ChangeKind.DEPARTMENT,
        details="Moved to the minor injuries unit",
        effective_on=timezone.localdate(),
    )
    letter = entitlement.letters.order_by("pk").first()
    bundle = entitlement_services.letter_bundle_request(
        organisation=organisation, by=governance, filters={}
    )
    export = entitlement_services.ris_export_build(
        organisation=organisation, for_date=timezone.localdate()
    )
    record = _record(referrer.referrer_profile, referrer, certificate=True)
    lapse = training_services.lapse_open(
        entitlement=entitlement,
        training_kind="radiation_protection",
        lapsed_on=timezone.localdate(),
        by=Rule(ProcedureVersion.objects.get(pk=version.pk), "training.lapse"),
        reason="Radiation protection training lapsed",
        suspended_whole=False,
        scope_item_ids=[],
    )
    cycle = audit_services.audit_cycle_schedule(entitlement=entitlement, by=delegate)
    # An action is set on a submitted audit; submitting needs a full extract, which the
    # audit tests cover: here the row is made directly, as a factory would.
    action = AuditAction.objects.create(
        cycle=cycle,
        description="Re-audit CT head requests",
        owner=referrer.full_name,
        due_on=timezone.localdate() + datetime.timedelta(days=30),
        created_by=delegate,
    )
    report = audit_services.inappropriate_referral_record(
        organisation=organisation,
        by=practitioner,
        referrer=referrer.referrer_profile,
        examination=catalogue["xr_chest"],
        referred_on=timezone.localdate(),
        category="not_meeting_guidelines",
        details="Chest X-ray requested without an indication",
    )
    return {
        "cycle": cycle,
        "action": action,
        "report": report,
        "application": draft,
        "scope_item": draft.scope_items.order_by("pk").first(),
        "evidence": draft.evidence.order_by("pk").first(),
        "granted_application": application,
        "awaiting_endorsement": awaiting,
        "under_review": under_review,
        "entitlement": entitlement,
        "notice": notice,
        "letter": letter,
        "bundle": bundle,
        "export": export,
        "record": record,
        "lapse": lapse,
        "referrer_profile": referrer.referrer_profile,
        "appointment": DelegateAppointment.objects.get(delegate=delegate),
        "role": OrganisationRole.objects.get(user=governance, role=Role.GOVERNANCE_LEAD),
        "examination": catalogue["xr_chest"],
        "version": version,
        "user": referrer,
    }


def build(personas: dict) -> tuple[Side, Side]:
    p = personas
    other_supervisor = give_role(
        UserFactory(full_name="Olive Othersupervisor"),
        p["other_trust"],
        Role.CLINICAL_SUPERVISOR,
    )
    ours = _side(
        organisation=p["trust"],
        referrer=p["referrer"],
        supervisor=p["supervisor"],
        delegate=p["delegate"],
        admin=p["org_admin"],
        governance=p["governance_lead"],
        practitioner=p["practitioner"],
        colleague_name="Colin Colleague",
    )
    theirs = _side(
        organisation=p["other_trust"],
        referrer=p["other_referrer"],
        supervisor=other_supervisor,
        delegate=p["other_trust_delegate"],
        admin=p["other_trust_admin"],
        governance=p["other_trust_governance_lead"],
        practitioner=give_role(
            UserFactory(full_name="Petra Otherpractitioner"),
            p["other_trust"],
            Role.IRMER_PRACTITIONER,
        ),
        colleague_name="Tess Theircolleague",
    )
    return Side("RDZ", ours), Side("RX9", theirs)


def kwargs_for(name: str, route_kwargs: list[str], side: Side) -> dict:
    """The URL keyword arguments of `name` filled from `side`'s objects."""
    o = side.values
    pk_object = {
        # audits
        "audit": "cycle",
        "audit_submit": "cycle",
        "audit_review": "cycle",
        "audit_action_add": "cycle",
        "audit_action_done": "action",
        "audit_action_done_at": "action",
        "inappropriate_referral_new": "referrer_profile",
        "inappropriate_referral_review": "report",
        # referrers
        "delegate_appointment_end": "appointment",
        "role_remove": "role",
        # catalogue and procedure
        "examination_edit": "examination",
        # applications (the referrer's own)
        "application": "application",
        "application_employment": "application",
        "application_service_need": "application",
        "application_scope": "application",
        "application_scope_add": "application",
        "application_scope_edit": "application",
        "application_scope_remove": "application",
        "application_supervision": "application",
        "application_evidence": "application",
        "evidence_remove": "application",
        "application_check": "application",
        "application_submitted": "application",
        "application_withdraw": "application",
        "evidence_download": "evidence",
        "endorsement": "awaiting_endorsement",
        "application_review": "under_review",
        "application_decide": "under_review",
        "application_narrow": "under_review",
        # entitlements
        "entitlement": "entitlement",
        "entitlement_timeline": "entitlement",
        "change_notify": "entitlement",
        "change_notified": "entitlement",
        "variation_start": "entitlement",
        "entitlement_manage": "entitlement",
        "entitlement_history": "entitlement",
        "entitlement_suspend": "entitlement",
        "entitlement_reinstate": "entitlement",
        "entitlement_revoke": "entitlement",
        "change_notice_acknowledge": "notice",
        "letter_download": "letter",
        "letter_status": "letter",
        "letter_bundle": "bundle",
        "letter_bundle_status": "bundle",
        "letter_bundle_download": "bundle",
        "ris_export_download": "export",
        # training
        "training_certificate": "record",
        "training_lapse_reinstate": "lapse",
        "training_referrer": "referrer_profile",
        "training_record_add_for": "referrer_profile",
        "registration_mark_lapsed": "referrer_profile",
        "registration_confirm_renewed": "referrer_profile",
        "training_record_review": "record",
        "training_record_verify": "record",
        "training_record_reject": "record",
    }
    values = {}
    for key in route_kwargs:
        if key == "ods_code":
            values[key] = side.ods_code
        elif key == "pk":
            values[key] = o[pk_object[name]].pk
        elif key == "item_pk":
            values[key] = o["scope_item"].pk
        elif key == "evidence_pk":
            values[key] = o["evidence"].pk
        elif key == "notice_pk":
            values[key] = o["notice"].pk
        elif key == "number":
            values[key] = o["version"].number
        elif key == "kind":
            values[key] = "register"
        elif key == "code":
            values[key] = o["letter"].verification_code
        elif key == "resource_id":
            values[key] = o["entitlement"].reference
        elif key == "uidb64":
            values[key] = urlsafe_base64_encode(force_bytes(o["user"].pk))
        elif key == "token":
            values[key] = default_token_generator.make_token(o["user"])
        else:
            raise KeyError(f"{name}: no object for <{key}>")
    return values
