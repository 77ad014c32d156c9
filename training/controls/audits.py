"""`audit.overdue` and `feedback.threshold` (principles 7, 8 and 10): decided like the other
rules, as plans whose keys describe the cause, never the run.

Idempotency keys (`a` prefixes an audit cycle's id, `o`, `r`, `f` an organisation's, a
referrer's and the inappropriate-referral reports' ids):
  audit.overdue:a<id>:warned                  the audit is overdue: referrer, supervisor and
                                              delegates told
  audit.overdue:a<id>:suspended               suspended (or held, if already suspended), when
                                              the procedure suspends N days after the due date
  feedback.threshold:o<id>:r<id>:f<ids>       these upheld reports reached the threshold:
                                              flagged for review, or suspended (or held); an
                                              entitlement's event carries the key + `:e<id>`
"""

import datetime

from entitlements import services as entitlement_services
from entitlements.models import EntitlementState
from entitlements.models.procedures import AuditOverdueAction, FeedbackAction

from .rules import Plan, day, tell_delegates, tell_referrer

DAY = datetime.timedelta(days=1)


def audit_key(cycle, action: str) -> str:
    return f"audit.overdue:a{cycle.pk}:{action}"


# --- audit.overdue --------------------------------------------------------------------------


def decide_audit_overdue(cycle, taken: set[str], ctx) -> list[Plan]:
    """An open audit due before the run's date: warn once; then, if the procedure in force
    suspends, suspend once its days after the due date have passed (or record that the
    entitlement is already suspended). A delegate who reinstates by hand is not overruled for
    the same audit; submitting the audit stops both."""
    from audits.models import CycleStatus

    entitlement = cycle.entitlement
    if (
        cycle.status != CycleStatus.OPEN
        or cycle.due_on >= ctx.on
        or entitlement.state not in (EntitlementState.ACTIVE, EntitlementState.SUSPENDED)
    ):
        return []
    version = ctx.version
    days = version.audit_overdue_suspend_after_days
    suspends = version.audit_overdue_action == AuditOverdueAction.SUSPEND and days
    reason = (
        f"Audit {cycle.number} of {entitlement.reference}, due on {day(cycle.due_on)}, "
        "has not been submitted"
    )
    base = {"rule": "audit.overdue", "referrer": entitlement.referrer, "entitlement": entitlement}
    plans = []
    warned = audit_key(cycle, "warned")
    if warned not in taken:
        last_day = cycle.due_on + datetime.timedelta(days=days or 0)
        then = f"; the entitlement will be suspended after {day(last_day)}" if suspends else ""

        def warn() -> None:
            tell_referrer(
                entitlement,
                subject=f"Your audit was due on {day(cycle.due_on)}",
                body=f"{reason}. Upload your request extract and submit it{then}.",
            )
            tell_delegates(ctx, entitlement, subject="audit overdue", body=f"{reason}{then}.")

        plans.append(
            Plan(**base, action="warned", key=warned, detail=f"{reason}; warned{then}", apply=warn)
        )
    suspended = audit_key(cycle, "suspended")
    if (
        suspends
        and cycle.due_on + datetime.timedelta(days=days) < ctx.on
        and suspended not in taken
    ):
        why = f"{reason} within {days} days of its due date"
        if entitlement.state == EntitlementState.ACTIVE:

            def suspend() -> None:
                entitlement_services.entitlement_suspend(
                    entitlement=entitlement,
                    by=ctx.rule("audit.overdue"),
                    reason=why,
                    idempotency_key=suspended,
                )
                tell_delegates(ctx, entitlement, subject="suspended", body=why)

            plans.append(
                Plan(
                    **base,
                    action="suspended",
                    key=suspended,
                    detail=f"{why}; suspended",
                    apply=suspend,
                )
            )
        else:

            def hold() -> None:
                tell_delegates(ctx, entitlement, subject="audit overdue", body=why)

            plans.append(
                Plan(
                    **base,
                    action="held",
                    key=suspended,
                    detail=f"{why}; the entitlement is already suspended",
                    apply=hold,
                )
            )
    return plans


# --- feedback.threshold ---------------------------------------------------------------------


def feedback_key(ctx, referrer_id: int, reports) -> str:
    ids = "-".join(str(r.pk) for r in sorted(reports, key=lambda r: r.pk))
    return f"feedback.threshold:o{ctx.organisation.pk}:r{referrer_id}:f{ids}"[:200]


def decide_feedback(reports: list, entitlements: list, ctx) -> list[Plan]:
    """Upheld inappropriate-referral reports about one referrer at the organisation, not yet
    counted, with request dates in the procedure's window: at the threshold, flag the
    referrer's live referral entitlements there for a delegate's review, or suspend them, as
    the procedure says. The reports are then counted, so the next action needs the threshold
    reached again by new reports."""
    from audits.services import inappropriate_referrals_count

    version = ctx.version
    threshold = version.feedback_threshold_count
    if not entitlements or len(reports) < threshold:
        return []
    first = entitlements[0]
    key = feedback_key(ctx, first.referrer_id, reports)
    months = version.feedback_window_months
    reason = (
        f"{len(reports)} upheld inappropriate-referral report{'s' if len(reports) != 1 else ''} "
        f"about requests in the {months} month{'s' if months != 1 else ''} to {day(ctx.on)} "
        f"(the procedure's threshold is {threshold})"
    )
    references = ", ".join(e.reference for e in entitlements)
    rule = ctx.rule("feedback.threshold")

    def count() -> None:
        inappropriate_referrals_count(reports=reports, key=key, by=rule)

    if version.feedback_action == FeedbackAction.SUSPEND:
        active = [e for e in entitlements if e.state == EntitlementState.ACTIVE]

        def suspend() -> None:
            for entitlement in active:
                entitlement_services.entitlement_suspend(
                    entitlement=entitlement,
                    by=rule,
                    reason=reason,
                    idempotency_key=f"{key}:e{entitlement.pk}"[:200],
                )
            for entitlement in entitlements:
                tell_delegates(
                    ctx,
                    entitlement,
                    subject="suspended" if entitlement in active else "feedback threshold reached",
                    body=reason,
                )
            count()

        action = "suspended" if active else "held"
        done = (
            f"suspended {', '.join(e.reference for e in active)}"
            if active
            else "the entitlement is already suspended"
        )
        return [
            Plan(
                rule="feedback.threshold",
                action=action,
                key=key,
                referrer=first.referrer,
                entitlement=first,
                detail=f"{reason}; {done}",
                apply=suspend,
            )
        ]

    def flag() -> None:
        for entitlement in entitlements:
            tell_delegates(ctx, entitlement, subject="flagged for review", body=reason)
        tell_referrer(
            first,
            subject="Your imaging requests have been flagged for review",
            body=f"{reason}. A delegate will review {references} with you.",
        )
        count()

    return [
        Plan(
            rule="feedback.threshold",
            action="flagged",
            key=key,
            referrer=first.referrer,
            entitlement=first,
            detail=f"{reason}; flagged {references} for a delegate's review",
            apply=flag,
        )
    ]
