"""Running the control rules for one date: batches, the row lock, the ledger, exactly once.

For each organisation with a procedure version in force on the date, four walks:

1. The entitlements due something from a rule that acts on one entitlement (one query
   selects them all by condition; batches by primary key, each loaded whole). For each, in
   this order, each rule deciding on the data as the one before left it:
   a. closing lapses of an entitlement that ended (carried over to a variation's successor);
   b. `registration.lapse`: suspend on a lapsed registration, queue for a delegate when
      renewed;
   c. `review.overdue`: suspend or expire past the review date;
   d. `training.renewal`: reinstate (or queue) what a renewed lapse suspended; before any
      revocation, so a renewal verified on the last day of the grace period reinstates.
2. The referrers whose training is lapsed or within the longest lead time of expiring
   (batches by referrer). For each of their entitlements: `training.lapse` (record and
   suspend), then `training.grace` (revoke when the lapse began more than the grace period
   ago: a run catching up after missed nights revokes what the nightly runs would have);
   then `training.warning`, once per referrer.
3. `audit.overdue`: first audits scheduled for live referral entitlements without one, then
   the open audit cycles due a warning or a suspension (`training.controls.audits`).
4. `feedback.threshold`: the referrers whose uncounted upheld inappropriate-referral reports
   in the window reach the threshold: flagged for review or suspended.

An entitlement due something on the batch's data is settled in one transaction: its row is
locked and its snapshot read again (the rules decide again on that fresh data, and again
after each action, reading again only what an action can change; a plan whose key is no
longer due is skipped); each action, in a savepoint, inserts the ledger row
(`ControlAction`; its unique key makes a second worker's insert fail, and that worker
skips), then makes the change with the same key. An action without an entitlement (a
warning), an audit cycle's and a referrer's feedback action each have their own
transaction. A worker killed mid-run leaves every action either done whole or not at all;
a rerun does the rest. The outbox rows of an action (its letter, its notifications'
e-mails) are written together at its end, in its transaction, and handed to a worker once
per batch (`referrers.outbox`), not published one by one after each commit. A dry run is
the same run inside one transaction that is rolled back at the end: it reports exactly
what the run would do and changes nothing.
"""

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TextIO

from django.db import IntegrityError, InterfaceError, OperationalError, transaction

from entitlements.models import Entitlement, ProcedureVersion
from entitlements.services import Rule
from referrers.models import Organisation, User
from referrers.outbox import outbox_buffered, outbox_deferred, outbox_handover

from ..models import ControlAction
from ..selectors import controls as candidates
from ..selectors.controls import batched_ids, load_snapshots, reload_snapshot
from . import audits, rules
from .rules import Plan

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
# After an action, the same entitlement is decided again for follow-ups (one lapse's
# renewal may free what another lapse holds); a bound, in case of a bug, not a limit.
FOLLOW_UP_ROUNDS = 5


@dataclass(frozen=True)
class ActionLine:
    """One action the run took (or, in a dry run, would take)."""

    organisation: str
    rule: str
    action: str
    key: str
    subject: str
    detail: str
    would: bool = False

    def __str__(self) -> str:
        prefix = "would " if self.would else ""
        return (
            f"{prefix}{self.organisation} {self.rule} {self.action} {self.subject}: {self.detail}"
        )


@dataclass
class RunResult:
    on: datetime.date
    dry_run: bool = False
    organisations: list[str] = field(default_factory=list)
    actions: list[ActionLine] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.actions)


@dataclass
class Context:
    """One organisation's run for one date."""

    on: datetime.date
    organisation: Organisation
    version: ProcedureVersion
    result: RunResult
    dry_run: bool = False
    out: TextIO | None = None
    batch_size: int = BATCH_SIZE
    _delegates: list[User] | None = None

    def rule(self, name: str) -> Rule:
        return Rule(self.version, name)

    @property
    def delegates(self) -> list[User]:
        """The delegates to tell, read once, when the first action needs them."""
        if self._delegates is None:
            self._delegates = candidates.delegates_of(self.organisation, self.on)
        return self._delegates

    def report(self, plan: Plan) -> None:
        line = ActionLine(
            organisation=self.organisation.ods_code,
            rule=plan.rule,
            action=plan.action,
            key=plan.key,
            subject=plan.subject,
            detail=plan.detail,
            would=self.dry_run,
        )
        self.result.actions.append(line)
        if self.out is not None:
            self.out.write(f"{line}\n")


def _lock(entitlement_id: int) -> None:
    list(Entitlement.objects.select_for_update().filter(pk=entitlement_id).values_list("pk"))


class _Taken(Exception):
    """Another run already took this action: its ledger row exists."""


def _claim(ctx: Context, plan: Plan) -> None:
    """Write the ledger row first; raises `_Taken` if another run already took this action
    (the caller's transaction or savepoint is then rolled back, with nothing else done)."""
    try:
        ControlAction.objects.create(
            organisation=ctx.organisation,
            run_date=ctx.on,
            rule=plan.rule,
            procedure_version=ctx.version,
            action=plan.action,
            entitlement=plan.entitlement,
            referrer=plan.referrer,
            training_kind=plan.training_kind,
            detail=plan.detail,
            idempotency_key=plan.key,
        )
    except IntegrityError:
        raise _Taken from None


def _attempt(ctx: Context, plan: Plan, *, lock: bool, recheck=None) -> bool:
    """Carry out one plan, whole or not at all: its own transaction, or a savepoint inside
    the entitlement's. True if it was done (or, in a dry run, would be). An error is logged
    and reported, and the run goes on with the rest."""
    try:
        with transaction.atomic():
            if lock and plan.entitlement is not None:
                _lock(plan.entitlement.pk)
            if recheck is not None:
                plan = next((p for p in recheck() if p.key == plan.key), None)
                if plan is None:
                    return False
            # Its letter's and notifications' outbox rows are written together, in the
            # same transaction, when it is done.
            with outbox_buffered():
                _claim(ctx, plan)
                plan.apply()
    except _Taken:
        return False
    except (OperationalError, InterfaceError):
        raise  # the database is unwell (or a deadlock): stop, and let the task be retried
    except Exception as error:  # one bad row must not stop every other action
        logger.exception("Control action %s failed", plan.key)
        ctx.result.errors.append(f"{plan.key}: {error}")
        return False
    ctx.report(plan)
    return True


def execute(ctx: Context, plan: Plan, recheck=None) -> bool:
    """Carry out one plan in its own transaction, inside its entitlement's row lock (if it
    has one), decided again by `recheck` there; True if it was done."""
    return _attempt(ctx, plan, lock=True, recheck=recheck)


class _Fresh:
    """One entitlement's snapshot, read whole inside its row lock, and read again (what an
    action can change) only when an action has changed it and something is still to be
    decided."""

    def __init__(self, pk: int):
        self.pk = pk
        self.stale = True
        self._snapshot = None

    def get(self):
        if self.stale:
            if self._snapshot is None:  # the first read takes the row lock
                self._snapshot = load_snapshots([self.pk], lock=True).get(self.pk)
            else:
                self._snapshot = reload_snapshot(self._snapshot)
            self.stale = False
        return self._snapshot


def _settle(ctx: Context, snapshot, rules_in_order) -> None:
    """Every rule of `rules_in_order` for one entitlement, in one transaction under its row
    lock. Decided first on the batch's data: an entitlement due nothing there costs
    nothing more. Otherwise, inside the lock, each rule decides on fresh data (read once,
    and again only after an action), each plan is decided again after an action before it
    (a plan whose key is no longer due is skipped), and each runs in a savepoint, so a
    failing action undoes only itself; a follow-up rule decides again after acting, until
    nothing more is due. A worker killed in the middle leaves the entitlement's actions
    all done or none."""
    if not any(decide(snapshot, ctx) for decide, _ in rules_in_order):
        return
    pk = snapshot.entitlement.pk
    with transaction.atomic():
        fresh = _Fresh(pk)
        attempted: set[str] = set()
        for decide, follow_up in rules_in_order:
            for _ in range(FOLLOW_UP_ROUNDS):
                current = fresh.get()
                if current is None:
                    return
                acted = False
                for plan in [p for p in decide(current, ctx) if p.key not in attempted]:
                    attempted.add(plan.key)
                    if fresh.stale:  # an action before it changed the data: decide again
                        current = fresh.get()
                        plan = (
                            next((p for p in decide(current, ctx) if p.key == plan.key), None)
                            if current is not None
                            else None
                        )
                        if plan is None:
                            continue
                    if _attempt(ctx, plan, lock=False):
                        acted = True
                        fresh.stale = True
                if not (acted and follow_up):
                    break


# The rules that act on one entitlement at a time, in their order, and whether an action
# may free another (one lapse's renewal can let another's items come back).
ENTITLEMENT_RULES = (
    (rules.decide_ended, False),
    (rules.decide_registration, False),
    (rules.decide_review, False),
    (rules.decide_renewal, True),
)
# The rules that act on an entitlement whose training is lapsed or about to be, in order: a
# lapse recorded by a run catching up after missed nights is revoked by that same run if
# the grace period has passed, as the nightly runs would have done by then (so running the
# same date again finds nothing more to do).
TRAINING_RULES = (
    (rules.decide_lapse, True),
    (rules.decide_grace, False),
)


def run_entitlements(ctx: Context) -> None:
    """Every rule that acts on one entitlement, over one walk of the entitlements due
    something (in batches by primary key, each loaded whole): for each, the rules in order,
    each deciding on data as the one before left it."""
    queryset = candidates.entitlement_candidates(ctx.organisation, ctx.version, ctx.on)
    for ids in batched_ids(queryset, ctx.batch_size):
        snapshots = load_snapshots(ids)
        for pk in ids:
            if pk in snapshots:
                _settle(ctx, snapshots[pk], ENTITLEMENT_RULES)
        outbox_handover()


def run_training(ctx: Context) -> None:
    """`training.lapse`, `training.grace` and `training.warning`, over one walk of the
    referrers whose training is lapsed or within the longest lead time of expiring (so the
    heaviest query runs once; grace only ever revokes for training still lapsed, so its
    candidates are among these). Each batch of referrers is loaded whole; each of their
    entitlements is decided for lapses, then for grace; then each referrer (all their
    entitlements from the organisation together) for warnings, which go to the person."""
    queryset = candidates.warning_candidates(ctx.organisation, ctx.version, ctx.on)
    for referrer_ids in batched_ids(queryset, ctx.batch_size, "referrer_id"):
        ids = list(queryset.filter(referrer_id__in=referrer_ids).values_list("pk", flat=True))
        snapshots = load_snapshots(ids)
        for pk in sorted(snapshots):
            _settle(ctx, snapshots[pk], TRAINING_RULES)
        by_referrer = defaultdict(list)
        for snapshot in snapshots.values():
            by_referrer[snapshot.entitlement.referrer_id].append(snapshot)
        warnings = [
            plan
            for referrer_id in referrer_ids
            for plan in rules.decide_warnings(
                sorted(by_referrer.get(referrer_id, []), key=lambda s: s.entitlement.pk), ctx
            )
        ]
        # A warning's condition stays true for days: skip those already sent in one query,
        # rather than one failed insert each (a rerun of the date stays cheap).
        sent = (
            set(
                ControlAction.objects.filter(
                    idempotency_key__in=[plan.key for plan in warnings]
                ).values_list("idempotency_key", flat=True)
            )
            if warnings
            else set()
        )
        for plan in warnings:
            if plan.key not in sent:
                execute(ctx, plan)
        outbox_handover()


def run_audits(ctx: Context) -> None:
    """`audit.overdue`: first schedule an audit for every live referral entitlement that
    has none, then walk the open cycles due something (warning or suspension), in batches by
    primary key, each decided again inside its entitlement's row lock."""
    from audits.services import audit_cycles_schedule

    audit_cycles_schedule(
        organisation=ctx.organisation, version=ctx.version, by=ctx.rule("audit.overdue")
    )
    queryset = candidates.audit_overdue_candidates(ctx.organisation, ctx.version, ctx.on)
    for ids in batched_ids(queryset, ctx.batch_size):
        cycles, taken = candidates.load_audit_cycles(ids)
        for cycle in cycles:

            def recheck(pk=cycle.pk) -> list[Plan]:
                fresh, keys = candidates.load_audit_cycles([pk])
                return audits.decide_audit_overdue(fresh[0], keys, ctx) if fresh else []

            for plan in audits.decide_audit_overdue(cycle, taken, ctx):
                execute(ctx, plan, recheck)
        outbox_handover()


def run_feedback(ctx: Context) -> None:
    """`feedback.threshold`: the referrers whose uncounted upheld reports in the window
    reach the threshold (grouped in SQL), in batches, each decided again inside the row lock
    of their first live entitlement."""
    queryset = candidates.feedback_candidates(ctx.organisation, ctx.version, ctx.on)
    referrer_ids = sorted(set(queryset))
    for start in range(0, len(referrer_ids), ctx.batch_size):
        batch = referrer_ids[start : start + ctx.batch_size]
        reports, entitlements = candidates.load_feedback(
            ctx.organisation, ctx.version, ctx.on, batch
        )
        for referrer_id in batch:

            def recheck(referrer_id=referrer_id) -> list[Plan]:
                fresh_reports, fresh = candidates.load_feedback(
                    ctx.organisation, ctx.version, ctx.on, [referrer_id]
                )
                return audits.decide_feedback(fresh_reports[referrer_id], fresh[referrer_id], ctx)

            for plan in audits.decide_feedback(
                reports[referrer_id], entitlements[referrer_id], ctx
            ):
                execute(ctx, plan, recheck)
        outbox_handover()


def run_organisation(ctx: Context) -> None:
    run_entitlements(ctx)
    run_training(ctx)
    run_audits(ctx)
    run_feedback(ctx)


def run_controls(
    *,
    on: datetime.date,
    organisation: Organisation | None = None,
    dry_run: bool = False,
    out: TextIO | None = None,
    batch_size: int = BATCH_SIZE,
) -> RunResult:
    """Run every control rule for `on` at each organisation with a procedure version in
    force that day (or only at `organisation`). Returns what was done (or, with `dry_run`,
    what would be), writing one line per action to `out` as it goes."""
    result = RunResult(on=on, dry_run=dry_run)
    if not dry_run:
        _run(result, on, organisation, out, batch_size)
        return result
    # A dry run is the real run inside one transaction that is then rolled back: it reports
    # exactly what the run would do (one action leading to another included), and nothing
    # it did is ever seen by anyone else, nor any e-mail sent or letter rendered (those wait
    # for a commit that never comes).
    with transaction.atomic():
        _run(result, on, organisation, out, batch_size, dry_run=True)
        transaction.set_rollback(True)
    return result


def _run(result, on, organisation, out, batch_size, *, dry_run=False) -> None:
    # The e-mails and letters of each batch's actions are handed to a worker together once
    # the batch is done, not published one by one after each commit.
    with outbox_deferred():
        _run_organisations(result, on, organisation, out, batch_size, dry_run=dry_run)


def _run_organisations(result, on, organisation, out, batch_size, *, dry_run=False) -> None:
    for each, version in candidates.organisations_to_control(on, organisation):
        result.organisations.append(each.ods_code)
        ctx = Context(
            on=on,
            organisation=each,
            version=version,
            result=result,
            dry_run=dry_run,
            out=out,
            batch_size=batch_size,
        )
        run_organisation(ctx)
