"""The pages in a real browser: Debian's Chromium driven by Playwright against the platform as
`make run` starts it (web server, django-q2 worker, index owner), on a throwaway data folder.

Run with `make test-e2e`. Screenshots go to each test's folder under test-results/e2e/.
Playwright is driven directly (no pytest plugin: pytest-playwright empties test-results/ on
every pytest run, the browser-less ones included).
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import PEOPLE, REPO, VIDEOS

CHROMIUM = "/usr/bin/chromium"
USER, PASSWORD = "curator", "a long e2e test password"
MAX_UPLOAD_MB = 5  # small enough to see a file refused before it is sent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"the server did not answer at {url}")


@pytest.fixture(scope="session")
def app_env(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("e2e-data")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "faaaaaces.settings",
        "FAAAAACES_IGNORE_DOTENV": "1",
        "FAAAAACES_DATA_DIR": str(data_dir),
        "FAAAAACES_MODELS_DIR": os.environ.get("FAAAAACES_MODELS_DIR", str(REPO / "data/models")),
        # The batch test's good URL is served by a web server on 127.0.0.1.
        "ALLOW_PRIVATE_URLS": "1",
        "MAX_UPLOAD_MB": str(MAX_UPLOAD_MB),
        "DJANGO_SUPERUSER_USERNAME": USER,
        "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
        "DJANGO_SUPERUSER_EMAIL": "curator@example.org",
    }
    for variable in ("QDRANT_PATH", "FAAAAACES_SQLITE_PATH", "FAAAAACES_TMP_DIR", "REDIS_URL",
                     "FAAAAACES_STORAGE", "QDRANT_BACKEND"):  # fmt: skip
        env.pop(variable, None)
    yield env
    shutil.rmtree(data_dir, ignore_errors=True)


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="session")
def app(app_env, tmp_path_factory):
    """The platform running as `make run` runs it; yields its base URL, stops it afterwards."""
    manage(app_env, "migrate", "--noinput")
    manage(app_env, "createsuperuser", "--noinput")
    port = _free_port()
    log = open(tmp_path_factory.mktemp("e2e-logs") / "server.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        ["bash", "scripts/run_dev.sh", sys.executable, f"127.0.0.1:{port}"],
        cwd=REPO,
        env=app_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, stopped as one below
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{base_url}/login/")
        yield base_url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


@pytest.fixture(scope="session")
def base_url(app):
    return app


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser, base_url):
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture
def output_path(request) -> Path:
    """This test's folder for screenshots: test-results/e2e/<module>-<test>/."""
    name = f"{request.node.module.__name__.rsplit('.', 1)[-1]}-{request.node.name}"
    folder = REPO / "test-results" / "e2e" / re.sub(r"[^\w.-]+", "-", name).strip("-")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def shot(page, output_path):
    """Save a screenshot of the page under the test's output folder."""

    def take(name: str) -> None:
        page.screenshot(path=str(output_path / f"{name}.png"), full_page=True)

    take.folder = output_path
    return take


def log_in(page) -> None:
    page.goto("/login/")
    page.get_by_label("User name").fill(USER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")


@pytest.fixture
def logged_in(page):
    log_in(page)
    return page


# The two videos every page test uses; both have Barack Obama (slideshow_1 from 0 to 3 s).
TWO_VIDEOS = [VIDEOS / "slideshow_1.mp4", VIDEOS / "slideshow_2.mp4"]
OBAMA_PHOTO = PEOPLE / "barack_obama" / "obama2.jpg"  # in no video


@pytest.fixture(scope="session")
def two_videos_in_catalog(app, app_env):
    """The two videos ingested (already there, and not processed again, once the upload test
    has added them)."""
    manage(app_env, "ingest", *map(str, TWO_VIDEOS))
    return TWO_VIDEOS
