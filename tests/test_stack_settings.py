"""Settings that pick the production stack's servers, and the checks that catch a wrong one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

from django.test import override_settings

from faaaaaces.storage import CatalogS3Storage
from ingestion.checks import check_choices, check_servers
from tests.conftest import REPO

STACK_VARIABLES = ("DATABASE_URL", "REDIS_URL", "QDRANT", "S3_", "FAAAAACES_STORAGE")


def settings_under(environment: dict[str, str], expression: str) -> list:
    """The values of `expression` (over `settings`) in a process started with this environment."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(STACK_VARIABLES)}
    done = subprocess.run(
        [sys.executable, "-c",
         "import json, django; django.setup(); from django.conf import settings;"
         f" print(json.dumps([{expression}]))"],
        cwd=REPO, capture_output=True, text=True, check=True,
        env=inherited | {"DJANGO_SETTINGS_MODULE": "faaaaaces.settings"} | environment,
    )  # fmt: skip
    return json.loads(done.stdout)


def test_defaults_need_no_server():
    assert settings_under(
        {},
        "settings.DATABASES['default']['ENGINE'], settings.QDRANT_BACKEND, "
        "settings.STORAGES['default']['BACKEND'], 'redis' in settings.Q_CLUSTER",
    ) == [
        "django.db.backends.sqlite3",
        "edge",
        "faaaaaces.storage.LocalMediaStorage",
        False,
    ]


def test_each_server_is_chosen_by_its_own_variable():
    chosen = settings_under(
        {
            "DATABASE_URL": "postgres://faaaaaces:secret@db.internal:5432/catalog",
            "QDRANT_URL": "http://qdrant.internal:6333",
            "FAAAAACES_STORAGE": "s3",
        },
        "settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['HOST'],"
        " settings.QDRANT_BACKEND, settings.STORAGES['default']['BACKEND'],"
        " settings.STORAGES['videos']['BACKEND']",
    )
    # Crops go to the bucket; videos stay local unless S3_STORE_VIDEOS is on.
    assert chosen == [
        "django.db.backends.postgresql", "db.internal", "server",
        "faaaaaces.storage.CatalogS3Storage", "faaaaaces.storage.LocalMediaStorage",
    ]  # fmt: skip


def test_videos_go_to_the_bucket_when_asked():
    videos = settings_under(
        {"FAAAAACES_STORAGE": "s3", "S3_STORE_VIDEOS": "1"},
        "settings.STORAGES['videos']['BACKEND']",
    )
    assert videos == ["faaaaaces.storage.CatalogS3Storage"]


def crop_storage(**options) -> CatalogS3Storage:
    return CatalogS3Storage(
        bucket_name="faces", access_key="key", secret_key="secret", region_name="us-east-1",
        addressing_style="path", signature_version="s3v4", querystring_expire=120, **options,
    )  # fmt: skip


def test_crop_urls_are_signed_for_the_address_browsers_reach_the_bucket_at():
    storage = crop_storage(
        endpoint_url="http://minio:9000", public_endpoint_url="http://localhost:9000"
    )
    url = storage.url("faces/2026/12/v1_t0_f3.jpg")  # signing is local: nothing is contacted
    parts = urlsplit(url)
    assert (parts.netloc, parts.path) == ("localhost:9000", "/faces/faces/2026/12/v1_t0_f3.jpg")
    query = parse_qs(parts.query)
    assert query["X-Amz-Expires"] == ["120"] and query["X-Amz-Signature"]
    inside = urlsplit(crop_storage(endpoint_url="http://minio:9000").url("faces/a.jpg"))
    assert inside.netloc == "minio:9000"


def test_a_qdrant_server_without_an_address_is_reported():
    with override_settings(QDRANT_BACKEND="server", QDRANT_URL=""):
        assert [problem.id for problem in check_servers(None)] == ["faaaaaces.E006"]
    with override_settings(QDRANT_BACKEND="server", QDRANT_URL="http://qdrant:6333"):
        assert check_servers(None) == []


def test_an_unknown_storage_and_videos_in_no_bucket_are_reported():
    with override_settings(FAAAAACES_STORAGE="minio"):
        assert "faaaaaces.E005" in [problem.id for problem in check_choices(None)]
    with override_settings(FAAAAACES_STORAGE="local", S3_STORE_VIDEOS=True):
        assert [problem.id for problem in check_servers(None)] == ["faaaaaces.W002"]
