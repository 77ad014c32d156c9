"""The entitlement state machine (domain.md, "Entitlement ... its transitions"), through the
services only.

Every legal transition records one event naming a user or a procedure rule, and a reason;
issues a pending letter; writes history with the same attribution; and tells the referrer.
Every illegal one is refused with a message that says why, and changes nothing at all.
"""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from entitlements import services
from entitlements.models import (
    Application,
    ApplicationStatus,
    ChangeKind,
    ChangeNotice,
    Decision,
    DecisionOutcome,
    Entitlement,
    EntitlementEvent,
    EntitlementState,
    EventAction,
    Letter,
    LetterStatus,
    ScopeItem,
    ScopeItemState,
)
from entitlements.services import Rule, ScopeItemData, ScopeRequest, TransitionError
from referrers.models import DelegateAppointment, Notification
from tests.journeys import apply, grant, pdf_upload

ACTIVE = EntitlementState.ACTIVE
SUSPENDED = EntitlementState.SUSPENDED
REVOKED = EntitlementState.REVOKED
EXPIRED = EntitlementState.EXPIRED
SUPERSEDED = EntitlementState.SUPERSEDED
REASON = "Contrast safety training record could not be verified"


def snapshot(entitlement: Entitlement) -> dict:
    """Everything a transition could touch, to show a refused one touched nothing."""
    fresh = Entitlement.objects.get(pk=entitlement.pk)
    return {
        "state": fresh.state,
        "state_reason": fresh.state_reason,
        "state_changed_at": fresh.state_changed_at,
        "items": list(
            ScopeItem.objects.order_by("id").values_list(
                "id", "entitlement_id", "state", "suspended_reason"
            )
        ),
        "entitlements": Entitlement.objects.count(),
        "events": EntitlementEvent.objects.count(),
        "letters": Letter.objects.count(),
        "entitlement_history": Entitlement.history.count(),
        "item_history": ScopeItem.history.count(),
        "notifications": Notification.objects.count(),
        "notices": ChangeNotice.objects.count(),
        "applications": Application.objects.count(),
    }


@pytest.fixture
def people(referrer, delegate, supervisor, procedure):
    return {
        "referrer": referrer,
        "delegate": delegate,
        "supervisor": supervisor,
        "procedure": procedure,
    }


def actor(people, by: str):
    """`by` is "delegate", "referrer", or "rule:<name>" (a rule of the procedure in force)."""
    if by.startswith("rule:"):
        return Rule(people["procedure"], by.removeprefix("rule:"))
    return people[by]


def put_in(entitlement: Entitlement, state: str, people) -> Entitlement:
    """Bring the fixture's active entitlement to `state` through the services."""
    delegate = people["delegate"]
    if state == SUSPENDED:
        services.entitlement_suspend(entitlement=entitlement, by=delegate, reason="Setting up")
    elif state == REVOKED:
        services.entitlement_revoke(entitlement=entitlement, by=delegate, reason="Setting up")
    elif state == EXPIRED:
        rule = Rule(people["procedure"], "review.overdue")
        services.entitlement_expire(entitlement=entitlement, by=rule, reason="Setting up")
    elif state == SUPERSEDED:
        vary(entitlement, people)
    entitlement.refresh_from_db()
    assert entitlement.state == state
    return entitlement


def vary(entitlement: Entitlement, people, catalogue=None) -> Entitlement:
    """The referrer asks to change the scope, adds an examination, and it is granted."""
    referrer, supervisor = people["referrer"], people["supervisor"]
    application = services.variation_start(entitlement=entitlement, by=referrer)
    if catalogue:
        services.application_scope_item_add(
            application=application,
            by=referrer,
            request=ScopeRequest(examination=catalogue["mr_knee"], age_min=16, settings=("ED",)),
        )
    services.evidence_add(
        application=application, by=referrer, upload=pdf_upload(), kind="competency"
    )
    services.application_submit(application=application, by=referrer)
    services.application_endorse(application=application, by=supervisor, outcome="endorsed")
    decision = services.application_decide(
        application=application,
        by=people["delegate"],
        outcome=DecisionOutcome.GRANTED,
        rationale="The MR knee request is justified by the new fracture clinic",
    )
    return decision.entitlement


def do(operation: str, entitlement: Entitlement, by, reason: str = REASON, **kwargs):
    if operation == "suspend":
        return services.entitlement_suspend(entitlement=entitlement, by=by, reason=reason, **kwargs)
    if operation == "reinstate":
        return services.entitlement_reinstate(
            entitlement=entitlement, by=by, reason=reason, **kwargs
        )
    if operation == "revoke":
        return services.entitlement_revoke(entitlement=entitlement, by=by, reason=reason, **kwargs)
    if operation == "expire":
        return services.entitlement_expire(entitlement=entitlement, by=by, reason=reason, **kwargs)
    if operation.startswith("notify:"):
        return services.change_notify(
            entitlement=entitlement,
            by=by,
            kind=operation.removeprefix("notify:"),
            details=reason,
            effective_on=datetime.date(2026, 3, 31),
        )
    raise AssertionError(operation)


# --- Legal transitions of the whole entitlement --------------------------------------------

LEGAL = [
    # (from, operation, by, to, event action, letter subject word)
    (ACTIVE, "suspend", "delegate", SUSPENDED, EventAction.SUSPENDED, "suspended"),
    (ACTIVE, "notify:criteria", "referrer", SUSPENDED, EventAction.SUSPENDED, "suspended"),
    (ACTIVE, "suspend", "rule:training.lapse", SUSPENDED, EventAction.SUSPENDED, "suspended"),
    (ACTIVE, "suspend", "rule:registration.lapse", SUSPENDED, EventAction.SUSPENDED, "suspended"),
    (SUSPENDED, "reinstate", "delegate", ACTIVE, EventAction.REINSTATED, "reinstated"),
    (SUSPENDED, "reinstate", "rule:training.renewal", ACTIVE, EventAction.REINSTATED, "reinstated"),
    (ACTIVE, "revoke", "delegate", REVOKED, EventAction.REVOKED, "revoked"),
    (SUSPENDED, "revoke", "delegate", REVOKED, EventAction.REVOKED, "revoked"),
    (SUSPENDED, "revoke", "rule:training.grace", REVOKED, EventAction.REVOKED, "revoked"),
    (ACTIVE, "expire", "rule:review.overdue", EXPIRED, EventAction.EXPIRED, "ended"),
    (SUSPENDED, "expire", "rule:review.overdue", EXPIRED, EventAction.EXPIRED, "ended"),
    (ACTIVE, "notify:employer", "referrer", EXPIRED, EventAction.EXPIRED, "ended"),
    (ACTIVE, "notify:role", "referrer", EXPIRED, EventAction.EXPIRED, "ended"),
    (SUSPENDED, "notify:employer", "referrer", EXPIRED, EventAction.EXPIRED, "ended"),
]


@pytest.mark.parametrize(
    ("start", "operation", "by", "end", "action", "word"),
    LEGAL,
    ids=[f"{c[0]}-{c[1]}-by-{c[2]}-to-{c[3]}" for c in LEGAL],
)
def test_a_legal_transition_records_who_and_why_issues_a_letter_and_tells_the_referrer(
    entitlement, people, start, operation, by, end, action, word
):
    entitlement = put_in(entitlement, start, people)
    who = actor(people, by)
    before = snapshot(entitlement)
    last_event = EntitlementEvent.objects.order_by("-id").first().pk
    referrer_told = Notification.objects.filter(user=people["referrer"]).count()

    do(operation, entitlement, who)

    entitlement.refresh_from_db()
    assert entitlement.state == end
    assert entitlement.state_changed_at >= before["state_changed_at"]

    # One event of this transition, naming the user or the procedure version and rule.
    events = EntitlementEvent.objects.filter(entitlement=entitlement, pk__gt=last_event)
    [event] = events.filter(action=action)
    assert (event.from_state, event.to_state) == (start, end)
    assert REASON in event.reason
    assert REASON in entitlement.state_reason
    if by.startswith("rule:"):
        assert event.actor is None
        assert event.procedure_version == people["procedure"]
        assert event.rule == who.name
        assert event.by_label == f"RDZ procedure v{people['procedure'].number}, rule {who.name}"
    else:
        assert event.actor == who
        assert event.procedure_version is None and event.rule == ""
    # A reported change is its own event too, with no letter of its own.
    expected_actions = {action} | ({EventAction.CHANGE_NOTIFIED} if ":" in operation else set())
    assert set(events.values_list("action", flat=True)) == expected_actions
    assert events.count() == len(expected_actions)

    # One pending letter, for this event.
    assert Letter.objects.count() == before["letters"] + 1
    letter = Letter.objects.get(event=event)
    assert letter.status == LetterStatus.PENDING
    assert letter.entitlement == entitlement

    # History names the same user (none for a rule, which it names in the reason instead).
    latest = entitlement.history.order_by("-history_date", "-history_id").first()
    assert latest.state == end
    if by.startswith("rule:"):
        assert latest.history_user is None
        assert who.name in latest.history_change_reason
        assert who.version.label in latest.history_change_reason
    else:
        assert latest.history_user == who
        assert latest.history_change_reason == event.reason[:100]

    # The referrer (and their supervisor) are told.
    told = Notification.objects.filter(user=people["referrer"]).order_by("-id")
    assert told.count() == referrer_told + 1
    assert word in told.first().subject.lower()
    assert told.first().url == f"/entitlements/{entitlement.pk}/"
    assert Notification.objects.filter(user=people["supervisor"], subject__icontains=word).exists()


def test_a_grant_is_a_transition_from_nothing_to_active(entitlement, people):
    [event] = entitlement.events.all()
    assert (event.action, event.from_state, event.to_state) == (EventAction.GRANTED, "", ACTIVE)
    assert event.actor == people["delegate"]
    assert Letter.objects.get(event=event).status == LetterStatus.PENDING
    first = entitlement.history.get()
    assert (first.history_type, first.history_user, first.state) == (
        "+",
        people["delegate"],
        ACTIVE,
    )
    assert Notification.objects.filter(
        user=people["referrer"], subject="Your entitlement has been granted"
    ).exists()


def test_a_granted_variation_supersedes_the_old_entitlement(entitlement, people, catalogue):
    old = entitlement
    new = vary(old, people, catalogue)

    old.refresh_from_db()
    assert old.state == SUPERSEDED
    assert new.state == ACTIVE
    assert new.supersedes == old
    assert new.employment == old.employment and new.kind == old.kind
    assert (
        Entitlement.objects.filter(employment=old.employment, state__in=[ACTIVE, SUSPENDED]).get()
        == new
    )
    assert sorted(new.scope_items.values_list("examination__code", flat=True)) == [
        "CHEAC",
        "MKNEE",
        "XCHES",
    ]
    [superseded] = old.events.filter(action=EventAction.SUPERSEDED)
    assert (superseded.from_state, superseded.to_state) == (ACTIVE, SUPERSEDED)
    assert superseded.actor == people["delegate"]
    assert new.application.reference in superseded.reason
    # The new entitlement's grant letter states the new scope; the old gets none.
    assert not Letter.objects.filter(event=superseded).exists()
    grant_letter = Letter.objects.get(event__entitlement=new, event__action=EventAction.GRANTED)
    assert [row["code"] for row in grant_letter.content["scope"]] == ["XCHES", "CHEAC", "MKNEE"]
    latest = old.history.order_by("-history_date", "-history_id").first()
    assert (latest.state, latest.history_user) == (SUPERSEDED, people["delegate"])
    assert latest.history_change_reason == superseded.reason[:100]


def test_a_suspended_entitlement_is_not_varied_round_its_suspension(entitlement, people, catalogue):
    """Granting a variation of a suspended entitlement would lift the suspension with nobody
    reinstating it: the grant is refused and the suspended one stays."""
    referrer = people["referrer"]
    application = services.variation_start(entitlement=entitlement, by=referrer)
    services.evidence_add(
        application=application, by=referrer, upload=pdf_upload(), kind="competency"
    )
    services.application_submit(application=application, by=referrer)
    services.application_endorse(
        application=application, by=people["supervisor"], outcome="endorsed"
    )
    put_in(entitlement, SUSPENDED, people)
    before = snapshot(entitlement)
    with pytest.raises(TransitionError, match="is suspended, so it cannot be varied"):
        services.application_decide(
            application=application, by=people["delegate"], outcome="granted", rationale="OK"
        )
    assert snapshot(entitlement) == before
    application.refresh_from_db()
    assert application.status == ApplicationStatus.UNDER_REVIEW


def test_a_suspended_entitlement_cannot_be_asked_to_change(entitlement, people):
    """The referrer is told before filling in an application that could not be granted."""
    put_in(entitlement, SUSPENDED, people)
    before = snapshot(entitlement)
    with pytest.raises(ValidationError, match="suspended: you can ask to change its scope once"):
        services.variation_start(entitlement=entitlement, by=people["referrer"])
    assert snapshot(entitlement) == before


def test_a_variation_keeps_a_suspended_scope_item_suspended(entitlement, people, catalogue):
    """A variation replaces the scope, but never lifts a suspension: an item suspended on the
    old entitlement is suspended on the new one, with its reason, and its letter says so."""
    xr, ct = entitlement.scope_items.order_by("id")
    services.entitlement_suspend(
        entitlement=entitlement, by=people["delegate"], reason=REASON, scope_items=[ct]
    )
    ct.refresh_from_db()

    new = vary(entitlement, people, catalogue)

    items = {i.examination.code: i for i in new.scope_items.select_related("examination")}
    assert {code: i.state for code, i in items.items()} == {
        "XCHES": ScopeItemState.ACTIVE,
        "CHEAC": ScopeItemState.SUSPENDED,
        "MKNEE": ScopeItemState.ACTIVE,
    }
    carried = items["CHEAC"]
    assert (carried.suspended_reason, carried.suspended_at) == (REASON, ct.suspended_at)
    [event] = new.events.filter(action=EventAction.ITEM_SUSPENDED)
    assert event.scope_item == carried
    assert event.reason == f"Still suspended, as it was on {entitlement.reference}: {REASON}"
    # One letter for the grant, stating the item as suspended.
    [letter] = Letter.objects.filter(event__entitlement=new)
    assert letter.event.action == EventAction.GRANTED
    states = {row["code"]: row["state"] for row in letter.content["scope"]}
    assert states == {"XCHES": "Active", "CHEAC": "Suspended", "MKNEE": "Active"}


def test_a_variation_cannot_lift_a_suspension_by_asking_for_a_group(
    entitlement, people, catalogue, org_admin, trust
):
    """Swapping a suspended examination for a group that includes it would lift the
    suspension: the group is granted suspended, saying which item's suspension it carries."""
    referrer = people["referrer"]
    xr, ct = entitlement.scope_items.order_by("id")
    services.entitlement_suspend(
        entitlement=entitlement, by=people["delegate"], reason=REASON, scope_items=[ct]
    )
    head_and_knee = services.examination_group_create(
        organisation=trust,
        name="Head and knee",
        examinations=[catalogue["ct_head"], catalogue["mr_knee"]],
        by=org_admin,
    )
    application = services.variation_start(entitlement=entitlement, by=referrer)
    copied_ct = application.scope_items.get(examination=catalogue["ct_head"])
    services.application_scope_item_remove(item=copied_ct, by=referrer)
    services.application_scope_item_add(
        application=application,
        by=referrer,
        request=ScopeRequest(group=head_and_knee, age_min=16, settings=("ED",)),
    )
    services.evidence_add(application=application, by=referrer, upload=pdf_upload(), kind="other")
    services.application_submit(application=application, by=referrer)
    services.application_endorse(
        application=application, by=people["supervisor"], outcome="endorsed"
    )
    new = services.application_decide(
        application=application, by=people["delegate"], outcome="granted", rationale="OK"
    ).entitlement

    states = {(i.examination_id, i.group_id): i.state for i in new.scope_items.all()}
    assert states == {
        (catalogue["xr_chest"].pk, None): ScopeItemState.ACTIVE,
        (None, head_and_knee.pk): ScopeItemState.SUSPENDED,
    }
    [event] = new.events.filter(action=EventAction.ITEM_SUSPENDED)
    assert event.reason == (
        f"Suspended, as CT Head with contrast (CHEAC) was on {entitlement.reference}: {REASON}"
    )


# --- Scope items on their own --------------------------------------------------------------


@pytest.mark.parametrize("by", ["delegate", "rule:training.lapse"])
def test_scope_items_are_suspended_and_reinstated_while_the_entitlement_stays_active(
    entitlement, people, by
):
    who = actor(people, by)
    xr, ct = entitlement.scope_items.order_by("id")
    letters = Letter.objects.count()

    services.entitlement_suspend(entitlement=entitlement, by=who, reason=REASON, scope_items=[ct])

    entitlement.refresh_from_db()
    xr.refresh_from_db()
    ct.refresh_from_db()
    assert entitlement.state == ACTIVE
    assert (xr.state, ct.state) == (ScopeItemState.ACTIVE, ScopeItemState.SUSPENDED)
    assert ct.suspended_reason == REASON and ct.suspended_at is not None
    [event] = entitlement.events.filter(action=EventAction.ITEM_SUSPENDED)
    assert event.scope_item == ct
    assert (event.from_state, event.to_state) == (ScopeItemState.ACTIVE, ScopeItemState.SUSPENDED)
    assert (event.actor, event.rule) == ((None, who.name) if by.startswith("rule:") else (who, ""))
    assert Letter.objects.get(event=event).status == LetterStatus.PENDING
    assert Letter.objects.count() == letters + 1
    latest = ct.history.order_by("-history_date", "-history_id").first()
    assert latest.state == ScopeItemState.SUSPENDED
    assert latest.history_user == (None if by.startswith("rule:") else who)
    assert Notification.objects.filter(
        user=people["referrer"], subject="Part of your entitlement has been suspended"
    ).exists()

    reinstater = actor(people, "rule:training.renewal" if by.startswith("rule:") else by)
    services.entitlement_reinstate(
        entitlement=entitlement, by=reinstater, reason="Training renewed", scope_items=[ct.pk]
    )

    ct.refresh_from_db()
    entitlement.refresh_from_db()
    assert entitlement.state == ACTIVE
    assert ct.state == ScopeItemState.ACTIVE and ct.suspended_reason == ""
    [event] = entitlement.events.filter(action=EventAction.ITEM_REINSTATED)
    assert event.scope_item == ct and event.reason == "Training renewed"
    assert Letter.objects.filter(event=event).exists()
    assert Letter.objects.count() == letters + 2
    assert Notification.objects.filter(
        user=people["referrer"], subject="Part of your entitlement has been reinstated"
    ).exists()


def test_several_items_at_once_make_one_event_each_and_one_letter(entitlement, people):
    items = list(entitlement.scope_items.all())
    letters = Letter.objects.count()
    services.entitlement_suspend(
        entitlement=entitlement, by=people["delegate"], reason=REASON, scope_items=items
    )
    assert entitlement.events.filter(action=EventAction.ITEM_SUSPENDED).count() == 2
    assert Letter.objects.count() == letters + 1
    entitlement.refresh_from_db()
    assert entitlement.state == ACTIVE


# --- Illegal transitions -------------------------------------------------------------------


def _other_entitlement(people, trust, catalogue):
    """Priya's second entitlement (clinical evaluation), whose items are not the first's."""
    application = apply(
        people["referrer"],
        trust,
        [catalogue["mr_knee"]],
        supervisor=people["supervisor"],
        until="endorsed",
        kind="clinical_evaluation",
    )
    return grant(application, people["delegate"])


ILLEGAL = [
    # (state, operation, by, message)
    *[
        (state, operation, by, f"is {state}, so it cannot be")
        for state in (REVOKED, EXPIRED, SUPERSEDED)
        for operation, by in (
            ("suspend", "delegate"),
            ("suspend", "rule:training.lapse"),
            ("reinstate", "delegate"),
            ("reinstate", "rule:training.renewal"),
            ("revoke", "delegate"),
            ("revoke", "rule:training.grace"),
            ("expire", "rule:review.overdue"),
            ("suspend-items", "delegate"),
            ("reinstate-items", "delegate"),
        )
    ],
    *[
        (state, f"notify:{kind}", "referrer", f"is {state}, so there is nothing to change")
        for state in (REVOKED, EXPIRED, SUPERSEDED)
        for kind in ChangeKind.values
    ],
    *[
        (state, "vary", "referrer", "apply again instead")
        for state in (REVOKED, EXPIRED, SUPERSEDED)
    ],
    (ACTIVE, "reinstate", "delegate", "is active, so it cannot be reinstated"),
    (ACTIVE, "reinstate", "rule:training.renewal", "is active, so it cannot be reinstated"),
    (SUSPENDED, "suspend", "delegate", "is suspended, so it cannot be suspended"),
    (SUSPENDED, "suspend", "rule:training.lapse", "is suspended, so it cannot be suspended"),
    (SUSPENDED, "suspend-items", "delegate", "is suspended, so it cannot be changed item by item"),
    (SUSPENDED, "reinstate-items", "delegate", "is suspended, so it cannot be changed item by"),
    (ACTIVE, "reinstate-items", "delegate", "is not suspended"),
    (ACTIVE, "suspend-suspended-item", "delegate", "is already suspended"),
    (ACTIVE, "suspend-items-of-another", "delegate", "Select scope items of this entitlement"),
    (ACTIVE, "reinstate-items-of-another", "delegate", "Select scope items of this entitlement"),
    (ACTIVE, "suspend-no-items", "delegate", "Select scope items of this entitlement"),
    (ACTIVE, "suspend-without-reason", "delegate", "Enter the reason"),
    (SUSPENDED, "reinstate-without-reason", "delegate", "Enter the reason"),
    (ACTIVE, "revoke-without-reason", "delegate", "Enter the reason"),
    (ACTIVE, "expire-without-reason", "rule:review.overdue", "Enter the reason"),
]


@pytest.mark.parametrize(
    ("state", "operation", "by", "message"),
    ILLEGAL,
    ids=[f"{c[0]}-{c[1]}-by-{c[2]}" for c in ILLEGAL],
)
def test_an_illegal_transition_is_refused_with_a_reason_and_changes_nothing(
    entitlement, people, trust, catalogue, state, operation, by, message
):
    other = None
    if operation.endswith("-of-another"):
        other = _other_entitlement(people, trust, catalogue)
    if operation == "suspend-suspended-item":
        services.entitlement_suspend(
            entitlement=entitlement,
            by=people["delegate"],
            reason="Setting up",
            scope_items=[entitlement.scope_items.first()],
        )
    entitlement = put_in(entitlement, state, people)
    who = actor(people, by)
    before = snapshot(entitlement)
    items = list(entitlement.scope_items.all())

    with pytest.raises(ValidationError) as refused:
        if operation == "suspend-items":
            do("suspend", entitlement, who, scope_items=items)
        elif operation == "reinstate-items":
            do("reinstate", entitlement, who, scope_items=items)
        elif operation == "suspend-suspended-item":
            do("suspend", entitlement, who, scope_items=items)
        elif operation == "suspend-items-of-another":
            do("suspend", entitlement, who, scope_items=list(other.scope_items.all()))
        elif operation == "reinstate-items-of-another":
            theirs = other.scope_items.first()
            services.entitlement_suspend(
                entitlement=other, by=people["delegate"], reason="Set up", scope_items=[theirs]
            )
            before = snapshot(entitlement)
            do("reinstate", entitlement, who, scope_items=[theirs])
        elif operation == "suspend-no-items":
            do("suspend", entitlement, who, scope_items=[])
        elif operation.endswith("-without-reason"):
            do(operation.removesuffix("-without-reason"), entitlement, who, reason="  ")
        elif operation == "vary":
            services.variation_start(entitlement=entitlement, by=who)
        else:
            do(operation, entitlement, who)

    assert message in " ".join(refused.value.messages)
    if isinstance(refused.value, TransitionError):
        assert entitlement.reference in " ".join(refused.value.messages)
    assert snapshot(entitlement) == before


def test_a_scope_item_of_another_entitlement_is_not_touched(entitlement, people, trust, catalogue):
    other = _other_entitlement(people, trust, catalogue)
    theirs = other.scope_items.get()
    with pytest.raises(ValidationError):
        services.entitlement_suspend(
            entitlement=entitlement, by=people["delegate"], reason=REASON, scope_items=[theirs.pk]
        )
    theirs.refresh_from_db()
    assert theirs.state == ScopeItemState.ACTIVE
    assert not other.events.exclude(action=EventAction.GRANTED).exists()


# --- Idempotency, uniqueness, no deletion --------------------------------------------------


@pytest.mark.parametrize(
    ("start", "operation", "rule", "kwargs"),
    [
        (ACTIVE, "suspend", "training.lapse", {}),
        (ACTIVE, "suspend-items", "training.lapse", {}),
        (SUSPENDED, "reinstate", "training.renewal", {}),
        (SUSPENDED, "revoke", "training.grace", {}),
        (ACTIVE, "expire", "review.overdue", {}),
    ],
)
def test_the_same_idempotency_key_twice_does_one_thing(
    entitlement, people, start, operation, rule, kwargs
):
    """A control job that runs again (or on a second worker) acts once."""
    entitlement = put_in(entitlement, start, people)
    by = Rule(people["procedure"], rule)
    key = f"{rule}:{entitlement.pk}:2026-03-02"
    if operation == "suspend-items":
        kwargs = {"scope_items": [entitlement.scope_items.last()]}
        operation = "suspend"
    do(operation, entitlement, by, idempotency_key=key, **kwargs)
    after_first = snapshot(entitlement)

    do(operation, entitlement, by, idempotency_key=key, **kwargs)

    assert snapshot(entitlement) == after_first
    assert EntitlementEvent.objects.filter(idempotency_key=key).count() == 1


def test_a_second_live_entitlement_for_the_same_employment_and_kind_is_refused(
    entitlement, people, catalogue
):
    application = Application.objects.create(
        referrer=entitlement.referrer,
        employment=entitlement.employment,
        organisation=entitlement.organisation,
        kind=entitlement.kind,
        status=ApplicationStatus.GRANTED,
    )
    appointment = DelegateAppointment.objects.get(delegate=people["delegate"])
    decision = Decision.objects.create(
        application=application,
        delegate=people["delegate"],
        appointment=appointment,
        outcome=DecisionOutcome.GRANTED,
        rationale="Second grant",
    )
    before = snapshot(entitlement)
    with pytest.raises(TransitionError, match="already holds a live entitlement"):
        services.entitlement_grant(
            application=application,
            decision=decision,
            items=[ScopeItemData(examination_id=catalogue["xr_chest"].pk, settings=["ED"])],
            by=people["delegate"],
            appointment=appointment,
        )
    assert snapshot(entitlement) == before

    # The database refuses it too, whoever writes it.
    fields = {
        "referrer": entitlement.referrer,
        "employment": entitlement.employment,
        "organisation": entitlement.organisation,
        "kind": entitlement.kind,
        "application": application,
        "decision": decision,
        "granted_by": people["delegate"],
        "delegate_appointment": appointment,
        "procedure_version": people["procedure"],
        "review_due_on": datetime.date(2028, 1, 1),
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        Entitlement.objects.create(**fields)
    # Once the first has ended, a new one may be granted for the same employment.
    put_in(entitlement, REVOKED, people)
    assert Entitlement.objects.create(**fields).state == ACTIVE


def test_entitlements_cannot_be_deleted(entitlement):
    assert not hasattr(services, "entitlement_delete")
    with pytest.raises(ProtectedError), transaction.atomic():
        entitlement.delete()
    assert Entitlement.objects.filter(pk=entitlement.pk).exists()


def test_a_rule_must_be_one_the_procedures_name(procedure):
    with pytest.raises(ValueError, match="Unknown procedure rule"):
        Rule(procedure, "training.whenever")
