"""The register: "may this referrer request this examination?", now or as of a past date.

`entitlement_check` answers yes or no for one referrer (by regulator and registration
number), one examination code of the asking employer's catalogue, a patient age and a care
setting, and says why in plain sentences. It fails closed: anything it cannot establish is a
no, with the reason.

Now (no `as_of`): on PostgreSQL one prepared statement (register_now) reads the referrer,
the examination asked about and every scope item of the referrer's referral entitlements at
this employer, each row carrying its entitlement, who granted it, the procedure version, the
current letter's code and who suspended what. Elsewhere (SQLite for `make run`) the ORM reads
the same in two queries (`_read_now_orm`); a test holds the two to the same answers.

As of a date: the state at the end of that day (Europe/London), rebuilt from
django-simple-history: the referrer's registration, the entitlements and their scope items
as they were, group membership as it was, the letter then current and the suspension events
then recorded. Examination codes are looked up in the current catalogue.

`register_search` lists the employer's entitlements (now, or live on a past date) for the
register page; `as_of_problem` says what is wrong with a date asked for.
"""

import datetime
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import JSONObject
from django.utils import timezone

from referrers.models import (
    Employment,
    LevelOfPractice,
    Organisation,
    ReferrerProfile,
    User,
)
from referrers.regulators import Profession, Regulator, normalise_registration_number

from ..modalities import Modality
from ..models import (
    EntitlementEvent,
    EntitlementKind,
    EntitlementState,
    EventAction,
    Examination,
    ExaminationGroup,
    Letter,
    ProcedureVersion,
    ScopeItem,
    ScopeItemState,
)
from ..models.entitlements import Entitlement
from ..models.scope import CareSetting
from . import register_now

OLDEST_PATIENT_AGE = 130
# Read once: a Choices class builds its `values` list afresh on every access.
REGULATORS = tuple(Regulator.values)
SETTING_LABELS = dict(CareSetting.choices)
EXAMINATION_FIELDS = (
    "id",
    "organisation_id",
    "code",
    "name",
    "modality",
    "body_area",
    "ionising",
    "contrast",
    "mri",
    "is_active",
)
BOOLEAN_FIELDS = ("ionising", "contrast", "mri", "is_active")


@dataclass(frozen=True)
class CheckAnswer:
    """The answer to "may this referrer request this examination?" and why."""

    entitled: bool
    reasons: list[str]  # plain English, each a full sentence; why yes or why not
    referrer: ReferrerProfile | None
    examination: Examination | None
    entitlement: Entitlement | None  # the entitlement the answer rests on (as it was on as_of)
    scope_item: ScopeItem | None  # the matching scope item (as it was on as_of)
    conditions: dict | None  # scope_item.conditions() plus "subject" (label) and "code"
    decided_by: str  # delegate's name who granted, "" if none
    procedure_version: str  # e.g. "RDZ procedure v1", "" if none
    letter_code: str  # verification code of the letter then current, "" if none
    as_of: datetime.date | None
    checked_at: datetime.datetime


# --- Dates -----------------------------------------------------------------------------------


def as_of_problem(day: datetime.date | None, *, today: datetime.date | None = None) -> str:
    """What is wrong with `day` as an "as of" date, or "" when it can be used.

    A future date is refused: the register cannot say what has not happened yet."""
    if day is None:
        return ""
    today = today or timezone.localdate()
    if day > today:
        return "The date must be today or in the past"
    return ""


def end_of_day(day: datetime.date) -> datetime.datetime:
    """The first moment after `day` in the service's time zone (Europe/London): history up
    to, and not including, this moment is the state "as of" that day."""
    zone = ZoneInfo(settings.TIME_ZONE)
    return datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min, zone)


def _long_date(value) -> str:
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value).date()
    return f"{value.day} {value:%B %Y}"


# --- What the engine works on (the same for now and for a past date) --------------------------


@dataclass
class _Suspension:
    """Who or what made a suspension: a person, or a procedure version and rule."""

    by: str = ""
    rule: str = ""


@dataclass
class _Item:
    item: ScopeItem
    covers: bool
    suspension: _Suspension | None = None


@dataclass
class _Held:
    """One entitlement as it stood, with what the answer needs to say about it."""

    entitlement: Entitlement
    employment_ends_on: datetime.date | None
    decided_by: str
    procedure_version: str
    letter_code: str
    suspension: _Suspension | None = None
    items: list[_Item] = field(default_factory=list)


def _suspension(actor_name, rule, ods_code, version_number) -> _Suspension | None:
    if actor_name:
        return _Suspension(by=actor_name)
    if rule:
        return _Suspension(by=f"{ods_code} procedure v{version_number}, rule {rule}", rule=rule)
    return None


# --- Now ---------------------------------------------------------------------------------------


def _examination_from(data: dict | None) -> Examination | None:
    if not data or data.get("id") is None:
        return None
    values = {name: data.get(name) for name in EXAMINATION_FIELDS}
    for name in BOOLEAN_FIELDS:
        values[name] = bool(values[name])
    examination = Examination(**values)
    examination._state.adding = False
    examination._state.db = "default"
    return examination


def _examination_json(organisation: Organisation, code: str):
    """The examination with `code` in `organisation`'s catalogue, as one JSON value, so it
    can ride on the referrer's row instead of costing a read of its own."""
    return Subquery(
        Examination.objects.filter(organisation=organisation, code=code).values(
            data=JSONObject(**{name: name for name in EXAMINATION_FIELDS})
        )[:1]
    )


def _on_register(organisation: Organisation) -> ExpressionWrapper:
    """Whether the referrer is on `organisation`'s register at all (it entitled them, or
    employs them), carried on the referrer's row so the API's "say nothing about referrers
    of other registers" costs no query of its own (`referrer_visible_to` asks the same)."""
    return ExpressionWrapper(
        Q(Exists(Entitlement.objects.filter(referrer=OuterRef("pk"), organisation=organisation)))
        | Q(Exists(Employment.objects.filter(referrer=OuterRef("pk"), organisation=organisation))),
        output_field=BooleanField(),
    )


def _suspension_json(events: QuerySet) -> Subquery:
    return Subquery(
        events.values(
            data=JSONObject(by="actor__full_name", rule="rule", version="procedure_version__number")
        )[:1]
    )


def _suspension_of(data, ods_code: str) -> _Suspension | None:
    if isinstance(data, str):  # a JSON text where the backend does not decode it
        import json

        data = json.loads(data)
    if not data:
        return None
    return _suspension(data.get("by"), data.get("rule"), ods_code, data.get("version"))


def _last_suspension(**filters):
    return EntitlementEvent.objects.filter(**filters).order_by("-occurred_at", "-id")


def _held_now(profile: ReferrerProfile, organisation: Organisation, examination) -> list[_Held]:
    """Every referral entitlement of the referrer at `organisation` that can explain an
    answer (superseded ones are explained by their successors), with its scope items: one
    query."""
    letters = Letter.objects.filter(entitlement=OuterRef("entitlement_id")).order_by(
        "-created_at", "-id"
    )
    whole = _last_suspension(
        entitlement=OuterRef("entitlement_id"),
        action=EventAction.SUSPENDED,
    )
    part = _last_suspension(scope_item=OuterRef("pk"), action=EventAction.ITEM_SUSPENDED)
    covered = Value(False)
    if examination is not None:
        covered = Q(examination_id=examination.pk) | Exists(
            ExaminationGroup.examinations.through.objects.filter(
                examinationgroup_id=OuterRef("group_id"), examination_id=examination.pk
            )
        )
    rows = (
        ScopeItem.objects.filter(
            entitlement__referrer=profile,
            entitlement__organisation=organisation,
            entitlement__kind=EntitlementKind.REFERRAL,
        )
        .exclude(entitlement__state=EntitlementState.SUPERSEDED)
        .select_related(
            "entitlement__employment",
            "entitlement__granted_by",
            "entitlement__procedure_version__procedure",
            "examination",
            "group",
        )
        .annotate(
            covers=covered,
            letter_code=Subquery(letters.values("verification_code")[:1]),
            # Who or what made each suspension, as one JSON value per subquery: fewer
            # subqueries for PostgreSQL to plan, which is most of this query's cost.
            whole=_suspension_json(whole),
            part=_suspension_json(part),
        )
        .order_by("entitlement_id", "id")
    )
    held: dict[int, _Held] = {}
    for row in rows:
        entitlement = row.entitlement
        entitlement.referrer = profile
        entitlement.organisation = organisation
        if entitlement.pk not in held:
            version = entitlement.procedure_version
            held[entitlement.pk] = _Held(
                entitlement=entitlement,
                employment_ends_on=entitlement.employment.ends_on,
                decided_by=entitlement.granted_by.full_name,
                procedure_version=f"{organisation.ods_code} procedure v{version.number}",
                letter_code=row.letter_code or "",
                suspension=_suspension_of(row.whole, organisation.ods_code),
            )
        held[entitlement.pk].items.append(
            _Item(
                item=row,
                covers=bool(row.covers),
                suspension=_suspension_of(row.part, organisation.ods_code),
            )
        )
    return list(held.values())


def _read_now_orm(
    organisation: Organisation, regulator: str, number: str, code: str
) -> tuple[ReferrerProfile | None, Examination | None, list[_Held]]:
    """The referrer (with the examination on its row), then their entitlements: two
    queries through the ORM (the examination alone when the referrer is unknown)."""
    profile = (
        ReferrerProfile.objects.select_related("user")
        .annotate(
            examination_data=_examination_json(organisation, code),
            on_register=_on_register(organisation),
        )
        .filter(regulator=regulator, registration_number=number)
        .first()
    )
    if profile is None:
        return None, Examination.objects.filter(organisation=organisation, code=code).first(), []
    examination = _examination_from(profile.examination_data)
    return profile, examination, _held_now(profile, organisation, examination)


def _read_now_sql(
    organisation: Organisation, regulator: str, number: str, code: str
) -> tuple[ReferrerProfile | None, Examination | None, list[_Held]]:
    """The same as `_read_now_orm`, in one prepared statement (PostgreSQL; register_now)."""
    read = register_now.read_now(
        regulator=regulator, number=number, organisation=organisation, code=code
    )
    profile, examination = read.profile, read.examination
    held: dict[int, _Held] = {}
    ods_code = organisation.ods_code
    for row in read.rows:
        covers, letter_code, whole, part = register_now.extras_of(row)
        entitlement_id = row[register_now.ENTITLEMENT_ID]
        if entitlement_id not in held:
            entitlement = register_now.entitlement_of(row, profile, organisation)
            held[entitlement_id] = _Held(
                entitlement=entitlement,
                employment_ends_on=entitlement.employment.ends_on,
                decided_by=entitlement.granted_by.full_name,
                procedure_version=f"{ods_code} procedure v{entitlement.procedure_version.number}",
                letter_code=letter_code,
                suspension=_suspension(*whole[:2], ods_code, whole[2]),
            )
        this = held[entitlement_id]
        this.items.append(
            _Item(
                item=register_now.item_of(row, this.entitlement, examination),
                covers=covers,
                suspension=_suspension(*part[:2], ods_code, part[2]),
            )
        )
    return profile, examination, list(held.values())


def _read_now(
    organisation: Organisation, regulator: str, number: str, code: str
) -> tuple[ReferrerProfile | None, Examination | None, list[_Held]]:
    """What the now-path needs: the referrer (None if unknown, carrying `on_register`), the
    examination (None if not in the catalogue) and the entitlements that can explain an
    answer. One prepared statement on PostgreSQL, the ORM elsewhere (SQLite for `make run`);
    a test holds the two to the same answers."""
    if connection.vendor == "postgresql":
        return _read_now_sql(organisation, regulator, number, code)
    return _read_now_orm(organisation, regulator, number, code)


# --- As of a date ------------------------------------------------------------------------------


def _latest(history: QuerySet) -> list:
    """The last historical row of each object in `history` (deleted objects left out)."""
    latest = {}
    for row in history.order_by("id", "history_date", "history_id"):
        latest[row.id] = row
    return [row for row in latest.values() if row.history_type != "-"]


def _profile_as_of(regulator: str, number: str, end: datetime.datetime):
    ids = set(
        ReferrerProfile.history.filter(
            regulator=regulator, registration_number=number, history_date__lt=end
        ).values_list("id", flat=True)
    )
    if not ids:
        return None
    for row in _latest(ReferrerProfile.history.filter(id__in=ids, history_date__lt=end)):
        if row.regulator == regulator and row.registration_number == number:
            profile = row.instance
            profile.user = User.objects.get(pk=row.user_id)
            return profile
    return None


def _group_members_as_of(group_ids: set[int], end: datetime.datetime) -> dict[int, set[int]]:
    """Each group's examinations as they were: the snapshot on its last historical row."""
    if not group_ids:
        return {}
    rows = _latest(ExaminationGroup.history.filter(id__in=group_ids, history_date__lt=end))
    through = ExaminationGroup.history.model._meta.get_field(
        "historicalexaminationgroup_examinations"
    ).related_model
    members: dict[int, set[int]] = {row.id: set() for row in rows}
    by_history = {row.history_id: row.id for row in rows}
    for history_id, examination_id in through.objects.filter(history_id__in=by_history).values_list(
        "history_id", "examination_id"
    ):
        members[by_history[history_id]].add(examination_id)
    return members


def _held_as_of(
    profile: ReferrerProfile, organisation: Organisation, examination, end: datetime.datetime
) -> list[_Held]:
    entitlements = [
        row.instance
        for row in _latest(
            Entitlement.history.filter(
                referrer_id=profile.pk,
                organisation_id=organisation.pk,
                kind=EntitlementKind.REFERRAL,
                history_date__lt=end,
            )
        )
        if row.state != EntitlementState.SUPERSEDED
    ]
    if not entitlements:
        return []
    ids = [e.pk for e in entitlements]
    items = [
        row.instance
        for row in _latest(ScopeItem.history.filter(entitlement_id__in=ids, history_date__lt=end))
    ]
    members = _group_members_as_of({i.group_id for i in items if i.group_id}, end)
    users = User.objects.in_bulk({e.granted_by_id for e in entitlements})
    versions = ProcedureVersion.objects.in_bulk({e.procedure_version_id for e in entitlements})
    employments = {
        row.id: row.ends_on
        for row in _latest(
            Employment.history.filter(
                id__in={e.employment_id for e in entitlements}, history_date__lt=end
            )
        )
    }
    letters: dict[int, str] = {}
    for entitlement_id, code in (
        Letter.objects.filter(entitlement_id__in=ids, created_at__lt=end)
        .order_by("created_at", "id")
        .values_list("entitlement_id", "verification_code")
    ):
        letters[entitlement_id] = code
    whole: dict[int, _Suspension | None] = {}
    part: dict[int, _Suspension | None] = {}
    events = (
        EntitlementEvent.objects.filter(
            entitlement_id__in=ids,
            occurred_at__lt=end,
            action__in=[EventAction.SUSPENDED, EventAction.ITEM_SUSPENDED],
        )
        .select_related("actor", "procedure_version")
        .order_by("occurred_at", "id")
    )
    for event in events:
        made = _suspension(
            event.actor.full_name if event.actor_id else "",
            event.rule,
            organisation.ods_code,
            event.procedure_version.number if event.procedure_version_id else "",
        )
        if event.action == EventAction.SUSPENDED:
            whole[event.entitlement_id] = made
        else:
            part[event.scope_item_id] = made
    held = []
    for entitlement in sorted(entitlements, key=lambda e: e.pk):
        entitlement.referrer = profile
        entitlement.organisation = organisation
        version = versions.get(entitlement.procedure_version_id)
        granted_by = users.get(entitlement.granted_by_id)
        mine = sorted((i for i in items if i.entitlement_id == entitlement.pk), key=lambda i: i.pk)
        held.append(
            _Held(
                entitlement=entitlement,
                employment_ends_on=employments.get(
                    entitlement.employment_id, entitlement.employment.ends_on
                ),
                decided_by=granted_by.full_name if granted_by else "",
                procedure_version=(
                    f"{organisation.ods_code} procedure v{version.number}" if version else ""
                ),
                letter_code=letters.get(entitlement.pk, ""),
                suspension=whole.get(entitlement.pk),
                items=[
                    _Item(
                        item=item,
                        covers=examination is not None
                        and (
                            item.examination_id == examination.pk
                            or examination.pk in members.get(item.group_id, set())
                        ),
                        suspension=part.get(item.pk),
                    )
                    for item in mine
                ],
            )
        )
    return held


# --- Deciding ----------------------------------------------------------------------------------


def _subject_label(item: ScopeItem, examination: Examination | None) -> str:
    if item.examination_id:
        if examination is not None and item.examination_id == examination.pk:
            return str(examination)
        return str(item.examination)
    return f"{item.group.name} (group)"


def _because(reason: str) -> str:
    """A recorded reason to follow "because": its full stop dropped and, unless it starts
    with an initialism (NMC, IR(ME)R), its first letter in lower case."""
    reason = (reason or "").strip().rstrip(".") or "no reason was recorded"
    if len(reason) > 1 and reason[0].isupper() and reason[1].islower():
        reason = reason[0].lower() + reason[1:]
    return reason


def _why_suspended(what: str, since, reason: str, suspension: _Suspension | None) -> str:
    since_text = f" since {_long_date(since)}" if since else ""
    because = _because(reason)
    if suspension and suspension.rule == "training.lapse":
        because = f"required training lapsed: {because}" if reason else "required training lapsed"
    elif suspension and suspension.rule == "registration.lapse":
        because = (
            f"the professional registration lapsed: {because}"
            if reason
            else "the professional registration lapsed"
        )
    by = ""
    if suspension and suspension.rule:
        by = f" ({suspension.by})"
    elif suspension and suspension.by:
        by = f" (by {suspension.by})"
    return f"{what} has been suspended{since_text} because {because}{by}."


def _item_problems(
    held: _Held, entry: _Item, examination: Examination, age: int, setting: str
) -> list[str]:
    item = entry.item
    label = _subject_label(item, examination)
    problems = []
    if item.state == ScopeItemState.SUSPENDED:
        problems.append(
            _why_suspended(
                f"{label} on entitlement {held.entitlement.reference}",
                item.suspended_at,
                item.suspended_reason,
                entry.suspension,
            )
        )
    if not item.allows_age(age):
        problems.append(
            f"The patient is {age}: under {label} the patient must be "
            f"{item.age_range_label.lower()}."
            if item.age_max is not None or item.age_min
            else f"The patient's age ({age}) is outside the range allowed under {label}."
        )
    if not item.allows_setting(setting):
        problems.append(
            f"{label} may not be requested from {SETTING_LABELS.get(setting, setting).lower()}: "
            f"only from {item.settings_label.lower()}."
        )
    return problems


def _entitlement_problems(
    held: _Held, name: str, organisation: Organisation, on: datetime.date
) -> list[str]:
    entitlement = held.entitlement
    ref = entitlement.reference
    if entitlement.state == EntitlementState.SUSPENDED:
        return [
            _why_suspended(
                f"{name}'s entitlement {ref} from {organisation.name}",
                entitlement.state_changed_at,
                entitlement.state_reason,
                held.suspension,
            )
        ]
    if entitlement.state == EntitlementState.REVOKED:
        return [
            f"{name}'s entitlement {ref} was revoked on "
            f"{_long_date(entitlement.state_changed_at)} because "
            f"{_because(entitlement.state_reason)}. "
            "A new entitlement needs a new application."
        ]
    if entitlement.state == EntitlementState.EXPIRED:
        return [
            f"{name}'s entitlement {ref} ended on {_long_date(entitlement.state_changed_at)} "
            f"because {_because(entitlement.state_reason)}."
        ]
    if entitlement.state != EntitlementState.ACTIVE:
        return [f"{name}'s entitlement {ref} is {entitlement.get_state_display().lower()}."]
    problems = []
    if held.employment_ends_on is not None and held.employment_ends_on < on:
        problems.append(
            f"{name}'s employment that {ref} belongs to ended on "
            f"{_long_date(held.employment_ends_on)}, so the entitlement no longer applies."
        )
    if entitlement.review_due_on < on:
        problems.append(
            f"The review of {ref} was due on {_long_date(entitlement.review_due_on)} and has not "
            "been recorded, so the entitlement cannot be relied on."
        )
    return problems


def _conditions(item: ScopeItem, examination: Examination) -> dict:
    return {
        **item.conditions(),
        "subject": _subject_label(item, examination),
        "code": examination.code,
    }


def _yes_reasons(
    name: str,
    held: _Held,
    item: ScopeItem,
    examination: Examination,
    age: int,
    setting: str,
    organisation: Organisation,
) -> list[str]:
    label = _subject_label(item, examination)
    entitlement = held.entitlement
    through = f" through the scope item {label}" if item.group_id else ""
    granted = f", granted by {held.decided_by}" if held.decided_by else ""
    procedure = f" under {held.procedure_version}" if held.procedure_version else ""
    reasons = [
        f"{name} may request {examination} under entitlement {entitlement.reference} from "
        f"{organisation.name}{through}{granted}{procedure}.",
        f"The patient's age ({age}) is within the range allowed ({item.age_range_label.lower()}) "
        f"and {SETTING_LABELS.get(setting, setting).lower()} is an allowed setting.",
    ]
    if item.clinical_indications:
        reasons.append(
            "The clinical indications cannot be checked here: the request must meet them "
            f"({item.clinical_indications.strip().rstrip('.')})."
        )
    else:
        reasons.append("No clinical indications are stated for this scope item.")
    if item.exclusions:
        reasons.append(
            "The exclusions cannot be checked here: none of them may apply "
            f"({item.exclusions.strip().rstrip('.')})."
        )
    return reasons


def _input_problems(regulator: str, number: str, code: str, age, setting: str) -> list[str]:
    problems = []
    if regulator not in REGULATORS:
        problems.append(f"{regulator or 'The regulator'} is not a professional regulator we know.")
    if not number:
        problems.append("No registration number was given.")
    if not code:
        problems.append("No examination code was given.")
    if not isinstance(age, int) or isinstance(age, bool) or not 0 <= age <= OLDEST_PATIENT_AGE:
        problems.append(
            f"The patient age must be a whole number of years from 0 to {OLDEST_PATIENT_AGE}."
        )
    if setting not in SETTING_LABELS:
        problems.append(f"{setting or 'The setting'} is not a care setting we know.")
    return problems


def entitlement_check(
    *,
    organisation: Organisation,
    regulator: str,
    registration_number: str,
    examination_code: str,
    patient_age: int,
    setting: str,
    as_of: datetime.date | None = None,
) -> CheckAnswer:
    """May this referrer request this examination from `organisation`, for a patient of this
    age in this setting (now, or at the end of `as_of`)? Fails closed: anything that cannot be
    established is a no, with the reason."""
    checked_at = timezone.now()
    today = timezone.localdate(checked_at)
    regulator = (regulator or "").strip()
    regulator = next((r for r in REGULATORS if r.lower() == regulator.lower()), regulator)
    number = normalise_registration_number(registration_number)
    code = (examination_code or "").strip().upper()
    setting = (setting or "").strip().upper()

    def answer(entitled=False, reasons=(), **kwargs) -> CheckAnswer:
        values = {
            "referrer": None,
            "examination": None,
            "entitlement": None,
            "scope_item": None,
            "conditions": None,
            "decided_by": "",
            "procedure_version": "",
            "letter_code": "",
        }
        values.update(kwargs)
        return CheckAnswer(
            entitled=entitled,
            reasons=list(reasons),
            as_of=as_of,
            checked_at=checked_at,
            **values,
        )

    problem = as_of_problem(as_of, today=today)
    if problem:
        return answer(reasons=[f"{problem}: the register cannot answer for a future date."])
    problems = _input_problems(regulator, number, code, patient_age, setting)
    if problems:
        return answer(reasons=problems)
    on = as_of or today
    registration = f"{regulator} registration number {number}"

    if as_of is None:
        profile, examination, held = _read_now(organisation, regulator, number, code)
    else:
        end = end_of_day(as_of)
        profile = _profile_as_of(regulator, number, end)
        examination = Examination.objects.filter(organisation=organisation, code=code).first()
    if profile is None:
        if as_of is None:
            known = "is known to this service"
        else:
            known = f"was known to this service on {_long_date(as_of)}"
        return answer(
            examination=examination,
            reasons=[
                f"No referrer with {registration} {known}. Check the regulator and the number."
            ],
        )

    name = profile.user.full_name
    reasons: list[str] = []
    if profile.registration_lapsed:
        reasons.append(f"{name}'s {registration} has been marked as lapsed.")
    elif profile.registration_expires_on < on:
        reasons.append(
            f"{name}'s {registration} expired on {_long_date(profile.registration_expires_on)}."
        )
    if examination is None:
        reasons.append(f"{code} is not an examination in {organisation.name}'s catalogue.")

    if as_of is not None:
        held = _held_as_of(profile, organisation, examination, end_of_day(as_of))
    found = {"referrer": profile, "examination": examination}
    live = [
        h
        for h in held
        if h.entitlement.state in (EntitlementState.ACTIVE, EntitlementState.SUSPENDED)
    ]
    if not held:
        when = "" if as_of is None else f" on {_long_date(as_of)}"
        return answer(
            reasons=[
                *reasons,
                f"{name} was not entitled by {organisation.name} to refer for imaging{when}."
                if as_of
                else f"{name} is not entitled by {organisation.name} to refer for imaging.",
            ],
            **found,
        )
    if not live:
        # Only ended entitlements: the latest says why.
        ended = max(held, key=lambda h: (h.entitlement.state_changed_at, h.entitlement.pk))
        return answer(
            reasons=[*reasons, *_entitlement_problems(ended, name, organisation, on)],
            **_about(ended),
            **found,
        )

    # Several live entitlements (one per employment) may each cover the examination: a yes
    # from any of them is a yes; otherwise the closest to a yes explains the no.
    verdict = min(
        (_judge(h, name, organisation, examination, patient_age, setting, on) for h in live),
        key=lambda v: v.rank,
    )
    item = verdict.entry.item if verdict.entry else None
    details = {
        **_about(verdict.held),
        **found,
        "scope_item": item,
        "conditions": _conditions(item, examination) if item is not None else None,
    }
    if verdict.rank == YES and not reasons:
        return answer(
            entitled=True,
            reasons=_yes_reasons(
                name, verdict.held, item, examination, patient_age, setting, organisation
            ),
            **details,
        )
    return answer(reasons=[*reasons, *verdict.problems], **details)


# How close an entitlement comes to a yes (lower is closer).
YES, ITEM_CONDITIONS, ENTITLEMENT_BLOCKED, NOT_IN_SCOPE = range(4)


@dataclass(frozen=True)
class _Verdict:
    rank: int
    held: _Held
    entry: _Item | None
    problems: list[str]


def _judge(
    held: _Held,
    name: str,
    organisation: Organisation,
    examination: Examination | None,
    age: int,
    setting: str,
    on: datetime.date,
) -> _Verdict:
    """What one live entitlement says about the request: its own problems (state, review,
    employment) and those of the scope item that comes closest to allowing it."""
    blockers = _entitlement_problems(held, name, organisation, on)
    if examination is None:
        return _Verdict(NOT_IN_SCOPE, held, None, blockers)
    matches = [entry for entry in held.items if entry.covers]
    if not matches:
        outside = (
            f"{examination} is outside the scope of {name}'s entitlement "
            f"{held.entitlement.reference}."
        )
        return _Verdict(NOT_IN_SCOPE, held, None, [*blockers, outside])
    problems, entry = min(
        ((_item_problems(held, e, examination, age, setting), e) for e in matches),
        key=lambda pair: (len(pair[0]), pair[1].item.pk),
    )
    if blockers:
        rank = ENTITLEMENT_BLOCKED
    elif problems:
        rank = ITEM_CONDITIONS
    else:
        rank = YES
    return _Verdict(rank, held, entry, [*blockers, *problems])


def _about(held: _Held) -> dict:
    return {
        "entitlement": held.entitlement,
        "decided_by": held.decided_by,
        "procedure_version": held.procedure_version,
        "letter_code": held.letter_code,
    }


# --- The register page -------------------------------------------------------------------------

LIVE_FILTER = ""  # the default: active or suspended
ANY_STATE = "any"
STATE_FILTERS = (LIVE_FILTER, ANY_STATE, *EntitlementState.values)


@dataclass(frozen=True)
class RegisterFilters:
    """What the register is searched by. Empty means "any"; `state` "" means live (active
    or suspended) and "any" means every state."""

    name: str = ""
    registration: str = ""
    examination: str = ""
    modality: str = ""
    department_id: int | None = None
    profession: str = ""
    level: str = ""
    state: str = LIVE_FILTER

    def __post_init__(self):
        # The page's form checks these first; a bad value here is a programming error.
        if self.state not in STATE_FILTERS:
            raise ValueError(f"Unknown state filter: {self.state}")
        if self.modality and self.modality not in Modality.values:
            raise ValueError(f"Unknown modality: {self.modality}")
        if self.profession and self.profession not in Profession.values:
            raise ValueError(f"Unknown profession: {self.profession}")
        if self.level and self.level not in LevelOfPractice.values:
            raise ValueError(f"Unknown level of practice: {self.level}")


@dataclass(frozen=True)
class RegisterRow:
    """One entitlement on the register, as it is (or was on the date asked)."""

    entitlement: Entitlement
    referrer: ReferrerProfile
    employment: Employment
    scope: list[ScopeItem]

    @property
    def suspended_items(self) -> int:
        return sum(1 for item in self.scope if item.state == ScopeItemState.SUSPENDED)


def _registration_filter(text: str) -> Q:
    """ "NMC:71A2998E" or "71A2998E": the regulator, when given, in any case."""
    regulator, _, number = text.rpartition(":")
    query = Q(referrer__registration_number=normalise_registration_number(number))
    if regulator.strip():
        # Matched to the stored spelling here, so the unique (regulator, number) index serves.
        spelled = next(
            (r for r in Regulator.values if r.lower() == regulator.strip().lower()),
            regulator.strip(),
        )
        query &= Q(referrer__regulator=spelled)
    return query


def _entitlements_covering(examinations: QuerySet, field: str) -> Q:
    """Entitlements (by `field`, their id) with a scope item naming one of `examinations`,
    or a group holding one. Two uncorrelated subqueries: each is worked out once."""
    ids = examinations.values("pk")
    groups = ExaminationGroup.examinations.through.objects.filter(examination_id__in=ids).values(
        "examinationgroup_id"
    )
    return Q(
        **{
            f"{field}__in": ScopeItem.objects.filter(examination_id__in=ids).values(
                "entitlement_id"
            )
        }
    ) | Q(
        **{f"{field}__in": ScopeItem.objects.filter(group_id__in=groups).values("entitlement_id")}
    )


def _apply_filters(
    entitlements: QuerySet, organisation: Organisation, f: RegisterFilters, *, id_field: str
) -> QuerySet:
    if f.name.strip():
        entitlements = entitlements.filter(referrer__user__full_name__icontains=f.name.strip())
    if f.registration.strip():
        entitlements = entitlements.filter(_registration_filter(f.registration))
    if f.profession:
        entitlements = entitlements.filter(referrer__profession=f.profession)
    if f.level:
        entitlements = entitlements.filter(employment__level=f.level)
    if f.department_id:
        entitlements = entitlements.filter(employment__department_id=f.department_id)
    catalogue = Examination.objects.filter(organisation=organisation)
    term = f.examination.strip()
    if term:
        matching = catalogue.filter(Q(code__iexact=term) | Q(name__icontains=term))
        entitlements = entitlements.filter(_entitlements_covering(matching, id_field))
    if f.modality:
        matching = catalogue.filter(modality=f.modality)
        entitlements = entitlements.filter(_entitlements_covering(matching, id_field))
    if f.state == LIVE_FILTER:
        entitlements = entitlements.filter(
            state__in=[EntitlementState.ACTIVE, EntitlementState.SUSPENDED]
        )
    elif f.state != ANY_STATE:
        entitlements = entitlements.filter(state=f.state)
    return entitlements


REGISTER_RELATED = ("referrer__user", "employment__department", "employment__organisation")


def register_search(
    organisation: Organisation,
    filters: RegisterFilters | None = None,
    *,
    as_of: datetime.date | None = None,
) -> QuerySet:
    """The entitlements `organisation` granted that match `filters`, ordered by referrer's
    name, for paging; turn a page into rows with `register_rows`.

    As of a date: the entitlements as they stood at the end of that day (their historical
    rows, so state and state reason are as then). Names, registrations, professions, roles and
    departments are read as they are now."""
    filters = filters or RegisterFilters()
    if as_of is None:
        entitlements = Entitlement.objects.filter(organisation=organisation).select_related(
            *REGISTER_RELATED
        )
        entitlements = _apply_filters(entitlements, organisation, filters, id_field="pk")
        return entitlements.order_by("referrer__user__full_name", "id")
    problem = as_of_problem(as_of)
    if problem:
        raise ValueError(problem)
    end = end_of_day(as_of)
    # Each entitlement's last historical row before the end of the day: one with no later
    # row before then (an anti-join, so the database works it out in one pass).
    later = Entitlement.history.filter(id=OuterRef("id"), history_date__lt=end).filter(
        Q(history_date__gt=OuterRef("history_date"))
        | Q(history_date=OuterRef("history_date"), history_id__gt=OuterRef("history_id"))
    )
    rows = (
        Entitlement.history.filter(organisation_id=organisation.pk, history_date__lt=end)
        .exclude(Exists(later))
        .exclude(history_type="-")
        .select_related(*REGISTER_RELATED)
    )
    rows = _apply_filters(rows, organisation, filters, id_field="id")
    return rows.order_by("referrer__user__full_name", "id")


def register_rows(entitlements, *, as_of: datetime.date | None = None) -> list[RegisterRow]:
    """The register rows of one page of `register_search`, with each entitlement's scope as
    it was (one more query for the page, whatever its length)."""
    entitlements = list(entitlements)
    if not entitlements:
        return []
    ids = [e.id for e in entitlements]
    items: dict[int, list[ScopeItem]] = {pk: [] for pk in ids}
    if as_of is None:
        scope = ScopeItem.objects.filter(entitlement_id__in=ids).select_related(
            "examination", "group"
        )
        for item in scope.order_by("id"):
            items[item.entitlement_id].append(item)
    else:
        history = ScopeItem.history.filter(
            entitlement_id__in=ids, history_date__lt=end_of_day(as_of)
        ).select_related("examination", "group")
        for row in sorted(_latest(history), key=lambda r: r.id):
            item = row.instance
            item.examination = row.examination
            item.group = row.group
            items[item.entitlement_id].append(item)
    result = []
    for row in entitlements:
        entitlement = row.instance if as_of is not None else row
        referrer = row.referrer
        employment = row.employment
        entitlement.referrer = referrer
        entitlement.employment = employment
        result.append(
            RegisterRow(
                entitlement=entitlement,
                referrer=referrer,
                employment=employment,
                scope=items[row.id],
            )
        )
    return result
