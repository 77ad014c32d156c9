"""Gunicorn settings, read automatically when gunicorn starts in this directory.

The container image runs `gunicorn config.wsgi`; everything tunable comes from the
environment (see docs/configuration.md).
"""

import os

# The image sets GUNICORN_BIND=0.0.0.0:8000; outside a container stay on loopback.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# Letters are rendered to PDF inside requests, so allow more than gunicorn's 30 seconds.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
# Logs go to standard output and error, for the container runtime to collect.
accesslog = "-"
errorlog = "-"
# Worker heartbeats in memory: a container's overlay file system can stall them. Gunicorn
# makes its heartbeat files there with mkstemp, so a shared directory is safe.
_SHM = "/dev/shm"  # noqa: S108
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None


def post_worker_init(worker):
    """Once the application is loaded, move everything it made so far out of the garbage
    collector's sight: a full collection then looks only at what requests allocate, instead
    of the whole of Django and the project on every pass (the lookup API allocates enough
    to trigger one every few hundred requests)."""
    import gc

    gc.freeze()
