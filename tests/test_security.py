"""Security rules: production settings pass Django's deploy checks, logins lock out after
repeated failures, API tokens are made and revoked by their user, search by photo is limited."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from search.api import SearchRateThrottle
from tests.conftest import REPO

SECRET = "k" * 10 + "-a-long-random-secret-for-the-deploy-check-9f8e7d6c5b4a3"


def deploy_check(**variables: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environment |= {"DJANGO_SETTINGS_MODULE": "faaaaaces.settings", "FAAAAACES_IGNORE_DOTENV": "1",
                    "FAAAAACES_PRODUCTION": "1", **variables,
                    "FAAAAACES_MODELS_DIR": str(settings.FACE_MODELS_DIR)}  # fmt: skip
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO, env=environment, capture_output=True, text=True,
    )  # fmt: skip


def test_production_settings_pass_the_deploy_checks(tmp_path):
    done = deploy_check(DJANGO_SECRET_KEY=SECRET, FAAAAACES_DATA_DIR=str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_production_refuses_the_development_secret_key(tmp_path):
    done = deploy_check(FAAAAACES_DATA_DIR=str(tmp_path))
    assert done.returncode != 0 and "faaaaaces.E007" in done.stdout + done.stderr


@pytest.mark.django_db
def test_a_user_makes_and_revokes_their_api_token(django_user_model):
    user = django_user_model.objects.create_user("owner", password="a long test password")
    client = APIClient()
    made = client.post("/api/token/", {"username": "owner", "password": "a long test password"},
                       format="json")  # fmt: skip
    assert made.status_code == 200 and made.json()["token"] == Token.objects.get(user=user).key
    client.credentials(HTTP_AUTHORIZATION=f"Token {made.json()['token']}")
    assert client.get("/api/jobs/").status_code == 200
    assert client.delete("/api/token/").status_code == 204
    assert client.get("/api/jobs/").status_code == 401


@pytest.mark.django_db
def test_repeated_failed_logins_lock_the_user_name_out(django_user_model):
    django_user_model.objects.create_user("owner", password="a long test password")
    client = APIClient()

    def log_in(password: str):
        return client.post("/api/token/", {"username": "owner", "password": password},
                           format="json")  # fmt: skip

    assert [log_in("guess").status_code for _ in range(4)] == [400] * 4
    fifth = log_in("guess")
    assert fifth.status_code == 429 and "Too many failed logins" in fifth.json()["error"]["message"]
    assert log_in("a long test password").status_code == 429  # even the right one, for now


@pytest.mark.django_db
def test_search_by_photo_is_limited_per_user(api_client, monkeypatch):
    cache.clear()  # the counts of earlier tests' searches
    monkeypatch.setattr(SearchRateThrottle, "THROTTLE_RATES", {"search": "2/minute"})
    answers = [api_client.post("/api/search/", {"face_id": 999999}, format="json").status_code
               for _ in range(3)]  # fmt: skip
    assert answers == [404, 404, 429]
