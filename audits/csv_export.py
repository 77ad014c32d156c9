"""Writing CSV for spreadsheets: a cell starting with `=`, `+`, `-` or `@` (or a tab or carriage
return) is prefixed with `'`, so a spreadsheet shows it as text and never runs it as a
formula. Streamed, so a large export holds one batch of rows at a time."""

import csv
from collections.abc import Iterable

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell) -> str:
    text = "" if cell is None else str(cell)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_response(rows: Iterable[list], file_name: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo(), lineterminator="\r\n")

    def lines():
        yield "\ufeff"  # a BOM, so Excel reads UTF-8
        for row in rows:
            yield writer.writerow([neutralise(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    response["Cache-Control"] = "no-store"
    return response
