"""`make run`'s processes on the embedded defaults: the site, a Celery worker and beat start
together under one process manager, and Ctrl-C (SIGINT) stops all of them."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_procfile_names_the_site_worker_and_beat():
    processes = dict(
        line.split(":", 1) for line in (ROOT / "Procfile.dev").read_text().splitlines() if line
    )
    assert set(processes) == {"web", "worker", "beat"}
    assert "runserver" in processes["web"]
    assert "celery -A config worker" in processes["worker"]
    assert "celery -A config beat" in processes["beat"]


@pytest.mark.skipif(not (VENV_BIN / "honcho").exists(), reason="honcho is not installed")
def test_site_worker_and_beat_run_on_embedded_defaults_and_stop_on_ctrl_c(tmp_path):
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}",
        "CELERY_DATA_DIR": str(tmp_path / "celery"),
        "WEB_PORT": str(port),
        "PYTHONUNBUFFERED": "1",
    }  # no REDIS_URL: Celery's filesystem broker, as on a laptop
    for folder in ("out", "processed", "control"):
        (tmp_path / "celery" / folder).mkdir(parents=True)
    subprocess.run(
        [VENV_BIN / "python", "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    log = tmp_path / "run.log"
    with log.open("w") as out:
        honcho = subprocess.Popen(
            [VENV_BIN / "honcho", "start", "-f", "Procfile.dev"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline:
            text = log.read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/sign-in/", timeout=2) as r:
                    status = r.status
            except OSError:
                status = None
            if status == 200 and "ready." in text and "beat: Starting" in text:
                break
            time.sleep(0.5)
        text = log.read_text()
        assert status == 200, text
        assert "Connected to filesystem://" in text, text
        assert "ready." in text and "beat: Starting" in text, text

        os.killpg(honcho.pid, signal.SIGINT)
        honcho.wait(timeout=20)
    finally:
        if honcho.poll() is None:
            os.killpg(honcho.pid, signal.SIGKILL)
    time.sleep(0.5)
    leftovers = subprocess.run(
        ["pgrep", "-f", f"127.0.0.1:{port}|{tmp_path}"], capture_output=True, text=True
    ).stdout.split()
    assert not leftovers, f"processes still running after Ctrl-C: {leftovers}"
