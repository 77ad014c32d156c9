"""Builders for the audits tests: an entitlement granted on a known date, a scope change by
variation, reports recorded and reviewed through the services."""

import datetime
from zoneinfo import ZoneInfo

import time_machine

from audits import services as audit_services
from entitlements import services
from entitlements.models import ProcedureVersion
from entitlements.services import Rule, ScopeRequest
from tests.journeys import grant, pdf_upload

LONDON = ZoneInfo("Europe/London")


def at(day: datetime.date, hour: int = 12) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=LONDON)


def vary(entitlement, *, referrer, delegate, remove=(), add=()):
    """A variation of `entitlement` through the services: items for the examinations in
    `remove` taken out, `add` (ScopeRequests) put in, endorsed and granted."""
    variation = services.variation_start(entitlement=entitlement, by=referrer)
    for item in list(variation.scope_items.all()):
        if item.examination in remove:
            services.application_scope_item_remove(item=item, by=referrer)
    for request in add:
        services.application_scope_item_add(application=variation, by=referrer, request=request)
    services.evidence_add(application=variation, by=referrer, upload=pdf_upload(), kind="training")
    services.application_submit(application=variation, by=referrer)
    services.application_endorse(
        application=variation, by=variation.clinical_supervisor, outcome="endorsed"
    )
    variation.refresh_from_db()
    return grant(variation, delegate)


def schedule(organisation, version: ProcedureVersion) -> int:
    return audit_services.audit_cycles_schedule(
        organisation=organisation, version=version, by=Rule(version, "audit.overdue")
    )


def report(
    *,
    organisation,
    practitioner,
    delegate,
    referrer,
    examination,
    referred_on: datetime.date,
    upheld: bool | None = True,
    category: str = "not_meeting_guidelines",
):
    """A report recorded by the practitioner and (unless `upheld` is None) reviewed."""
    made = audit_services.inappropriate_referral_record(
        organisation=organisation,
        by=practitioner,
        referrer=referrer.referrer_profile,
        examination=examination,
        referred_on=referred_on,
        category=category,
        details="CT head requested for a simple fall without red flags.",
    )
    if upheld is not None:
        audit_services.inappropriate_referral_review(
            report=made, by=delegate, upheld=upheld, notes="Please follow iRefer for head injury."
        )
    return made


def mr_knee_request(examination):
    return ScopeRequest(examination=examination, age_min=18, age_max=None, settings=("OUTPATIENT",))


__all__ = ["at", "mr_knee_request", "report", "schedule", "time_machine", "vary"]
