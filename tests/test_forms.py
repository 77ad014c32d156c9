"""The day-month-year date field every form uses: nonsense is a message, never an error."""

import datetime

import pytest
from django import forms

from config.forms import DateField


class DateForm(forms.Form):
    day = DateField()


def posted(day, month, year) -> forms.Form:
    return DateForm({"day_day": day, "day_month": month, "day_year": year})


def test_a_real_date_is_read():
    form = posted("29", "2", "2028")
    assert form.is_valid()
    assert form.cleaned_data["day"] == datetime.date(2028, 2, 29)


@pytest.mark.parametrize(
    ("day", "month", "year", "message"),
    [
        ("30", "2", "2026", "Enter a real date"),
        ("1", "13", "2026", "Enter a real date"),
        # Too large for a C integer: datetime.date raises OverflowError, not ValueError.
        ("99999999999999999999", "1", "2026", "Enter a real date"),
        ("1", "99999999999999999999", "2026", "Enter a real date"),
        ("1", "1", "99999999999999999999", "Enter a real year, like 2026"),
        ("1", "", "2026", "Enter a full date, including day, month and year"),
        ("one", "1", "2026", "Enter the day as a number"),
    ],
)
def test_a_date_that_is_not_real_is_a_message(day, month, year, message):
    form = posted(day, month, year)
    assert not form.is_valid()
    assert message in str(form.errors["day"])
