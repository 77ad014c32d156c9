"""No patient identifiers are stored here (principle 7 reports, audit extracts): anything that
looks like an NHS number is refused, valid check digit or not (a mistyped NHS number is still
a patient identifier)."""

import re

# Ten digits, optionally grouped 3-3-4 with spaces or hyphens, not inside a longer number.
NHS_NUMBER = re.compile(r"(?<![\d])\d{3}[ -]?\d{3}[ -]?\d{4}(?![\d])")


def looks_like_nhs_number(text: str) -> bool:
    return bool(NHS_NUMBER.search(text or ""))
