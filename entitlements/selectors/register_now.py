"""The entitlement check's "now" read on PostgreSQL: one prepared statement.

`entitlement_check` (register.py) asks, for one question, for the referrer (with their name
and whether they are on the organisation's register at all), the examination asked about in
the organisation's catalogue, and every scope item of the referrer's referral entitlements at
that organisation that can explain an answer, each row carrying what the engine needs: its
entitlement, the employment's end, who granted it, the procedure version, the current
letter's code, who or what last suspended the entitlement and the item, and whether the item
covers the examination. The ORM answers the same in two queries (`register._read_now_orm`);
this is the same read as one statement, always one row at least (NULLs where nothing was
found), so an unknown referrer costs no second read either.

Why SQL and a prepared statement: compiling the two querysets took Django longer than the
database took to run them, and PostgreSQL spent most of its own time planning them (see
bench/analysis.md). The statement is prepared once per database connection (connections are
persistent, `CONN_MAX_AGE`) with `plan_cache_mode` left alone: after five executions
PostgreSQL keeps a generic plan, driven by the unique indexes on (regulator, registration
number) and (organisation, code), so a lookup is neither compiled nor planned.

Which connections hold the statement is remembered (weakly) by connection object, so a new
one after a reconnect starts afresh. If PostgreSQL has lost it anyway (`DISCARD ALL`, a pooler
in front), the lookup prepares it again and retries when it can (autocommit); inside a
transaction that the error has broken it fails, and the API answers 503, never a yes.
Behind a transaction-pooling pgbouncer prepared statements cannot work: set
`REGISTER_LOOKUP_PREPARED = False` and the same SQL is sent unprepared.

On a connection kept from an earlier request the statement stands in for Django's health
check (`CONN_HEALTH_CHECKS`, a `SELECT 1` round trip): a connection it finds dead is closed and
the lookup retried once on a new one, outside a transaction, as the check would have done.

Only the columns the engine, the API and the register page use are read; the model instances
are built with the rest deferred, so touching anything else loads it (a query) rather than
giving a wrong value.
"""

import weakref
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, connection
from django.db.models.base import ModelState

from referrers.models import Employment, Organisation, ReferrerProfile, User

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
)
from ..models.entitlements import Entitlement

STATEMENT = "entitlement_check_now_v1"
PARAMETER_TYPES = "varchar, varchar, bigint, varchar"  # regulator, number, organisation, code

PROFILE_FIELDS = [f.attname for f in ReferrerProfile._meta.concrete_fields]
EXAMINATION_FIELDS = [f.attname for f in Examination._meta.concrete_fields]
# What the engine, the API and the register page read of an entitlement; the rest (the
# decision's lines, the application and so on) is deferred.
ENTITLEMENT_FIELDS = [
    "id",
    "referrer_id",
    "employment_id",
    "organisation_id",
    "kind",
    "state",
    "granted_by_id",
    "procedure_version_id",
    "review_due_on",
    "state_changed_at",
    "state_reason",
]
ITEM_FIELDS = [f.attname for f in ScopeItem._meta.concrete_fields]
USER_FIELDS = ["id", "full_name"]
SETTINGS_FIELD = ScopeItem._meta.get_field("settings")


def _table(model) -> str:
    return model._meta.db_table


def _columns(alias: str, names: list[str]) -> str:
    return ", ".join(f"{alias}.{name}" for name in names)


def _last_suspension(name: str, where: str) -> str:
    """The latest matching suspension event (a LIMIT 1 lateral: its own small plan)."""
    return f"""
    LEFT JOIN LATERAL (
        SELECT event.actor_id, event.rule, event.procedure_version_id
        FROM {_table(EntitlementEvent)} event
        WHERE {where}
        ORDER BY event.occurred_at DESC, event.id DESC
        LIMIT 1
    ) {name} ON TRUE"""  # noqa: S608


def _one(column: str, model, key: str, *, unless: str = "FALSE") -> str:
    """`column` of the `model` row whose id is `key` (NULL when `key` is, or when `unless`),
    as a correlated scalar subquery: one probe of the primary key per row, whatever the
    planner makes of the generic plan (as joins, it chose merge joins over the whole users
    index for names), and none at all where there is nothing to look up."""
    return (
        f"CASE WHEN {key} IS NOT NULL AND NOT ({unless}) THEN "  # noqa: S608
        f"(SELECT one.{column} FROM {_table(model)} one WHERE one.id = {key}) END"
    )


WHOLE_SUSPENSION = _last_suspension(
    "whole", f"event.entitlement_id = e.id AND event.action = '{EventAction.SUSPENDED.value}'"
)
PART_SUSPENSION = _last_suspension(
    "part", f"event.scope_item_id = item.id AND event.action = '{EventAction.ITEM_SUSPENDED.value}'"
)
MEMBERSHIP = _table(ExaminationGroup.examinations.through)
# An item naming the examination asked about needs no look-up of its own: that examination
# is on the row already (item_of uses it).
ASKED = "item.examination_id = x.id"

# $1 regulator, $2 registration number, $3 organisation id, $4 examination code. Only table
# and column names and this module's constants go into the text; the question's values are
# the statement's parameters.
SQL = f"""
SELECT
    {_columns("p", PROFILE_FIELDS)}, u.full_name,
    (EXISTS (SELECT 1 FROM {_table(Entitlement)} anywhere
             WHERE anywhere.referrer_id = p.id AND anywhere.organisation_id = $3)
     OR EXISTS (SELECT 1 FROM {_table(Employment)} job
                WHERE job.referrer_id = p.id AND job.organisation_id = $3)) AS on_register,
    {_columns("x", EXAMINATION_FIELDS)},
    held.*
FROM (SELECT 1) AS question
LEFT JOIN ({_table(ReferrerProfile)} p JOIN {_table(User)} u ON u.id = p.user_id)
    ON p.regulator = $1 AND p.registration_number = $2
LEFT JOIN {_table(Examination)} x ON x.organisation_id = $3 AND x.code = $4
LEFT JOIN LATERAL (
    SELECT
        {_columns("e", ENTITLEMENT_FIELDS)},
        {_columns("item", ITEM_FIELDS)},
        {_one("ends_on", Employment, "e.employment_id")},
        {_one("full_name", User, "e.granted_by_id")},
        {_one("number", ProcedureVersion, "e.procedure_version_id")},
        {_one("code", Examination, "item.examination_id", unless=ASKED)},
        {_one("name", Examination, "item.examination_id", unless=ASKED)},
        {_one("name", ExaminationGroup, "item.group_id")},
        COALESCE(item.examination_id = x.id, FALSE)
            OR CASE WHEN item.group_id IS NOT NULL AND x.id IS NOT NULL THEN
                (SELECT TRUE FROM {MEMBERSHIP} member
                 WHERE member.examinationgroup_id = item.group_id
                   AND member.examination_id = x.id) IS NOT NULL
            ELSE FALSE END,
        (SELECT letter.verification_code FROM {_table(Letter)} letter
         WHERE letter.entitlement_id = e.id
         ORDER BY letter.created_at DESC, letter.id DESC LIMIT 1),
        {_one("full_name", User, "whole.actor_id")}, whole.rule,
        {_one("number", ProcedureVersion, "whole.procedure_version_id")},
        {_one("full_name", User, "part.actor_id")}, part.rule,
        {_one("number", ProcedureVersion, "part.procedure_version_id")}
    FROM {_table(Entitlement)} e
    JOIN {_table(ScopeItem)} item ON item.entitlement_id = e.id
{WHOLE_SUSPENSION}
{PART_SUSPENSION}
    WHERE e.referrer_id = p.id
      AND e.organisation_id = $3
      AND e.kind = '{EntitlementKind.REFERRAL.value}'
      AND e.state <> '{EntitlementState.SUPERSEDED.value}'
) held ON TRUE
"""  # noqa: S608

# Where each part starts in a row.
_P = 0
_P_NAME = _P + len(PROFILE_FIELDS)
_P_ON = _P_NAME + 1
_X = _P_ON + 1
_E = _X + len(EXAMINATION_FIELDS)
_I = _E + len(ENTITLEMENT_FIELDS)
_REST = _I + len(ITEM_FIELDS)
(
    _ENDS_ON,
    _GRANTED_BY,
    _VERSION,
    _ITEM_CODE,
    _ITEM_NAME,
    _GROUP_NAME,
    _COVERS,
    _LETTER,
    _WHOLE,  # by, rule, version
) = range(_REST, _REST + 9)
_PART = _WHOLE + 3  # by, rule, version
_SETTINGS = _I + ITEM_FIELDS.index("settings")
ENTITLEMENT_ID = _E  # the entitlement's id, in each row


@dataclass
class NowRead:
    """What the now-path read: the referrer (None if unknown), the examination (None if not
    in the catalogue) and the rows of scope items, each with its entitlement's details."""

    profile: ReferrerProfile | None
    examination: Examination | None
    rows: list[tuple]


_prepared: "weakref.WeakSet" = weakref.WeakSet()  # raw connections holding the statement


def _pgcode(error: Exception) -> str | None:
    return getattr(error.__cause__, "pgcode", None)


UNDEFINED_PREPARED_STATEMENT = "26000"
DUPLICATE_PREPARED_STATEMENT = "42P05"


def _fetch(params: tuple) -> list[tuple]:
    # On a connection kept from an earlier request, Django's health check (CONN_HEALTH_CHECKS)
    # would send a `SELECT 1` first: a round trip as dear as the lookup's share of the
    # database. The statement checks the connection itself instead: if it finds the
    # connection dead, it is closed and the lookup retried once on a new one, as the health
    # check would have done (a read, outside any transaction).
    self_checked = (
        connection.connection is not None
        and connection.health_check_enabled
        and not connection.health_check_done
        and not connection.in_atomic_block
    )
    if self_checked:
        connection.health_check_done = True
    for attempt in (1, 2):
        try:
            with connection.cursor() as cursor:
                # Taken after the cursor: making it may have replaced the connection.
                raw = connection.connection
                try:
                    if raw not in _prepared:
                        _prepare(cursor, raw)
                    cursor.execute(f"EXECUTE {STATEMENT} (%s, %s, %s, %s)", params)
                    return cursor.fetchall()
                except DatabaseError as error:
                    if _pgcode(error) != UNDEFINED_PREPARED_STATEMENT:
                        raise
                    # PostgreSQL lost the statement (DISCARD ALL, a pooler): prepare again.
                    _prepared.discard(raw)
                    if attempt == 2 or connection.in_atomic_block:
                        raise  # the transaction is broken: fail (a 503), never a yes
        except (OperationalError, InterfaceError):
            dead = connection.connection is None or connection.connection.closed
            if not (self_checked and dead and attempt == 1):
                raise
            connection.close()  # what the health check would have found: a new one
    raise AssertionError("unreachable")


def _prepare(cursor, raw) -> None:
    try:
        cursor.execute(f"PREPARE {STATEMENT} ({PARAMETER_TYPES}) AS {SQL}")
    except DatabaseError as error:
        # Prepared already on this connection, though this process did not know it.
        if _pgcode(error) != DUPLICATE_PREPARED_STATEMENT:
            raise
        _prepared.add(raw)
        if connection.in_atomic_block:
            raise
        return
    _prepared.add(raw)


def _unprepared_sql() -> str:
    """The statement with Python placeholders, for when prepared statements are off."""
    sql = SQL
    for number in range(4, 0, -1):
        sql = sql.replace(f"${number}", f"%(p{number})s")
    return sql


def _instance(model, names: list[str], values):
    """A model instance as the database holds it, with only `names` loaded (the rest
    deferred: read from the database if touched). What `Model.from_db` does, less the
    per-field `setattr` and the init signals (none of these models has receivers), which
    was most of this read's Python time."""
    instance = model.__new__(model)
    instance.__dict__.update(zip(names, values, strict=True))
    state = instance._state = ModelState()
    state.adding = False
    state.db = DEFAULT_DB_ALIAS
    return instance


def _relate(instance, name: str, related) -> None:
    """Set a foreign key's related object whose id the instance already holds."""
    instance._state.fields_cache[name] = related


def read_now(*, regulator: str, number: str, organisation: Organisation, code: str) -> NowRead:
    """The referrer, the examination and the scope item rows, in one statement."""
    params = (regulator, number, organisation.pk, code)
    if getattr(settings, "REGISTER_LOOKUP_PREPARED", True):
        rows = _fetch(params)
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                _unprepared_sql(), {f"p{i}": value for i, value in enumerate(params, start=1)}
            )
            rows = cursor.fetchall()
    first = rows[0]
    profile = None
    if first[_P] is not None:
        profile = _instance(ReferrerProfile, PROFILE_FIELDS, first[_P:_P_NAME])
        _relate(profile, "user", _instance(User, USER_FIELDS, (first[_P + 1], first[_P_NAME])))
        profile.on_register = bool(first[_P_ON])
    examination = None
    if first[_X] is not None:
        examination = _instance(Examination, EXAMINATION_FIELDS, first[_X:_E])
    if profile is None or first[_E] is None:
        rows = []
    else:
        rows.sort(key=lambda row: (row[_E], row[_I]))  # by entitlement, then scope item
    return NowRead(profile=profile, examination=examination, rows=rows)


def entitlement_of(row: tuple, profile, organisation: Organisation) -> Entitlement:
    entitlement = _instance(Entitlement, ENTITLEMENT_FIELDS, row[_E:_I])
    _relate(entitlement, "referrer", profile)
    _relate(entitlement, "organisation", organisation)
    _relate(
        entitlement,
        "employment",
        _instance(Employment, ["id", "ends_on"], (entitlement.employment_id, row[_ENDS_ON])),
    )
    _relate(
        entitlement,
        "granted_by",
        _instance(User, USER_FIELDS, (entitlement.granted_by_id, row[_GRANTED_BY])),
    )
    _relate(
        entitlement,
        "procedure_version",
        _instance(
            ProcedureVersion, ["id", "number"], (entitlement.procedure_version_id, row[_VERSION])
        ),
    )
    return entitlement


def item_of(row: tuple, entitlement: Entitlement, examination) -> ScopeItem:
    values = list(row[_I:_REST])
    values[_SETTINGS - _I] = SETTINGS_FIELD.from_db_value(values[_SETTINGS - _I], None, connection)
    item = _instance(ScopeItem, ITEM_FIELDS, values)
    _relate(item, "entitlement", entitlement)
    if item.examination_id is None:
        _relate(item, "examination", None)
    elif examination is not None and item.examination_id == examination.pk:
        _relate(item, "examination", examination)
    else:
        _relate(
            item,
            "examination",
            _instance(
                Examination,
                ["id", "code", "name"],
                (item.examination_id, row[_ITEM_CODE], row[_ITEM_NAME]),
            ),
        )
    if item.group_id is None:
        _relate(item, "group", None)
    else:
        _relate(
            item,
            "group",
            _instance(ExaminationGroup, ["id", "name"], (item.group_id, row[_GROUP_NAME])),
        )
    return item


def extras_of(row: tuple) -> tuple:
    """(covers, letter code, whole suspension (by, rule, version), part suspension (...))."""
    return (
        bool(row[_COVERS]),
        row[_LETTER] or "",
        row[_WHOLE : _WHOLE + 3],
        row[_PART : _PART + 3],
    )
