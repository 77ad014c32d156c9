"""History names the person who changed the catalogue or published a procedure."""

from django.urls import reverse

from entitlements import services
from entitlements.models import Examination


def test_adding_and_changing_an_examination_through_the_pages_names_the_user(
    client, trust, org_admin
):
    client.force_login(org_admin)
    response = client.post(
        reverse("examination_add", args=["RDZ"]),
        {
            "code": "cchapc",
            "name": "CT chest",
            "modality": "CT",
            "body_area": "Chest",
            "ionising": "on",
            "contrast": "on",
        },
    )
    assert response.status_code == 302
    examination = Examination.objects.get(organisation=trust)
    assert examination.code == "CCHAPC"

    response = client.post(
        reverse("examination_edit", args=["RDZ", examination.pk]),
        {
            "code": "CCHAPC",
            "name": "CT chest, abdomen and pelvis",
            "modality": "CT",
            "body_area": "Chest",
            "ionising": "on",
            "contrast": "on",
            "is_active": "on",
        },
    )
    assert response.status_code == 302

    history = list(examination.history.order_by("history_date"))
    assert [(h.history_type, h.name, h.history_user) for h in history] == [
        ("+", "CT chest", org_admin),
        ("~", "CT chest, abdomen and pelvis", org_admin),
    ]
    assert history[0].history_change_reason == "Examination added"


def test_publishing_names_the_publisher_in_history(org_admin, delegate, make_draft, today):
    version = make_draft(by=delegate)
    services.procedure_version_publish(version=version, by=org_admin)
    created, published = version.history.order_by("history_date")
    assert created.history_user == delegate and created.status == "draft"
    assert published.history_user == org_admin and published.status == "published"
    assert published.history_change_reason == "Published"
    rule = version.training_rules.first()
    assert rule.history.get().history_user == delegate
