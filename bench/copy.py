"""Bulk loading with PostgreSQL's COPY, history rows included.

Rows are dicts keyed by field attname (`referrer_id`, not `referrer`); anything left out
takes the field's default. Primary keys are given by the caller (`next_ids`), so rows can
refer to each other before they are loaded, and the sequences are moved past them after.
A model with django-simple-history gets one "+" history row per row, in the same COPY pass,
so the register "as of" a date and the inspector's history see the seeded data too.
"""

import datetime
import decimal
import io
import json
from collections.abc import Iterable

from django.db import connection, models

CHUNK_ROWS = 20_000
HISTORY_REASON = "Loaded by seed_scale for the benchmark"
_NOT_GIVEN = object()


def _text(value) -> str:
    if value is None:
        return r"\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime.datetime | datetime.date):
        value = value.isoformat()
    elif isinstance(value, dict | list):
        value = json.dumps(value, separators=(",", ":"))
    elif isinstance(value, int | float | decimal.Decimal):
        return str(value)
    else:
        value = str(value)
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


class _Table:
    """The columns of one model's table, each with the value used when a row leaves it out."""

    def __init__(self, model: type[models.Model]):
        self.table = model._meta.db_table
        self.fields = list(model._meta.concrete_fields)
        self.names = [f.attname for f in self.fields]
        self.columns = [f.column for f in self.fields]
        self.defaults = {}
        for f in self.fields:
            if f.has_default():
                default = f.default
                # Callable defaults (timezone.now, list, uuid) are taken once per table per
                # load: fine for created-at stamps and empty lists, and never used for keys.
                self.defaults[f.attname] = (
                    ("call", default) if callable(default) else ("value", default)
                )
            elif f.null:
                self.defaults[f.attname] = ("value", None)
            elif f.blank and isinstance(f, models.CharField | models.TextField | models.FileField):
                self.defaults[f.attname] = ("value", "")
            else:
                self.defaults[f.attname] = ("value", _NOT_GIVEN)

    def line(self, row: dict) -> str:
        values = []
        for name in self.names:
            value = row.get(name, _NOT_GIVEN)
            if value is _NOT_GIVEN:
                how, default = self.defaults[name]
                value = default() if how == "call" else default
                if value is _NOT_GIVEN:
                    raise ValueError(f"{self.table}: no value for {name}")
            values.append(_text(value))
        return "\t".join(values) + "\n"


def next_ids(model: type[models.Model], count: int, *, column: str = "id") -> range:
    """`count` primary keys after the largest in the table (the loader owns the database)."""
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT COALESCE(MAX("{column}"), 0) FROM "{model._meta.db_table}"')  # noqa: S608
        start = cursor.fetchone()[0] + 1
    return range(start, start + count)


def reset_sequence(model: type[models.Model]) -> None:
    pk = model._meta.pk.column
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', '{pk}'), "  # noqa: S608
            f'COALESCE((SELECT MAX("{pk}") FROM "{table}"), 1))'
        )


def copy_rows(
    model: type[models.Model],
    rows: Iterable[dict],
    *,
    history_date: str = "created_at",
    history_user_id: int | None = None,
) -> int:
    """COPY `rows` into `model`'s table (and its history table, if it has one). Each history
    row is dated by the row's `history_date` field (a datetime, or a date at noon). Returns
    how many rows were loaded."""
    table = _Table(model)
    history_model = getattr(getattr(model, "history", None), "model", None)
    history = _Table(history_model) if history_model is not None else None
    history_id = next_ids(history_model, 1, column="history_id").start if history else 0
    count = 0
    buffer, history_buffer = io.StringIO(), io.StringIO()
    pending = 0

    def flush():
        nonlocal buffer, history_buffer, pending
        with connection.cursor() as cursor:
            raw = cursor.cursor
            buffer.seek(0)
            raw.copy_expert(f'COPY "{table.table}" ({", ".join(table.columns)}) FROM STDIN', buffer)
            if history is not None:
                history_buffer.seek(0)
                raw.copy_expert(
                    f'COPY "{history.table}" ({", ".join(history.columns)}) FROM STDIN',
                    history_buffer,
                )
        buffer, history_buffer = io.StringIO(), io.StringIO()
        pending = 0

    for row in rows:
        buffer.write(table.line(row))
        if history is not None:
            when = row.get(history_date) or row.get("created_at")
            # A row may carry its own story: `_history`, a list of changes (each with
            # history_date, history_type and the fields as they were then).
            for change in row.get("_history") or [{"history_date": when, "history_type": "+"}]:
                stamp = change["history_date"]
                if isinstance(stamp, datetime.date) and not isinstance(stamp, datetime.datetime):
                    stamp = datetime.datetime.combine(stamp, datetime.time(12), datetime.UTC)
                history_buffer.write(
                    history.line(
                        {
                            **row,
                            "history_change_reason": HISTORY_REASON,
                            "history_user_id": history_user_id,
                            **change,
                            "history_id": history_id,
                            "history_date": stamp,
                        }
                    )
                )
                history_id += 1
        count += 1
        pending += 1
        if pending >= CHUNK_ROWS:
            flush()
    if pending:
        flush()
    reset_sequence(model)
    if history is not None:
        reset_sequence(history_model)
    return count
