"""The shared template macros."""

import datetime

from django.template import engines


def render(source: str, **context) -> str:
    return engines["jinja2"].from_string(source).render(context)


DATE = '{% from "macros/tables.jinja" import date %}{{ date(value) }}'


def test_a_moment_is_shown_as_the_date_it_was_in_the_uk():
    # 23:30 UTC on 30 June is 00:30 on 1 July in London (British Summer Time).
    moment = datetime.datetime(2026, 6, 30, 23, 30, tzinfo=datetime.UTC)
    assert render(DATE, value=moment) == "1 Jul 2026"
    winter = datetime.datetime(2026, 12, 31, 23, 30, tzinfo=datetime.UTC)
    assert render(DATE, value=winter) == "31 Dec 2026"


def test_a_date_is_shown_as_it_is_and_nothing_as_nothing():
    assert render(DATE, value=datetime.date(2026, 3, 7)) == "7 Mar 2026"
    assert render(DATE, value=None) == ""
