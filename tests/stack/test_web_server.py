"""The web container's command on this machine: gunicorn serving the app, its static files
through WhiteNoise (SERVE_STATIC, as the image sets it), on the stack's Postgres."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.stack.servers import REPO, free_port


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory):
    static_root = tmp_path_factory.mktemp("static")
    environment = os.environ | {"SERVE_STATIC": "1", "FAAAAACES_STATIC_ROOT": str(static_root)}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=REPO, env=environment, check=True,
    )  # fmt: skip
    port = free_port()
    log = open(tmp_path_factory.mktemp("gunicorn") / "gunicorn.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "faaaaaces.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "2"],
        cwd=REPO, env=environment, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:  # stopped whatever happens, a failed start included
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(base + "/admin/login/", timeout=10)
                break
            except OSError:  # not listening yet, or still loading the app
                assert process.poll() is None, "gunicorn exited"
                time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read(), answer.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get("Content-Type", "")


def test_gunicorn_serves_the_pages_and_their_static_files(gunicorn):
    status, page, _ = get(gunicorn + "/admin/login/")
    assert status == 200 and b"csrfmiddlewaretoken" in page
    status, css, content_type = get(gunicorn + "/static/admin/css/base.css")
    assert status == 200 and content_type.startswith("text/css") and len(css) > 1000
    status, _, _ = get(gunicorn + "/api/docs/")
    assert status == 200


def test_the_api_stays_closed_without_a_login(gunicorn):
    status, body, content_type = get(gunicorn + "/api/faces/")
    assert status in (401, 403) and content_type.startswith("application/json")
    assert b'"error"' in body
