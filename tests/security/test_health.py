"""`GET /health` for the load balancer and monitoring: 200 when the database and the broker
answer and a worker heartbeat is recent, 503 naming what failed; quick even when Redis hangs;
no login and nothing read beyond the checks."""

import datetime
import socket
import time

import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from config.celery import app
from config.health import HEARTBEAT_KEY, heartbeat_last, heartbeat_record
from referrers.tasks import worker_heartbeat
from tests.api.helpers import database_failing

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def own_heartbeat(settings, tmp_path):
    """A heartbeat of this test's own: a file under tmp_path, or this Redis db's key."""
    settings.CELERY_DATA_DIR = tmp_path
    cache.delete(HEARTBEAT_KEY)


@pytest.fixture
def browser():
    return Client(raise_request_exception=False)


def test_all_well_is_200_with_each_check(browser, django_assert_max_num_queries):
    heartbeat_record()
    with django_assert_max_num_queries(1):  # SELECT 1; no session, no user
        response = browser.get("/health")
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "broker": True,
        "worker": True,
    }
    assert body["checks"]["worker"]["age_seconds"] < 5
    assert response["Cache-Control"].startswith("max-age=0")


def test_the_database_unreachable_is_503_naming_it(browser):
    heartbeat_record()
    with database_failing():
        response = browser.get("/health")
    assert response.status_code == 503
    assert response.json()["failed"] == ["database"]
    assert response.json()["checks"]["database"] == {"ok": False, "error": "OperationalError"}


def test_the_broker_at_a_closed_port_is_503_naming_it_quickly(browser, settings):
    heartbeat_record()
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/13"
    started = time.monotonic()
    response = browser.get("/health")
    assert time.monotonic() - started < 2
    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]


def test_a_hung_broker_does_not_hang_the_endpoint(browser, settings):
    heartbeat_record()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(10)  # accepts, never answers
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{server.getsockname()[1]}/13"
    settings.BROKER_TIMEOUT = 1.0
    try:
        started = time.monotonic()
        response = browser.get("/health")
        took = time.monotonic() - started
    finally:
        server.close()
    assert took < 3
    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]


def test_no_heartbeat_or_an_old_one_is_503_naming_the_worker(browser, settings):
    response = browser.get("/health")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"]["error"] == "no worker heartbeat recorded"

    heartbeat_record()
    later = timezone.now() + datetime.timedelta(seconds=settings.HEALTH_HEARTBEAT_MAX_AGE + 1)
    with time_machine.travel(later):
        response = browser.get("/health")
    assert response.status_code == 503
    assert response.json()["failed"] == ["worker"]
    assert "older than" in response.json()["checks"]["worker"]["error"]


def test_the_load_balancer_can_ask_for_the_database_alone(browser):
    # No heartbeat: the worker is down, but this web node can still serve pages.
    response = browser.get("/health", {"check": "database"})
    assert response.status_code == 200
    assert list(response.json()["checks"]) == ["database"]
    assert browser.get("/health", {"check": "database,nonsense"}).status_code == 400


def test_it_needs_no_sign_in_and_says_nothing_personal(browser, referrer):
    heartbeat_record()
    response = browser.get("/health")
    assert response.status_code == 200
    assert referrer.email not in response.content.decode()
    assert browser.post("/health").status_code == 405


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_heartbeat_beat_sends():
    app.control.purge()
    assert heartbeat_last() is None
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        worker_heartbeat.delay()
        deadline = time.monotonic() + 30
        while heartbeat_last() is None and time.monotonic() < deadline:
            time.sleep(0.2)
    last = heartbeat_last()
    assert last is not None and timezone.now() - last < datetime.timedelta(seconds=60)
    assert Client().get("/health").status_code == 200
