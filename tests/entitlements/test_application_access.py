"""Nobody reaches another person's application, scope item or evidence through the
referrer's pages by changing an id in the URL: every such URL answers 404, to GET and to
POST, and nothing changes. The list of URLs is checked against the module's routes, so a new
route cannot be forgotten here."""

import pytest
from django.urls import reverse

from entitlements.models import Application, ApplicationScopeItem, Evidence
from entitlements.views import applications as application_views
from referrers.models import Notification
from tests.factories import UserFactory
from tests.journeys import apply, catalogue_at, pdf_upload, procedure_at

SCOPE = {"age_min": "0", "age_max": "", "settings": ["ED"], "examination": ""}


@pytest.fixture(autouse=True)
def _today(today, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    return today


@pytest.fixture
def theirs(other_referrer, other_trust, other_trust_admin):
    """Sam Other's draft at the other trust, with a scope item and a file."""
    procedure_at(other_trust, by=other_trust_admin)
    examinations = catalogue_at(other_trust)
    their_supervisor = UserFactory(email="their.supervisor@example.nhs.uk")
    application = apply(
        other_referrer,
        other_trust,
        [examinations["xr_chest"]],
        supervisor=their_supervisor,
        until="draft",
    )
    return application, examinations


@pytest.fixture
def mine(referrer, supervisor, trust, catalogue, procedure):
    """Priya's own draft, with a scope item and a file."""
    return apply(referrer, trust, [catalogue["xr_chest"]], supervisor=supervisor, until="draft")


def state() -> tuple:
    return (
        sorted(
            Application.objects.values_list(
                "pk",
                "status",
                "kind",
                "employment_id",
                "organisation_id",
                "service_need",
                "expected_volume",
                "clinical_supervisor_id",
                "decision_line",
                "accountability_line",
                "updated_at",
            )
        ),
        sorted(
            ApplicationScopeItem.objects.values_list(
                "pk", "application_id", "examination_id", "age_min", "age_max"
            )
        ),
        sorted(Evidence.objects.values_list("pk", "application_id", "removed_at")),
        Application.history.count(),
        ApplicationScopeItem.history.count(),
        Evidence.history.count(),
        Notification.objects.count(),
    )


def urls_for(application, item, evidence, examination) -> list[tuple[str, str, dict]]:
    """Every referrer page that names an application, item or file, with a POST that would
    change something if it were allowed."""
    pk = application.pk
    exam = {**SCOPE, "examination": f"e:{examination.pk}", "age_min": "3"}
    return [
        ("application", reverse("application", args=[pk]), {}),
        (
            "application_employment",
            reverse("application_employment", args=[pk]),
            {
                "choice": f"{application.employment_id}:{application.organisation_id}",
                "kind": "clinical_evaluation",
            },
        ),
        (
            "application_service_need",
            reverse("application_service_need", args=[pk]),
            {"service_need": "Changed", "expected_volume": "9"},
        ),
        ("application_scope", reverse("application_scope", args=[pk]), {}),
        ("application_scope_add", reverse("application_scope_add", args=[pk]), exam),
        ("application_scope_edit", reverse("application_scope_edit", args=[pk, item.pk]), exam),
        ("application_scope_remove", reverse("application_scope_remove", args=[pk, item.pk]), {}),
        (
            "application_supervision",
            reverse("application_supervision", args=[pk]),
            {
                "clinical_supervisor": "delegate@example.nhs.uk",
                "decision_line": "Changed",
                "accountability_line": "Changed",
            },
        ),
        (
            "application_evidence",
            reverse("application_evidence", args=[pk]),
            {"file": pdf_upload("planted.pdf"), "kind": "training"},
        ),
        ("evidence_remove", reverse("evidence_remove", args=[pk, evidence.pk]), {}),
        ("application_check", reverse("application_check", args=[pk]), {}),
        ("application_submitted", reverse("application_submitted", args=[pk]), {}),
        ("application_withdraw", reverse("application_withdraw", args=[pk]), {}),
        ("evidence_download", reverse("evidence_download", args=[evidence.pk]), {}),
    ]


def test_the_list_below_covers_every_route_that_names_an_object():
    named = {
        p.name
        for p in application_views.urlpatterns
        if "<int:" in str(p.pattern) or p.name == "evidence_download"
    }
    sample = urls_for(
        Application(pk=1, employment_id=1, organisation_id=1),
        ApplicationScopeItem(pk=1),
        Evidence(pk=1),
        ApplicationScopeItem(pk=1),
    )
    assert {name for name, _, _ in sample} == named


def assert_all_not_found(client, urls):
    for name, url, data in urls:
        for method in ("get", "post"):
            if method == "post" and "file" in data:
                data = {**data, "file": pdf_upload("planted.pdf")}
            response = getattr(client, method)(url, data)
            # A download is GET only: a POST is refused before any lookup, revealing nothing.
            expected = 405 if (name, method) == ("evidence_download", "post") else 404
            assert response.status_code == expected, (name, method, url, response.status_code)


def test_a_referrer_gets_404_for_every_url_of_another_referrers_application(
    client, referrer, mine, theirs
):
    application, examinations = theirs
    item = application.scope_items.get()
    evidence = application.evidence.get()
    before = state()
    client.force_login(referrer)
    assert_all_not_found(client, urls_for(application, item, evidence, examinations["mr_knee"]))
    assert state() == before
    assert not any(
        "planted" in name for name in Evidence.objects.values_list("original_name", flat=True)
    )


def test_a_referrer_cannot_reach_anothers_item_or_file_through_their_own_application(
    client, referrer, mine, theirs, catalogue
):
    """Their own application id with someone else's item or file id is still a 404."""
    application, _ = theirs
    their_item = application.scope_items.get()
    their_file = application.evidence.get()
    before = state()
    client.force_login(referrer)
    exam = {**SCOPE, "examination": f"e:{catalogue['mr_knee'].pk}"}
    urls = [
        ("edit", reverse("application_scope_edit", args=[mine.pk, their_item.pk]), exam),
        ("remove", reverse("application_scope_remove", args=[mine.pk, their_item.pk]), {}),
        ("evidence", reverse("evidence_remove", args=[mine.pk, their_file.pk]), {}),
    ]
    assert_all_not_found(client, urls)
    assert state() == before


def test_a_referrer_cannot_reach_their_own_item_through_another_of_their_applications(
    client, referrer, mine, catalogue
):
    """An item or file belongs to one application: pairing it with another id is a 404."""
    from entitlements import services

    other = services.application_start(
        by=referrer,
        employment_id=mine.employment_id,
        organisation_id=mine.organisation_id,
        kind="clinical_evaluation",
    )
    item = mine.scope_items.get()
    evidence = mine.evidence.get()
    before = state()
    client.force_login(referrer)
    assert_all_not_found(
        client,
        [
            ("edit", reverse("application_scope_edit", args=[other.pk, item.pk]), {}),
            ("remove", reverse("application_scope_remove", args=[other.pk, item.pk]), {}),
            ("evidence", reverse("evidence_remove", args=[other.pk, evidence.pk]), {}),
        ],
    )
    assert state() == before


@pytest.mark.parametrize("persona", ["supervisor", "delegate", "governance_lead", "org_admin"])
def test_nobody_else_uses_the_referrers_pages_for_their_application(
    client, request, persona, referrer, supervisor, trust, catalogue, procedure
):
    """Even the named supervisor and the trust's delegate: the referrer's pages are the
    referrer's. (They see the application through their own pages.)"""
    application = apply(
        referrer, trust, [catalogue["xr_chest"]], supervisor=supervisor, until="draft"
    )
    item = application.scope_items.get()
    evidence = application.evidence.get()
    user = request.getfixturevalue(persona)
    before = state()
    client.force_login(user)
    urls = [
        entry
        for entry in urls_for(application, item, evidence, catalogue["mr_knee"])
        if entry[0] != "evidence_download"  # a draft's file is the referrer's alone
    ]
    assert_all_not_found(client, urls)
    response = client.get(reverse("evidence_download", args=[evidence.pk]))
    assert response.status_code == 404
    assert state() == before
    assert application.reference not in client.get(reverse("applications")).content.decode()


def test_files_of_a_submitted_application_reach_only_those_who_review_it(
    client,
    referrer,
    supervisor,
    delegate,
    governance_lead,
    other_referrer,
    other_trust_delegate,
    other_trust_governance_lead,
    practitioner,
    trust,
    catalogue,
    procedure,
):
    application = apply(referrer, trust, [catalogue["xr_chest"]], supervisor=supervisor)
    url = reverse("evidence_download", args=[application.evidence.get().pk])
    for user in (referrer, supervisor, delegate, governance_lead):
        client.force_login(user)
        assert client.get(url).status_code == 200, user
    for user in (other_referrer, other_trust_delegate, other_trust_governance_lead, practitioner):
        client.force_login(user)
        assert client.get(url).status_code == 404, user


def test_unknown_ids_are_404(client, referrer, mine):
    client.force_login(referrer)
    for url in [
        reverse("application", args=[999999]),
        reverse("application_scope_edit", args=[mine.pk, 999999]),
        reverse("evidence_remove", args=[mine.pk, 999999]),
        reverse("evidence_download", args=[999999]),
    ]:
        assert client.get(url).status_code == 404, url
