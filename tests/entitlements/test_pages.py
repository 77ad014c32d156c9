"""Each page renders with one h1, and the catalogue forms show problems on their fields."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from entitlements import services
from entitlements.models import Examination
from tests.factories import ExaminationFactory, UserFactory


def h1_count(response) -> int:
    return len(re.findall(r"<h1[\s>]", response.content.decode()))


@pytest.fixture
def catalogue(trust):
    return [
        ExaminationFactory(organisation=trust, code="XCHES", name="XR chest", body_area="Chest"),
        ExaminationFactory(
            organisation=trust,
            code="CHEAD",
            name="CT head",
            modality="CT",
            body_area="Head",
            contrast=True,
        ),
        ExaminationFactory(
            organisation=trust,
            code="MKNEL",
            name="MRI knee",
            modality="MR",
            body_area="Knee",
            ionising=False,
            mri=True,
            is_active=False,
        ),
    ]


def duplicate_ids(response) -> list[str]:
    ids = re.findall(r'\sid="([^"]+)"', response.content.decode())
    return sorted({i for i in ids if ids.count(i) > 1})


def test_every_page_renders_with_one_h1(client, trust, org_admin, catalogue, make_draft, today):
    draft = make_draft()
    published = services.procedure_version_publish(version=make_draft(), by=org_admin)
    client.force_login(org_admin)
    pages = [
        reverse("catalogue", args=["RDZ"]),
        reverse("examination_add", args=["RDZ"]),
        reverse("examination_edit", args=["RDZ", catalogue[0].pk]),
        reverse("catalogue_import", args=["RDZ"]),
        reverse("procedure_versions", args=["RDZ"]),
        reverse("procedure_version", args=["RDZ", draft.number]),
        reverse("procedure_version", args=["RDZ", published.number]),
        reverse("procedure_version_add", args=["RDZ"]),
        reverse("procedure_version_edit", args=["RDZ", draft.number]),
        reverse("procedure_version_edit", args=["RDZ", published.number]),
        reverse("procedure_version_publish", args=["RDZ", draft.number]),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert h1_count(response) == 1, url
        # A label or an error summary link would find the wrong element.
        assert duplicate_ids(response) == [], url


def test_the_catalogue_lists_flags_as_tags(client, catalogue, org_admin):
    client.force_login(org_admin)
    html = client.get(reverse("catalogue", args=["RDZ"])).content.decode()
    for text in ("Ionising", "Contrast", "MRI", "Not offered", "XCHES", "CT head"):
        assert text in html
    assert reverse("examination_edit", args=["RDZ", catalogue[0].pk]) in html
    assert reverse("catalogue_import", args=["RDZ"]) in html


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ({"modality": "CT"}, ["CT head"], ["XR chest", "MRI knee"]),
        ({"q": "knee"}, ["MRI knee"], ["XR chest", "CT head"]),
        ({"q": "xches"}, ["XR chest"], ["CT head", "MRI knee"]),
        ({"modality": "XR", "q": "head"}, [], ["XR chest", "CT head", "MRI knee"]),
        ({"modality": "nonsense"}, ["XR chest", "CT head", "MRI knee"], []),
    ],
)
def test_the_catalogue_filters_by_modality_and_search(
    client, catalogue, org_admin, query, shown, hidden
):
    client.force_login(org_admin)
    html = client.get(reverse("catalogue", args=["RDZ"]), query).content.decode()
    for name in shown:
        assert name in html
    for name in hidden:
        assert name not in html


def test_the_catalogue_is_paginated_without_extra_queries_per_row(
    client, trust, org_admin, settings, django_assert_max_num_queries
):
    settings.PAGE_SIZE = 20
    for n in range(45):
        ExaminationFactory(organisation=trust, code=f"X{n:03d}", name=f"XR part {n:03d}")
    client.force_login(org_admin)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("catalogue", args=["RDZ"]), {"modality": "XR", "page": 2})
    html = response.content.decode()
    assert "XR part 020" in html and "XR part 019" not in html
    assert "page=3" in html and "modality=XR" in html


def examination(**overrides):
    data = {
        "code": "XHAND",
        "name": "XR hand",
        "modality": "XR",
        "body_area": "Hand",
        "ionising": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (examination(code="XCHES"), "code", "Code XCHES is already used in this catalogue"),
        (examination(code=" xches "), "code", "Code XCHES is already used"),
        (examination(ionising=None), "ionising", "use ionising radiation"),
        (examination(modality="US"), "ionising", "do not use ionising radiation"),
        (examination(modality="MR", ionising=None), "mri", "must be flagged MRI"),
        (examination(mri="on"), "mri", "Only magnetic resonance"),
        (examination(modality=""), "modality", "Select a modality"),
        (examination(modality="XX"), "modality", "Select a modality"),
        (examination(name=""), "name", "Enter the name"),
        (examination(code="X" * 17), "code", "16 characters or fewer"),
    ],
)
def test_examination_problems_are_shown_on_their_field(
    client, trust, org_admin, catalogue, data, field, message
):
    client.force_login(org_admin)
    before = Examination.objects.count()
    response = client.post(reverse("examination_add", args=["RDZ"]), data)
    assert response.status_code == 200
    errors = response.context_data["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    html = response.content.decode()
    assert "There is a problem" in html and f'href="#id_{field}"' in html
    assert h1_count(response) == 1
    assert Examination.objects.count() == before


def test_an_examination_keeps_its_own_code_when_edited(client, org_admin, catalogue):
    client.force_login(org_admin)
    xr = catalogue[0]
    response = client.post(
        reverse("examination_edit", args=["RDZ", xr.pk]),
        examination(code="XCHES", name="XR chest PA", body_area="Chest"),
    )
    assert response.status_code == 302
    xr.refresh_from_db()
    assert xr.name == "XR chest PA"
    assert xr.is_active is False  # the box was not ticked


def test_a_code_taken_by_another_organisation_is_fine(client, other_trust, org_admin):
    ExaminationFactory(organisation=other_trust, code="XHAND")
    client.force_login(org_admin)
    assert client.post(reverse("examination_add", args=["RDZ"]), examination()).status_code == 302


def test_the_service_rejects_a_taken_code_with_a_field_message(trust, org_admin, catalogue):
    with pytest.raises(ValidationError) as error:
        services.examination_create(
            organisation=trust,
            code="xches",
            name="Dup",
            modality="XR",
            body_area="Chest",
            ionising=True,
            contrast=False,
            mri=False,
            by=org_admin,
        )
    assert "code" in error.value.message_dict


def test_the_admin_shows_the_catalogue_and_procedures_read_only_to_superusers(
    client, trust, org_admin, catalogue, make_draft
):
    version = make_draft()
    superuser = UserFactory(email="root@example.nhs.uk", is_staff=True, is_superuser=True)
    client.force_login(superuser)
    for url in (
        reverse("admin:entitlements_examination_changelist"),
        reverse("admin:entitlements_examination_change", args=[catalogue[0].pk]),
        reverse("admin:entitlements_procedureversion_changelist"),
        reverse("admin:entitlements_procedureversion_change", args=[version.pk]),
        reverse("admin:entitlements_procedureversion_history", args=[version.pk]),
    ):
        assert client.get(url).status_code == 200, url
    assert client.get(reverse("admin:entitlements_procedureversion_add")).status_code == 403
    client.force_login(org_admin)
    response = client.get(reverse("admin:entitlements_examination_changelist"))
    assert response.status_code == 302


def test_the_error_summary_follows_the_order_of_the_page(client, org_admin, make_draft, today):
    from .conftest import form_data

    make_draft()
    client.force_login(org_admin)
    response = client.post(
        reverse("procedure_version_add", args=["RDZ"]),
        form_data(
            document_reference="",
            mri_safety_required_for="mri",
            warning_lead_days="x",
            feedback_action="",
        ),
    )
    html = response.content.decode()
    summary = html[
        html.index("nhsuk-error-summary") : html.index("</ul>", html.index("nhsuk-error-summary"))
    ]
    order = re.findall(r'href="#id_([a-z_]+)', summary)
    assert order == [
        "document_reference",
        "mri_safety_validity_months",
        "warning_lead_days",
        "feedback_action",
    ]
