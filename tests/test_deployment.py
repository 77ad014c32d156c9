"""The deployment files hold together: docker-compose.yml, Dockerfile and the configuration doc.

No Docker engine is needed: the files are read and checked as text and YAML.
"""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
CONFIG_DOC = ROOT / "docs" / "configuration.md"
APP_SERVICES = ("web", "worker", "beat", "migrate")

# Reads of environment variables in Python: env.str("X"...), env.bool("X"..., env("X"...),
# required("X"), os.environ.get("X"...), os.getenv("X"...), os.environ["X"].
PY_ENV_READ = re.compile(
    r"""\b(?:env(?:\.\w+)?|required|os\.environ\.(?:get|setdefault)|os\.getenv)"""
    r"""\(\s*["']([A-Z][A-Z0-9_]*)["']"""
)
PY_ENV_INDEX = re.compile(r"""os\.environ\[\s*["']([A-Z][A-Z0-9_]*)["']\s*\]""")
# ${X}, ${X:-default}, ${X:?message} in docker-compose.yml ($${X} is a literal for the shell).
COMPOSE_VAR = re.compile(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def command_text(service: dict) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else command


def env_files(service: dict) -> list:
    value = service.get("env_file")
    items = value if isinstance(value, list) else [value]
    return [item["path"] if isinstance(item, dict) else item for item in items]


def dockerfile_stages() -> list[list[str]]:
    """The Dockerfile's instructions, continuation lines joined, grouped by FROM."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    stages: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


# --- docker-compose.yml -------------------------------------------------------------------


def test_compose_has_every_service(services):
    assert {"db", "redis", "web", "worker", "beat", "migrate"} <= set(services)
    assert services["db"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")


@pytest.mark.parametrize("name", ["db", "redis", "web", "worker"])
def test_long_running_services_have_healthchecks(services, name):
    healthcheck = services[name].get("healthcheck")
    assert healthcheck, f"{name} has no healthcheck"
    assert not healthcheck.get("disable", False)
    assert healthcheck.get("test"), f"{name}'s healthcheck has no test"


def test_db_and_redis_healthchecks_ask_the_server(services):
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    assert "redis-cli ping" in " ".join(services["redis"]["healthcheck"]["test"])
    assert "inspect ping" in " ".join(services["worker"]["healthcheck"]["test"])


def test_app_services_share_one_image_and_one_env_file(services):
    images = {services[name].get("image") for name in APP_SERVICES}
    assert len(images) == 1 and None not in images, images
    builds = {str(services[name].get("build")) for name in APP_SERVICES}
    assert len(builds) == 1, builds
    files = {tuple(env_files(services[name])) for name in APP_SERVICES}
    assert len(files) == 1 and files != {(None,)}, files


def test_commands(services):
    assert re.search(r"\bgunicorn\b.*\bconfig\.wsgi\b", command_text(services["web"]))
    assert re.search(r"\bmanage\.py migrate\b", command_text(services["migrate"]))
    assert re.search(r"\bcelery -A config worker\b", command_text(services["worker"]))
    assert re.search(r"\bcelery -A config beat\b", command_text(services["beat"]))


def test_start_order(services):
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["migrate"].get("restart") == "no"
    for name in ("web", "worker", "beat"):
        depends_on = services[name]["depends_on"]
        assert depends_on["migrate"]["condition"] == "service_completed_successfully", name
        assert depends_on["redis"]["condition"] == "service_healthy", name


def test_compose_holds_no_app_configuration(services):
    """Configuration reaches the application only through the shared env_file."""
    for name in APP_SERVICES:
        assert "environment" not in services[name], name


def test_env_file_is_ignored_by_git_and_docker_and_has_an_example(services):
    (env_file,) = env_files(services["web"])
    assert env_file in (ROOT / ".gitignore").read_text().splitlines()
    assert env_file in (ROOT / ".dockerignore").read_text().splitlines()
    example = (ROOT / f"{env_file}.example").read_text()
    for name in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "POSTGRES_PASSWORD"):
        assert re.search(rf"^{name}=", example, re.MULTILINE), name


# --- Dockerfile ---------------------------------------------------------------------------


def test_dockerfile_is_multi_stage():
    stages = dockerfile_stages()
    assert len(stages) >= 2
    assert stages[0][0].split()[1].startswith("node:20")
    assert any("npm ci" in line for line in stages[0])
    assert any("npm run" in line and "build" in line for line in stages[0])


def test_dockerfile_final_stage_runs_production_settings():
    final = dockerfile_stages()[-1]
    assert final[0].split()[1].startswith("python:3.11-slim")
    env_lines = " ".join(line for line in final if line.upper().startswith("ENV "))
    assert re.search(r"\bDJANGO_SETTINGS_MODULE=config\.settings\.production\b", env_lines)
    assert any("collectstatic" in line for line in final)
    assert any(line.startswith("COPY --from=") for line in final)
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0"), users
    cmd = [line for line in final if line.upper().startswith("CMD ")]
    assert cmd and "gunicorn" in cmd[-1] and "config.wsgi" in cmd[-1]


# --- docs/configuration.md ----------------------------------------------------------------


def variables_read_by_the_application() -> set[str]:
    sources = [*sorted((ROOT / "config" / "settings").glob("*.py")), ROOT / "gunicorn.conf.py"]
    names: set[str] = set()
    for source in sources:
        text = source.read_text()
        names |= set(PY_ENV_READ.findall(text)) | set(PY_ENV_INDEX.findall(text))
    return names


def test_the_scan_finds_the_settings_variables():
    """Guards the regular expressions: a scan that finds nothing would check nothing."""
    names = variables_read_by_the_application()
    assert {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"} <= names
    assert {"SECURE_SSL_REDIRECT", "EMAIL_URL", "GUNICORN_WORKERS"} <= names


def documented(name: str, doc: str) -> bool:
    """`name` is a row of one of the doc's tables."""
    return re.search(rf"^\|\s*`{re.escape(name)}`\s*\|", doc, re.MULTILINE) is not None


def test_every_variable_the_application_reads_is_documented():
    doc = CONFIG_DOC.read_text()
    missing = sorted(n for n in variables_read_by_the_application() if not documented(n, doc))
    assert not missing, f"not documented in docs/configuration.md: {missing}"


def test_every_variable_docker_compose_reads_is_documented():
    doc = CONFIG_DOC.read_text()
    names = set(COMPOSE_VAR.findall(COMPOSE.read_text()))
    assert "POSTGRES_PASSWORD" in names
    missing = sorted(n for n in names if not documented(n, doc))
    assert not missing, f"not documented in docs/configuration.md: {missing}"
