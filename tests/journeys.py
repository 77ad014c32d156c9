"""Builders for the application journey, through the real services, for any test to use.

`catalogue_at(org)` gives three examinations (XR chest, CT head with contrast, MR knee);
`procedure_at(org)` publishes a procedure in force since 1 January 2025; `pdf_upload()` is a
small real PDF; `apply(referrer, ...)` runs a referrer's application to the state asked for.
"""

import datetime

from django.core.files.uploadedfile import SimpleUploadedFile

from entitlements import services
from entitlements.models import ProcedureStatus, TrainingKind
from entitlements.services import ScopeRequest, TrainingRuleData
from tests.factories import ExaminationFactory, ProcedureFactory, ProcedureVersionFactory

# A minimal, valid one-page PDF.
PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


def pdf_upload(name: str = "competency-sign-off.pdf", content: bytes = PDF_BYTES):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def catalogue_at(organisation) -> dict:
    return {
        "xr_chest": ExaminationFactory(
            organisation=organisation, code="XCHES", name="XR Chest", body_area="Chest"
        ),
        "ct_head": ExaminationFactory(
            organisation=organisation,
            code="CHEAC",
            name="CT Head with contrast",
            modality="CT",
            body_area="Head",
            contrast=True,
        ),
        "mr_knee": ExaminationFactory(
            organisation=organisation,
            code="MKNEE",
            name="MR Knee",
            modality="MR",
            body_area="Knee",
            ionising=False,
            mri=True,
        ),
    }


def procedure_at(organisation, *, by, effective_from=datetime.date(2025, 1, 1)):
    version = ProcedureVersionFactory(
        procedure=ProcedureFactory(organisation=organisation),
        status=ProcedureStatus.PUBLISHED,
        effective_from=effective_from,
        document_reference="RAD-POL-012 v4",
        created_by=by,
        published_by=by,
        published_at=datetime.datetime(2024, 12, 1, tzinfo=datetime.UTC),
    )
    for rule in (
        TrainingRuleData(TrainingKind.RADIATION_PROTECTION, "ionising", 36),
        TrainingRuleData(TrainingKind.CONTRAST_SAFETY, "contrast", 24),
        TrainingRuleData(TrainingKind.MRI_SAFETY, "mri", 24),
        TrainingRuleData(TrainingKind.REFERRAL_GUIDELINES, "all", 24),
    ):
        version.training_rules.create(**rule.__dict__)
    return version


def apply(
    referrer,
    organisation,
    examinations,
    *,
    supervisor,
    until: str = "submitted",
    kind: str = "referral",
    employment=None,
):
    """Run a referrer's application through the services: `until` is one of "draft",
    "submitted" (awaiting endorsement) or "endorsed" (under review). Each of `examinations`
    is an examination (asked for with the usual ED conditions) or a ScopeRequest."""
    employment = employment or referrer.referrer_profile.employments.get(organisation__isnull=False)
    application = services.application_start(
        by=referrer,
        employment_id=employment.pk,
        organisation_id=organisation.pk,
        kind=kind,
    )
    services.application_answer(
        application=application,
        by=referrer,
        service_need="ED advanced practice needs plain film and CT head requests.",
        expected_volume=400,
        clinical_supervisor=supervisor,
        decision_line="Consultant in emergency medicine on shift",
        accountability_line="Clinical lead for emergency medicine",
    )
    for examination in examinations:
        request = examination
        if not isinstance(request, ScopeRequest):
            request = ScopeRequest(
                examination=examination,
                age_min=16,
                age_max=None,
                settings=("ED", "MIU"),
                clinical_indications="Suspected fracture or as iRefer",
                exclusions="No pregnancy-possible patients",
            )
        services.application_scope_item_add(application=application, by=referrer, request=request)
    services.evidence_add(
        application=application, by=referrer, upload=pdf_upload(), kind="competency"
    )
    if until == "draft":
        return application
    services.application_submit(application=application, by=referrer)
    if until == "submitted":
        return application
    services.application_endorse(application=application, by=supervisor, outcome="endorsed")
    application.refresh_from_db()
    return application


def grant(application, delegate, *, rationale="Meets the criteria in RAD-POL-012."):
    decision = services.application_decide(
        application=application, by=delegate, outcome="granted", rationale=rationale
    )
    return decision.entitlement
