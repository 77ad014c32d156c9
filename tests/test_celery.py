"""The Celery app's reliability settings (conventions: acks late, reject on a lost worker,
a Redis visibility timeout longer than the longest task)."""

from config.celery import app


def test_tasks_are_acknowledged_late_and_requeued_when_a_worker_dies():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_broker_is_redis_when_configured_else_the_filesystem(settings):
    if settings.REDIS_URL:
        assert app.conf.broker_url == settings.REDIS_URL
        assert app.conf.broker_transport_options["visibility_timeout"] >= 60 * 60
    else:
        assert app.conf.broker_url == "filesystem://"
        assert app.conf.broker_transport_options["control_folder"].endswith("control")
