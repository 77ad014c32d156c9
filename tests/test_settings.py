"""Production settings refuse to start without their required variables, and pass --deploy.

Each case starts a fresh Python with a clean environment (PATH and HOME only, plus what the
case sets), so nothing from the developer's shell leaks in. base.py also reads a `.env` file
beside manage.py when there is one; the child switches that off before loading settings, so a
developer's `.env` cannot hide a missing variable.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL")

# Run first in every child: no `.env` file is read.
NO_DOTENV = "import environ; environ.Env.read_env = lambda *args, **kwargs: None\n"
SETUP = NO_DOTENV + "import django; django.setup()\n"


def safe_environment() -> dict[str, str]:
    """A complete production environment with harmless values; nothing is connected to."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(Path.home())),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(48),  # 64 characters
        "ALLOWED_HOSTS": "entitlement.example.nhs.uk",
        "DATABASE_URL": "postgres://entitlement:not-a-password@127.0.0.1:5432/entitlement",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
    }


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_refused(result: subprocess.CompletedProcess, name: str) -> None:
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr, result.stderr
    assert f"environment variable {name} " in result.stderr, result.stderr


@pytest.mark.parametrize("name", REQUIRED)
def test_refuses_to_start_without(name):
    env = safe_environment()
    del env[name]
    assert_refused(run_python(SETUP, env), name)


@pytest.mark.parametrize("name", REQUIRED)
def test_refuses_to_start_with_blank(name):
    env = safe_environment()
    env[name] = "  "
    assert_refused(run_python(SETUP, env), name)


@pytest.mark.parametrize("value", ["True", "1", "yes", "on"])
def test_refuses_to_start_with_debug_on(value):
    env = safe_environment()
    env["DEBUG"] = value
    assert_refused(run_python(SETUP, env), "DEBUG")


@pytest.mark.parametrize("value", ["too-short", "insecure-" + "x" * 60])
def test_refuses_a_weak_secret_key(value):
    env = safe_environment()
    env["SECRET_KEY"] = value
    assert_refused(run_python(SETUP, env), "SECRET_KEY")


def test_starts_with_everything_set():
    result = run_python(
        SETUP
        + "from django.conf import settings\n"
        + "print(settings.DEBUG, settings.ALLOWED_HOSTS, settings.CELERY_BROKER_URL)\n",
        safe_environment(),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False",
        "['entitlement.example.nhs.uk']",
        "redis://127.0.0.1:6379/0",
    ]


def test_starts_with_debug_explicitly_off():
    env = safe_environment()
    env["DEBUG"] = "False"
    result = run_python(SETUP, env)
    assert result.returncode == 0, result.stderr


def test_check_deploy_reports_no_issues():
    """`manage.py check --deploy` passes with no warnings at all (warnings fail here)."""
    argv = [
        "manage.py",
        "check",
        "--deploy",
        "--fail-level=WARNING",
        "--settings=config.settings.production",
    ]
    result = run_python(
        NO_DOTENV
        + "from django.core.management import execute_from_command_line\n"
        + f"execute_from_command_line({argv!r})\n",
        safe_environment(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


def test_production_sends_secure_cookies_hsts_and_trusts_the_proxy_header():
    code = SETUP + (
        "import json\n"
        "from django.conf import settings as s\n"
        "print(json.dumps({n: getattr(s, n) for n in ('SESSION_COOKIE_SECURE',"
        " 'CSRF_COOKIE_SECURE', 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS',"
        " 'SECURE_PROXY_SSL_HEADER', 'SECURE_SSL_REDIRECT', 'DEBUG')}))\n"
    )
    result = run_python(code, safe_environment())
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SECURE_SSL_REDIRECT": True,
        "DEBUG": False,
    }


@pytest.mark.django_db
def test_postgresql_sessions_run_without_jit_or_parallel_workers():
    """Short, indexed queries on a modest server: JIT compilation and parallel workers cost
    more than they save (bench/analysis.md), so every connection turns them off."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL session settings; this run uses " + connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone() == ("0",)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "-c jit=off -c max_parallel_workers_per_gather=0"),
        ("", None),
        ("-c work_mem=8MB", "-c work_mem=8MB"),
    ],
)
def test_database_session_options_can_be_changed_or_left_to_the_server(value, expected):
    env = safe_environment()
    if value is not None:
        env["DATABASE_SESSION_OPTIONS"] = value
    result = run_python(
        SETUP
        + "import json\nfrom django.conf import settings\n"
        + "print(json.dumps(settings.DATABASES['default'].get('OPTIONS', {}).get('options')))\n",
        env,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == expected
