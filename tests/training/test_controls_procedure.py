"""A new procedure version in force changes what the run does from its first day, and every
action cites the version in force on its date (principle 8).

Version 2 of the main trust's procedure, published in May 2025 to start on 1 July 2025:
contrast safety valid 12 months instead of 24, a lapse suspends the whole entitlement
instead of the items that need it, and warnings 45 and 14 days ahead instead of 60, 30, 7.
"""

import datetime

from entitlements import services as entitlement_services
from entitlements.models import EntitlementEvent, EventAction
from entitlements.services import TrainingRuleData
from training.models import ControlAction, TrainingLapse

from .conftest import CONTRAST, GUIDELINES, MRI, RP

D = datetime.date
V2_STARTS = D(2025, 7, 1)


def publish_version_2(world):
    rules = {
        "document_reference": "RAD-POL-012 v5",
        "effective_from": V2_STARTS,
        "warning_lead_days": [45, 14],
        "lapse_action": "suspend_entitlement",
        "grace_days": 30,
        "renewal_action": "reinstate",
        "review_interval_months": 24,
        "review_overdue_action": "suspend",
        "audit_frequency_months": 12,
        "audit_minimum_sample": 20,
        "audit_compliance_standard_percent": 90,
        "audit_overdue_action": "warn",
        "audit_overdue_suspend_after_days": None,
        "feedback_threshold_count": 3,
        "feedback_window_months": 12,
        "feedback_action": "flag",
        "cpd_hours_per_year": None,
    }
    draft = entitlement_services.procedure_version_create_draft(
        organisation=world.organisation,
        rules=rules,
        training_rules=[
            TrainingRuleData(RP, "ionising", 36),
            TrainingRuleData(CONTRAST, "contrast", 12),
            TrainingRuleData(MRI, "mri", 24),
            TrainingRuleData(GUIDELINES, "all", 24),
        ],
        by=world.admin,
    )
    return entitlement_services.procedure_version_publish(version=draft, by=world.admin)


def test_a_new_version_changes_later_actions_and_each_cites_the_version_in_force(world, clock):
    v1 = world.version
    clock.daytime(D(2025, 5, 20))
    v2 = publish_version_2(world)
    assert v2.number == v1.number + 1

    day = D(2025, 6, 1)
    while day <= D(2025, 7, 10):
        clock.run(day, organisation=world.organisation)
        day += datetime.timedelta(days=1)

    def actions(name):
        return [
            (a.run_date, a.rule, a.action, a.procedure_version.number)
            for a in ControlAction.objects.filter(referrer=world.profile(name))
            .select_related("procedure_version")
            .order_by("id")
        ]

    # Ada's lapse of 11 May is caught up and revoked under version 1: only her CT item.
    assert actions("Ada") == [
        (D(2025, 6, 1), "training.lapse", "items_suspended", v1.number),
        (D(2025, 6, 11), "training.grace", "revoked", v1.number),
    ]
    # Ben: warned under version 1 (valid until 20 July 2025 under 24 months); under version 2
    # his record of July 2023 expired a year ago, so his training lapses the day it starts,
    # and the whole entitlement is suspended.
    assert actions("Ben") == [
        (D(2025, 6, 1), "training.warning", "warned", v1.number),
        (D(2025, 6, 20), "training.warning", "warned", v1.number),
        (V2_STARTS, "training.lapse", "suspended", v2.number),
    ]
    # Eve: the 60-day warning under version 1; from 1 July the 45-day one under version 2
    # (version 1's 30-day warning, due 2 July, is no longer the procedure).
    assert actions("Eve") == [
        (D(2025, 6, 2), "training.warning", "warned", v1.number),
        (V2_STARTS, "training.warning", "warned", v2.number),
    ]
    eve_keys = ControlAction.objects.filter(referrer=world.profile("Eve")).values_list(
        "idempotency_key", flat=True
    )
    assert [key.rsplit(":", 1)[1] for key in eve_keys] == ["60", "45"]

    ben = world.entitlements["Ben"]
    suspended = EntitlementEvent.objects.get(entitlement=ben, action=EventAction.SUSPENDED)
    assert (suspended.procedure_version, suspended.rule) == (v2, "training.lapse")
    assert "Contrast safety training lapsed on 1 July 2025" in suspended.reason
    lapse = TrainingLapse.objects.get(entitlement=ben)
    assert (lapse.procedure_version, lapse.lapsed_on, lapse.suspended_whole) == (
        v2,
        V2_STARTS,
        True,
    )
    ada = world.entitlements["Ada"]
    revoked = EntitlementEvent.objects.get(entitlement=ada, action=EventAction.REVOKED)
    assert (revoked.procedure_version, revoked.rule) == (v1, "training.grace")
    # The entitlements were granted under version 1; the rule cited is the one in force.
    assert ben.procedure_version == v1
