"""The entitlement pages: the referrer's own, the employer's, and changing one by hand.

Who may see what: the referrer their own (anyone else's id is a 404); everyone with the
register permission at the employer sees its entitlements, but only its delegates with a
current appointment change them, and only delegates and governance leads read letters.
"""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from entitlements import selectors, services
from entitlements.models import (
    Application,
    EntitlementState,
    EventAction,
    Letter,
    LetterStatus,
    ScopeItemState,
)
from entitlements.services import Rule
from referrers import services as people_services
from referrers.models import DelegateAppointment

from .test_lifecycle import snapshot

ORG_CHANGES = ["entitlement_suspend", "entitlement_reinstate", "entitlement_revoke"]
REASON = "Two referrals outside scope upheld this month"


def text(response) -> str:
    """The page's main content as plain text."""
    body = response.content.decode()
    main = re.search(r"<main.*?</main>", body, re.S).group(0)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main)).replace("&#39;", "'")


def one_h1(response) -> None:
    assert response.content.decode().count("<h1") == 1


def manage(entitlement, name="entitlement_manage", ods="RDZ"):
    return reverse(name, args=[ods, entitlement.pk])


def ready(letter):
    """Pretend the renderer finished (the PDF itself is tested with the letters)."""
    Letter.objects.filter(pk=letter.pk).update(status=LetterStatus.READY)


# --- The referrer's pages ----------------------------------------------------------------


def test_the_referrer_sees_their_entitlement_its_scope_and_letter(client, entitlement, referrer):
    client.force_login(referrer)
    response = client.get(reverse("entitlement", args=[entitlement.pk]))
    assert response.status_code == 200
    one_h1(response)
    page = text(response)
    assert f"Entitlement {entitlement.reference}" in page
    assert "Active" in page
    assert "Dorset Coast Hospitals NHS Trust" in page
    assert "Advanced nurse practitioner" in page
    assert "XR Chest (XCHES)" in page and "CT Head with contrast (CHEAC)" in page
    assert "16 years and over" in page
    assert "Emergency department, Minor injuries unit" in page
    assert "No pregnancy-possible patients" in page
    assert "Sue Supervisor" in page
    assert "Consultant in emergency medicine on shift" in page
    assert "Dana Delegate, under delegate appointment Board paper 2025/01" in page
    assert f"version {entitlement.procedure_version.number} (RAD-POL-012 v4)" in page
    assert entitlement.review_due_on.strftime("%-d %b %Y") in page
    letter = Letter.objects.get(entitlement=entitlement)
    assert letter.verification_code in page
    assert "Entitlement granted" in page
    body = response.content.decode()
    assert reverse("entitlement_timeline", args=[entitlement.pk]) in body
    assert reverse("variation_start", args=[entitlement.pk]) in body
    assert reverse("change_notify", args=[entitlement.pk]) in body
    ready(letter)
    body = client.get(reverse("entitlement", args=[entitlement.pk])).content.decode()
    assert reverse("letter_download", args=[letter.pk]) in body


def test_the_referrers_list_shows_each_entitlement(client, entitlement, referrer, delegate):
    services.entitlement_suspend(entitlement=entitlement, by=delegate, reason=REASON)
    client.force_login(referrer)
    response = client.get(reverse("entitlements"))
    one_h1(response)
    page = text(response)
    assert entitlement.reference in page
    assert "Dorset Coast Hospitals NHS Trust" in page
    assert "Referral for imaging" in page
    assert "Suspended" in page
    assert entitlement.review_due_on.strftime("%-d %b %Y") in page
    assert reverse("entitlement", args=[entitlement.pk]) in response.content.decode()


def test_a_suspension_is_shown_with_its_reason_and_date(client, entitlement, referrer, delegate):
    ct = entitlement.scope_items.get(examination__code="CHEAC")
    services.entitlement_suspend(
        entitlement=entitlement, by=delegate, reason="Contrast training lapsed", scope_items=[ct]
    )
    client.force_login(referrer)
    page = text(client.get(reverse("entitlement", args=[entitlement.pk])))
    assert "Some examinations are suspended" in page
    assert "Contrast training lapsed" in page

    services.entitlement_suspend(entitlement=entitlement, by=delegate, reason=REASON)
    response = client.get(reverse("entitlement", args=[entitlement.pk]))
    page = text(response)
    assert "This entitlement is suspended" in page
    entitlement.refresh_from_db()
    since = timezone.localtime(entitlement.state_changed_at).strftime("%-d %b %Y, %H:%M")
    assert f"Since {since}: {REASON}" in page
    assert REASON in page
    # A suspended entitlement can be reported on, but not varied round its suspension.
    body = response.content.decode()
    assert reverse("change_notify", args=[entitlement.pk]) in body
    assert reverse("variation_start", args=[entitlement.pk]) not in body
    response = client.get(reverse("variation_start", args=[entitlement.pk]))
    assert response.status_code == 302
    applications = Application.objects.count()
    response = client.post(reverse("variation_start", args=[entitlement.pk]))
    assert "once it has been reinstated" in text(response)
    assert Application.objects.count() == applications


def test_an_ended_entitlement_offers_no_changes(client, entitlement, referrer, delegate):
    services.entitlement_revoke(entitlement=entitlement, by=delegate, reason=REASON)
    client.force_login(referrer)
    response = client.get(reverse("entitlement", args=[entitlement.pk]))
    body = response.content.decode()
    assert "This entitlement has ended" in text(response)
    assert reverse("change_notify", args=[entitlement.pk]) not in body
    assert reverse("variation_start", args=[entitlement.pk]) not in body
    for name in ("change_notify", "variation_start"):
        response = client.get(reverse(name, args=[entitlement.pk]), follow=True)
        assert "is revoked, so it cannot be changed" in text(response)


def test_asking_to_change_the_scope_starts_an_application_copying_the_entitlement(
    client, entitlement, referrer
):
    client.force_login(referrer)
    url = reverse("variation_start", args=[entitlement.pk])
    response = client.get(url)
    one_h1(response)
    assert "Ask to change your scope" in text(response)
    response = client.post(url)
    application = Application.objects.get(variation_of=entitlement)
    assert response.status_code == 302
    assert response["Location"] == reverse("application", args=[application.pk])
    assert application.status == "draft"
    assert sorted(application.scope_items.values_list("examination__code", flat=True)) == [
        "CHEAC",
        "XCHES",
    ]
    # A second one is refused on the page, and nothing more is made.
    response = client.post(url)
    assert response.status_code == 200
    assert "There is a problem" in text(response)
    assert "open application" in text(response)
    assert Application.objects.filter(variation_of=entitlement).count() == 1


def referrer_urls(entitlement, notice):
    pk = entitlement.pk
    return [
        ("get", reverse("entitlement", args=[pk]), None),
        ("get", reverse("entitlement_timeline", args=[pk]), None),
        ("get", reverse("change_notify", args=[pk]), None),
        (
            "post",
            reverse("change_notify", args=[pk]),
            {
                "kind": "criteria",
                "details": "Forged",
                "effective_on_day": "1",
                "effective_on_month": "4",
                "effective_on_year": "2026",
            },
        ),
        ("get", reverse("change_notified", args=[pk, notice.pk]), None),
        ("get", reverse("variation_start", args=[pk]), None),
        ("post", reverse("variation_start", args=[pk]), {}),
    ]


@pytest.mark.parametrize("persona", ["other_referrer", "delegate", "supervisor", "governance_lead"])
def test_nobody_else_reaches_the_referrers_pages_by_changing_the_id(
    client, request, entitlement, referrer, persona
):
    notice = services.change_notify(
        entitlement=entitlement,
        by=referrer,
        kind="leave",
        details="Sabbatical",
        effective_on=datetime.date(2026, 4, 1),
    )
    client.force_login(request.getfixturevalue(persona))
    before = snapshot(entitlement)
    for method, url, data in referrer_urls(entitlement, notice):
        response = getattr(client, method)(url, data or {})
        assert response.status_code == 404, (method, url, response.status_code)
    assert snapshot(entitlement) == before


def test_signed_out_visitors_are_sent_to_sign_in(client, entitlement):
    for name in ("entitlements", "notifications"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith("/sign-in/")
    for name in ("entitlement", "entitlement_timeline", "change_notify", "variation_start"):
        response = client.get(reverse(name, args=[entitlement.pk]))
        assert response.status_code == 302 and response["Location"].startswith("/sign-in/")
    for name in ("entitlement_manage", "entitlement_history", *ORG_CHANGES):
        assert client.get(manage(entitlement, name)).status_code == 302


# --- The employer's pages ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "sees_letters", "may_change"),
    [
        ("delegate", True, True),
        ("governance_lead", True, False),
        ("practitioner", False, False),
    ],
)
def test_who_sees_what_on_the_employers_page(
    client, request, entitlement, persona, sees_letters, may_change
):
    letter = Letter.objects.get(entitlement=entitlement)
    ready(letter)
    client.force_login(request.getfixturevalue(persona))
    response = client.get(manage(entitlement))
    assert response.status_code == 200
    one_h1(response)
    page, body = text(response), response.content.decode()
    assert "Priya Shah" in page and "XR Chest (XCHES)" in page
    assert "Sue Supervisor" in page
    assert manage(entitlement, "entitlement_history") in body
    assert (letter.verification_code in page) is sees_letters
    assert (reverse("letter_download", args=[letter.pk]) in body) is sees_letters
    for name in ORG_CHANGES:
        if name == "entitlement_reinstate":
            continue  # nothing is suspended
        assert (manage(entitlement, name) in body) is may_change


@pytest.mark.parametrize("persona", ["governance_lead", "practitioner", "referrer", "supervisor"])
def test_only_delegates_change_an_entitlement(client, request, entitlement, delegate, persona):
    services.entitlement_suspend(
        entitlement=entitlement,
        by=delegate,
        reason="Set up",
        scope_items=[entitlement.scope_items.first()],
    )
    client.force_login(request.getfixturevalue(persona))
    before = snapshot(entitlement)
    for name in ORG_CHANGES:
        assert client.get(manage(entitlement, name)).status_code == 403
        response = client.post(manage(entitlement, name), {"what": "whole", "reason": "Forged"})
        assert response.status_code == 403
    assert snapshot(entitlement) == before


def test_a_delegate_whose_appointment_has_ended_changes_nothing(
    client, entitlement, delegate, org_admin
):
    appointment = DelegateAppointment.objects.get(delegate=delegate)
    people_services.delegate_appointment_end(
        appointment=appointment, ends_on=datetime.date(2025, 12, 31), by=org_admin
    )
    client.force_login(delegate)
    response = client.get(manage(entitlement))
    assert response.status_code == 200
    for name in ORG_CHANGES:
        assert manage(entitlement, name) not in response.content.decode()
    before = snapshot(entitlement)
    for name in ORG_CHANGES:
        assert client.get(manage(entitlement, name)).status_code == 403
        assert client.post(manage(entitlement, name), {"reason": "Forged"}).status_code == 403
    assert snapshot(entitlement) == before


def test_another_trusts_delegate_is_refused_here_and_finds_nothing_at_home(
    client, entitlement, referrer, other_trust_delegate
):
    notice = services.change_notify(
        entitlement=entitlement,
        by=referrer,
        kind="leave",
        details="Sabbatical",
        effective_on=datetime.date(2026, 4, 1),
    )
    client.force_login(other_trust_delegate)
    before = snapshot(entitlement)
    names = ["entitlement_manage", "entitlement_history", *ORG_CHANGES]
    assert client.get(reverse("entitlements_at", args=["RDZ"])).status_code == 403
    for name in names:
        assert client.get(manage(entitlement, name)).status_code == 403
        assert client.get(manage(entitlement, name, ods="RX9")).status_code == 404
    for name in ORG_CHANGES:
        data = {"what": "whole", "reason": "Forged"}
        assert client.post(manage(entitlement, name), data).status_code == 403
        assert client.post(manage(entitlement, name, ods="RX9"), data).status_code == 404
    ack = "change_notice_acknowledge"
    assert client.post(reverse(ack, args=["RDZ", notice.pk])).status_code == 403
    assert client.post(reverse(ack, args=["RX9", notice.pk])).status_code == 404
    body = client.get(reverse("entitlements_at", args=["RX9"])).content.decode()
    assert "Priya Shah" not in body
    assert snapshot(entitlement) == before


def test_a_delegate_suspends_and_reinstates_the_whole_entitlement(client, entitlement, delegate):
    client.force_login(delegate)
    url = manage(entitlement, "entitlement_suspend")
    response = client.get(url)
    one_h1(response)
    page = text(response)
    assert "What do you want to suspend?" in page and "CT Head with contrast (CHEAC)" in page

    before = snapshot(entitlement)
    response = client.post(url, {"what": "whole", "reason": " "})
    assert response.status_code == 200
    assert "There is a problem" in text(response) and "Enter the reason" in text(response)
    assert snapshot(entitlement) == before

    response = client.post(url, {"what": "whole", "reason": REASON})
    assert response.status_code == 302 and response["Location"] == manage(entitlement)
    entitlement.refresh_from_db()
    assert entitlement.state == EntitlementState.SUSPENDED
    event = entitlement.events.get(action=EventAction.SUSPENDED)
    assert (event.actor, event.reason) == (delegate, REASON)
    page = text(client.get(response["Location"]))
    assert f"{entitlement.reference} has been suspended" in page
    assert REASON in page

    # Only what is possible now is offered: reinstate and revoke, not suspend.
    body = client.get(manage(entitlement)).content.decode()
    assert manage(entitlement, "entitlement_suspend") not in body
    assert manage(entitlement, "entitlement_reinstate") in body
    response = client.get(url, follow=True)
    assert "there is nothing to suspend" in text(response)
    # A stale form is refused by the state machine, with its reason, and changes nothing.
    before = snapshot(entitlement)
    response = client.post(url, {"what": "whole", "reason": REASON})
    assert response.status_code == 200
    assert "is suspended, so it cannot be suspended" in text(response)
    assert snapshot(entitlement) == before

    response = client.post(
        manage(entitlement, "entitlement_reinstate"), {"reason": "Reviewed with the referrer"}
    )
    assert response.status_code == 302
    entitlement.refresh_from_db()
    assert entitlement.state == EntitlementState.ACTIVE
    assert entitlement.events.get(action=EventAction.REINSTATED).actor == delegate


def test_a_delegate_suspends_and_reinstates_scope_items(client, entitlement, delegate):
    xr, ct = entitlement.scope_items.order_by("id")
    client.force_login(delegate)
    url = manage(entitlement, "entitlement_suspend")

    before = snapshot(entitlement)
    response = client.post(url, {"what": "items", "reason": REASON})
    assert "Select the examinations to suspend" in text(response)
    response = client.post(url, {"what": "items", "scope_items": ["999999"], "reason": REASON})
    assert "Select examinations of this entitlement" in text(response)
    assert snapshot(entitlement) == before

    response = client.post(url, {"what": "items", "scope_items": [ct.pk], "reason": REASON})
    assert response.status_code == 302
    entitlement.refresh_from_db()
    ct.refresh_from_db()
    xr.refresh_from_db()
    assert entitlement.state == EntitlementState.ACTIVE
    assert (xr.state, ct.state) == (ScopeItemState.ACTIVE, ScopeItemState.SUSPENDED)
    assert "1 examination of" in text(client.get(manage(entitlement)))

    # Reinstating offers the suspended item only, and the whole is not suspended.
    response = client.get(manage(entitlement, "entitlement_reinstate"))
    page = text(response)
    assert "CT Head with contrast (CHEAC)" in page and "XR Chest (XCHES)" not in page
    assert "What do you want to reinstate?" not in page
    response = client.post(
        manage(entitlement, "entitlement_reinstate"),
        {"scope_items": [xr.pk], "reason": "Renewed"},
    )
    assert "Select examinations of this entitlement" in text(response)
    response = client.post(
        manage(entitlement, "entitlement_reinstate"),
        {"scope_items": [ct.pk], "reason": "Contrast training renewed"},
    )
    assert response.status_code == 302
    ct.refresh_from_db()
    assert ct.state == ScopeItemState.ACTIVE
    # Nothing is suspended now, so there is nothing to reinstate.
    response = client.get(manage(entitlement, "entitlement_reinstate"), follow=True)
    assert "there is nothing to reinstate" in text(response)


def test_a_delegate_revokes_with_a_reason_and_it_is_final(client, entitlement, delegate):
    client.force_login(delegate)
    url = manage(entitlement, "entitlement_revoke")
    response = client.get(url)
    assert "Revoking cannot be undone" in text(response)
    before = snapshot(entitlement)
    assert "Enter the reason" in text(client.post(url, {"reason": ""}))
    assert snapshot(entitlement) == before
    response = client.post(url, {"reason": REASON})
    assert response.status_code == 302
    entitlement.refresh_from_db()
    assert entitlement.state == EntitlementState.REVOKED
    response = client.get(manage(entitlement))
    body = response.content.decode()
    assert "has ended and cannot be changed" in text(response)
    for name in ORG_CHANGES:
        assert manage(entitlement, name) not in body
    before = snapshot(entitlement)
    for name in ORG_CHANGES:
        response = client.post(manage(entitlement, name), {"what": "whole", "reason": "Again"})
        assert response.status_code == 200
        assert "is revoked, so it cannot be" in text(response)
    assert snapshot(entitlement) == before


def test_reported_changes_are_shown_to_delegates_who_mark_them_seen(
    client, entitlement, referrer, delegate, governance_lead
):
    notice = services.change_notify(
        entitlement=entitlement,
        by=referrer,
        kind="department",
        details="Moving to the minor injuries unit",
        effective_on=datetime.date(2026, 5, 1),
    )
    url = reverse("change_notice_acknowledge", args=["RDZ", notice.pk])
    client.force_login(governance_lead)
    page = text(client.get(manage(entitlement)))
    assert "Moving to the minor injuries unit" in page
    assert "Mark as seen" not in page
    assert client.post(url).status_code == 403

    client.force_login(delegate)
    response = client.get(manage(entitlement))
    assert "Mark as seen" in text(response) and url in response.content.decode()
    assert client.get(url).status_code == 405
    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == manage(entitlement)
    notice.refresh_from_db()
    assert notice.acknowledged_by == delegate
    page = text(client.get(manage(entitlement)))
    assert "Moving to the minor injuries unit" not in page
    assert "The reported change has been marked as seen" in page


# --- The employer's list -------------------------------------------------------------------


def test_the_list_filters_by_state_and_refuses_a_state_that_does_not_exist(
    client, entitlement, delegate, referrer, supervisor, trust, catalogue
):
    from tests.journeys import apply, grant

    evaluation = grant(
        apply(
            referrer,
            trust,
            [catalogue["mr_knee"]],
            supervisor=supervisor,
            until="endorsed",
            kind="clinical_evaluation",
        ),
        delegate,
    )
    services.entitlement_suspend(entitlement=evaluation, by=delegate, reason=REASON)
    services.entitlement_suspend(
        entitlement=entitlement,
        by=delegate,
        reason=REASON,
        scope_items=[entitlement.scope_items.first()],
    )
    client.force_login(delegate)
    url = reverse("entitlements_at", args=["RDZ"])

    response = client.get(url)
    one_h1(response)
    page = text(response)
    assert "2 entitlements" in page
    assert entitlement.reference in page and evaluation.reference in page
    assert "Nurse" in page and "Advanced nurse practitioner, advanced" in page
    assert "Referral for imaging" in page and "Clinical evaluation of images" in page
    assert "1 suspended" in page  # the active one with a suspended item

    page = text(client.get(url, {"state": "suspended"}))
    assert "1 suspended entitlement" in page
    assert evaluation.reference in page and entitlement.reference not in page

    page = text(client.get(url, {"state": "revoked"}))
    assert "No entitlement is revoked" in page

    response = client.get(url, {"state": "deleted'><script>"})
    assert response.status_code == 200
    page = text(response)
    assert "There is a problem" in page and "Select a state from the list" in page
    assert "2 entitlements" in page
    assert "<script>" not in response.content.decode().split("<main", 1)[1]


# --- The timeline --------------------------------------------------------------------------


def test_the_timeline_agrees_with_the_history_of_the_entitlement(
    client, entitlement, delegate, referrer, procedure
):
    services.entitlement_suspend(entitlement=entitlement, by=delegate, reason="Audit overdue")
    services.entitlement_reinstate(
        entitlement=entitlement,
        by=Rule(procedure, "training.renewal"),
        reason="Radiation protection training verified",
    )
    services.entitlement_suspend(
        entitlement=entitlement,
        by=delegate,
        reason="CT only: contrast training lapsed",
        scope_items=[entitlement.scope_items.last()],
    )
    services.change_notify(
        entitlement=entitlement,
        by=referrer,
        kind="criteria",
        details="My registration lapsed",
        effective_on=datetime.date(2026, 4, 1),
    )
    services.entitlement_revoke(
        entitlement=entitlement, by=Rule(procedure, "training.grace"), reason="Grace period over"
    )

    timeline = selectors.timeline_of(entitlement)
    assert [entry.at for entry in timeline] == sorted(entry.at for entry in timeline)
    events = [entry for entry in timeline if entry.event and not entry.event.scope_item_id]
    records = list(entitlement.history.order_by("history_date", "history_id"))
    changes = [
        record
        for previous, record in zip([None, *records], records, strict=False)
        if previous is None or previous.state != record.state
    ]
    assert [record.state for record in changes] == [
        "active",
        "suspended",
        "active",
        "suspended",
        "revoked",
    ]
    state_events = [e for e in events if e.event.to_state]
    assert len(state_events) == len(changes)
    for record, entry in zip(changes, state_events, strict=True):
        assert entry.event.to_state == record.state
        if record.history_user is not None:
            assert entry.by == record.history_user.full_name
            assert record.history_change_reason in ("Granted", entry.reason[:100])
        else:
            assert entry.by == f"RDZ procedure v{procedure.number}, rule {entry.event.rule}"
            assert record.history_change_reason == f"{entry.by}: {entry.reason}"[:100]

    # The page shows the same, in order, with who and why.
    client.force_login(delegate)
    response = client.get(manage(entitlement, "entitlement_history"))
    one_h1(response)
    page = text(response)
    start = page.index("oldest first")
    for entry in timeline:  # each after the one before
        start = page.index(f"{entry.title} ", start) + len(entry.title)
    assert f"by RDZ procedure v{procedure.number}, rule training.renewal" in page
    assert f"by RDZ procedure v{procedure.number}, rule training.grace" in page
    assert "Grace period over" in page and "My registration lapsed" in page
    assert "Scope item suspended: CT Head with contrast (CHEAC)" in page
    assert "Decision: granted as requested" in page
    assert "by Dana Delegate (appointment Board paper 2025/01)" in page


@pytest.mark.parametrize(
    ("persona", "sees_letters"),
    [("referrer", True), ("delegate", True), ("governance_lead", True), ("practitioner", False)],
)
def test_the_timeline_links_letters_for_those_who_may_read_them(
    client, request, entitlement, delegate, persona, sees_letters
):
    services.entitlement_suspend(entitlement=entitlement, by=delegate, reason=REASON)
    for letter in Letter.objects.filter(entitlement=entitlement):
        ready(letter)
    client.force_login(request.getfixturevalue(persona))
    if persona == "referrer":
        url = reverse("entitlement_timeline", args=[entitlement.pk])
    else:
        url = manage(entitlement, "entitlement_history")
    response = client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    for letter in Letter.objects.filter(entitlement=entitlement):
        assert (reverse("letter_download", args=[letter.pk]) in body) is sees_letters
    assert ("Letter: Entitlement suspended" in body) is sees_letters
    assert REASON in body


def test_a_varied_entitlement_links_to_the_one_that_replaced_it(
    client, entitlement, referrer, supervisor, delegate, procedure, catalogue
):
    from .test_lifecycle import vary

    people = {
        "referrer": referrer,
        "supervisor": supervisor,
        "delegate": delegate,
        "procedure": procedure,
    }
    new = vary(entitlement, people, catalogue)
    client.force_login(referrer)
    old_page = client.get(reverse("entitlement", args=[entitlement.pk]))
    assert "Superseded" in text(old_page)
    assert f'href="{reverse("entitlement", args=[new.pk])}">{new.reference}</a>' in (
        old_page.content.decode()
    )
    new_page = client.get(reverse("entitlement", args=[new.pk])).content.decode()
    assert f'href="{reverse("entitlement", args=[entitlement.pk])}">{entitlement.reference}' in (
        new_page
    )
    client.force_login(delegate)
    body = client.get(manage(entitlement)).content.decode()
    assert f'href="{manage(new)}">{new.reference}</a>' in body
    assert "Replaced by" in body
