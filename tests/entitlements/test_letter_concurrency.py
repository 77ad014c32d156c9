"""Two workers rendering the same letter at the same moment store one file, once.

The first to lock the letter row renders slowly, until the second is seen waiting for that
lock (pg_stat_activity), so the two really overlap; the second then finds the letter ready
and leaves it alone. Without the row lock both would render and store a file each. SQLite
has no row locks, so this needs PostgreSQL.
"""

import threading
import time

import pytest
from django.core.files.storage import default_storage
from django.db import connection

from entitlements.models import LetterStatus
from entitlements.services import letters as letter_services

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL row locks: set DATABASE_URL",
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    default = {**settings.STORAGES["default"], "OPTIONS": {"location": str(tmp_path)}}
    settings.STORAGES = {**settings.STORAGES, "default": default}


def _someone_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock' "
            "AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


def test_two_renders_at_once_store_one_file(entitlement, monkeypatch):
    letter = entitlement.letters.get()
    real_pdf = letter_services.letter_pdf
    renders = []

    def slow_pdf(letter, **kwargs):
        renders.append(letter.pk)
        deadline = time.monotonic() + 10
        while not _someone_waits_for_a_lock() and time.monotonic() < deadline:
            time.sleep(0.05)
        return real_pdf(letter, **kwargs)

    monkeypatch.setattr(letter_services, "letter_pdf", slow_pdf)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def render():
        try:
            barrier.wait(timeout=10)
            results.append(letter_services.letter_render(letter_id=letter.pk))
        except Exception as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=render) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert renders == [letter.pk]  # rendered once
    assert len(results) == 2
    assert results[0].sha256 == results[1].sha256 != ""
    letter.refresh_from_db()
    assert letter.status == LetterStatus.READY
    assert letter.attempts == 1
    assert default_storage.listdir("letters")[1] == [letter.file.name.removeprefix("letters/")]
