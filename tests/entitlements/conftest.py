"""Helpers for the catalogue and procedure tests."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from entitlements import services
from entitlements.services import TrainingRuleData
from referrers.models import Role
from tests.factories import UserFactory, give_role

LONDON = ZoneInfo("Europe/London")
TODAY = datetime.date(2026, 3, 2)


def rules(**overrides) -> dict:
    """A full, valid set of procedure rules."""
    values = {
        "document_reference": "RAD-POL-012 version 4",
        "effective_from": datetime.date(2026, 4, 1),
        "warning_lead_days": [60, 30, 7],
        "lapse_action": "suspend_items",
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
    values.update(overrides)
    return values


TRAINING = [
    TrainingRuleData("radiation_protection", "ionising", 36),
    TrainingRuleData("referral_guidelines", "all", 24),
]


def form_data(**overrides) -> dict:
    """What a browser posts for a valid procedure version form."""
    data = {
        "document_reference": "RAD-POL-012 version 4",
        "effective_from_day": "1",
        "effective_from_month": "4",
        "effective_from_year": "2026",
        "warning_lead_days": "60, 30, 7",
        "lapse_action": "suspend_items",
        "grace_days": "30",
        "renewal_action": "reinstate",
        "review_interval_months": "24",
        "review_overdue_action": "suspend",
        "audit_frequency_months": "12",
        "audit_minimum_sample": "20",
        "audit_compliance_standard_percent": "90",
        "audit_overdue_action": "warn",
        "audit_overdue_suspend_after_days": "",
        "feedback_threshold_count": "3",
        "feedback_window_months": "12",
        "feedback_action": "flag",
        "cpd_hours_per_year": "",
        "radiation_protection_required_for": "ionising",
        "radiation_protection_validity_months": "36",
        "contrast_safety_required_for": "contrast",
        "contrast_safety_validity_months": "24",
        "mri_safety_required_for": "",
        "mri_safety_validity_months": "",
        "referral_guidelines_required_for": "all",
        "referral_guidelines_validity_months": "24",
    }
    data.update(overrides)
    return data


@pytest.fixture
def today():
    """Every test here runs on 2 March 2026, midday in London."""
    with time_machine.travel(datetime.datetime(2026, 3, 2, 12, 0, tzinfo=LONDON), tick=False):
        yield TODAY


@pytest.fixture
def catalogue_viewer(trust):
    """Someone who may see the organisation's catalogue and procedure but not change them."""
    return give_role(
        UserFactory(email="viewer@example.nhs.uk", full_name="Vic Viewer"),
        trust,
        Role.CLINICAL_SUPERVISOR,
    )


@pytest.fixture
def make_draft(trust, org_admin):
    def make(organisation=None, by=None, training=TRAINING, **overrides):
        return services.procedure_version_create_draft(
            organisation=organisation or trust,
            rules=rules(**overrides),
            training_rules=list(training),
            procedure_title="Non-medical referrer entitlement procedure",
            by=by or org_admin,
        )

    return make
