"""Nobody sees or changes another organisation's catalogue or procedure."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from entitlements import services
from entitlements.models import Examination, ProcedureVersion
from tests.factories import ExaminationFactory

from .conftest import form_data

EXAMINATION = {
    "code": "XHAND",
    "name": "Hand",
    "modality": "XR",
    "body_area": "Hand",
    "ionising": "on",
    "is_active": "on",
}


@pytest.fixture
def theirs(other_trust, other_trust_admin, make_draft, today):
    """The other trust's catalogue entry, published version 1 and draft version 2."""
    examination = ExaminationFactory(organisation=other_trust, code="XCHES", name="Their chest")
    published = make_draft(organisation=other_trust, by=other_trust_admin)
    services.procedure_version_publish(version=published, by=other_trust_admin)
    draft = make_draft(
        organisation=other_trust, by=other_trust_admin, effective_from=today.replace(year=2027)
    )
    return examination, published, draft


def snapshot():
    return (
        sorted(Examination.objects.values_list("organisation_id", "code", "name")),
        sorted(
            ProcedureVersion.objects.values_list("procedure_id", "number", "status", "grace_days")
        ),
        Examination.history.count(),
        ProcedureVersion.history.count(),
    )


def other_trust_pages(theirs):
    examination, published, draft = theirs
    return [
        ("get", reverse("catalogue", args=["RX9"]), None),
        ("get", reverse("examination_add", args=["RX9"]), None),
        ("post", reverse("examination_add", args=["RX9"]), EXAMINATION),
        ("get", reverse("examination_edit", args=["RX9", examination.pk]), None),
        ("post", reverse("examination_edit", args=["RX9", examination.pk]), EXAMINATION),
        ("get", reverse("catalogue_import", args=["RX9"]), None),
        ("get", reverse("procedure_versions", args=["RX9"]), None),
        ("get", reverse("procedure_version", args=["RX9", 1]), None),
        ("get", reverse("procedure_version_add", args=["RX9"]), None),
        ("post", reverse("procedure_version_add", args=["RX9"]), form_data()),
        ("get", reverse("procedure_version_edit", args=["RX9", draft.number]), None),
        (
            "post",
            reverse("procedure_version_edit", args=["RX9", draft.number]),
            form_data(grace_days="1"),
        ),
        ("get", reverse("procedure_version_publish", args=["RX9", draft.number]), None),
        ("post", reverse("procedure_version_publish", args=["RX9", draft.number]), {}),
    ]


def test_an_administrator_of_one_trust_is_refused_everything_at_another(client, org_admin, theirs):
    before = snapshot()
    client.force_login(org_admin)
    for method, url, data in other_trust_pages(theirs):
        response = getattr(client, method)(url, data or {})
        assert response.status_code in (403, 404), (method, url, response.status_code)
    response = client.post(
        reverse("catalogue_import", args=["RX9"]),
        {
            "file": SimpleUploadedFile(
                "c.csv",
                b"code,name,modality,body_area,ionising,contrast,"
                b"mri\nXCHES,Mine now,XR,Chest,yes,no,no\n",
            )
        },
    )
    assert response.status_code in (403, 404)
    assert snapshot() == before


def test_another_trusts_examination_cannot_be_edited_through_our_url(client, org_admin, theirs):
    examination = theirs[0]
    before = snapshot()
    client.force_login(org_admin)
    url = reverse("examination_edit", args=["RDZ", examination.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, EXAMINATION).status_code == 404
    assert snapshot() == before


def test_another_trusts_version_numbers_are_not_found_through_our_url(client, org_admin, theirs):
    before = snapshot()
    client.force_login(org_admin)
    for name in ("procedure_version", "procedure_version_edit", "procedure_version_publish"):
        assert client.get(reverse(name, args=["RDZ", 2])).status_code == 404
    assert client.post(reverse("procedure_version_publish", args=["RDZ", 2])).status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("name", ["examination_add", "catalogue_import", "procedure_version_add"])
def test_someone_who_may_only_view_cannot_change(client, catalogue_viewer, name):
    client.force_login(catalogue_viewer)
    assert client.get(reverse(name, args=["RDZ"])).status_code == 403


def test_someone_who_may_only_view_sees_no_change_links(client, trust, catalogue_viewer):
    ExaminationFactory(organisation=trust)
    client.force_login(catalogue_viewer)
    catalogue = client.get(reverse("catalogue", args=["RDZ"]))
    assert catalogue.status_code == 200
    html = catalogue.content.decode()
    assert reverse("examination_add", args=["RDZ"]) not in html
    assert reverse("catalogue_import", args=["RDZ"]) not in html
    assert "/edit/" not in html
    versions = client.get(reverse("procedure_versions", args=["RDZ"])).content.decode()
    assert reverse("procedure_version_add", args=["RDZ"]) not in versions


def test_a_referrer_with_no_organisation_permission_is_refused(client, referrer):
    client.force_login(referrer)
    assert client.get(reverse("catalogue", args=["RDZ"])).status_code == 403
    assert client.get(reverse("procedure_versions", args=["RDZ"])).status_code == 403


def test_signed_out_people_are_sent_to_sign_in(client, trust):
    response = client.get(reverse("catalogue", args=["RDZ"]))
    assert response.status_code == 302
    assert reverse("login") in response.url
