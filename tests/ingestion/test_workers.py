"""Real worker processes on the SQLite default, in a data folder of their own: a worker killed
with SIGKILL mid-video leaves a catalog that, once another worker took the job over, equals a
clean run's; and the web server with two workers ingesting while searches go on never fails
with "database is locked"."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import imageio_ffmpeg
import pytest
import requests
from django.conf import settings

from tests.conftest import PEOPLE, REPO, VIDEOS

pytestmark = pytest.mark.slow

CATALOG_VARIABLES = (
    "FAAAAACES_SQLITE_PATH", "QDRANT_PATH", "QDRANT_URL", "QDRANT_BACKEND", "REDIS_URL",
    "DATABASE_URL", "FAAAAACES_STORAGE", "FAAAAACES_TMP_DIR", "FAAAAACES_VIDEOS_DIR",
    "FAAAAACES_FACES_DIR",
)  # fmt: skip


def environment(data_dir: Path, **extra: str) -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if k not in CATALOG_VARIABLES}
    return kept | {
        "DJANGO_SETTINGS_MODULE": "faaaaaces.settings",
        "FAAAAACES_IGNORE_DOTENV": "1",
        "FAAAAACES_DATA_DIR": str(data_dir),
        "FAAAAACES_MODELS_DIR": str(settings.FACE_MODELS_DIR),
        "JOB_HEARTBEAT_S": "1",
        "JOB_STALE_AFTER_S": "4",
        **extra,
    }


def manage(data_dir: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=environment(data_dir, **extra),
        capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip


def start(data_dir: Path, *command: str, **extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        list(command), cwd=REPO, env=environment(data_dir, **extra), start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def stop(process: subprocess.Popen, signum: int = signal.SIGTERM) -> str:
    """Stop the process and everything it started; SIGKILL if a SIGTERM is not enough."""
    if process.poll() is None:
        os.killpg(process.pid, signum)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate(timeout=30)
    return output


def query(data_dir: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(data_dir / "faaaaaces.sqlite3", timeout=30) as db:
        return db.execute(sql).fetchall()


def wait_for(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def catalog_of(data_dir: Path) -> dict:
    """What a run left: the faces found, their crop files, and whether the index agrees."""
    faces = query(data_dir, "SELECT time_s, frame_index, box_x, box_y, box_w, box_h, crop "
                            "FROM catalog_face ORDER BY time_s, box_x")  # fmt: skip
    crop_files = {
        str(path.relative_to(data_dir / "media"))
        for path in (data_dir / "media" / "faces").rglob("*")
        if path.is_file()
    }
    index = manage(data_dir, "check_index").stdout
    return {
        "faces": [row[:6] for row in faces],
        "crops_match_files": {row[6] for row in faces} == crop_files,
        "index_consistent": "the index matches the database" in index,
        "people": query(data_dir, "SELECT COUNT(*) FROM catalog_person")[0][0],
    }


@pytest.fixture(scope="module")
def long_video(tmp_path_factory) -> Path:
    """The Friends clip four times over (about 100 s): long enough to kill a worker mid-way."""
    path = tmp_path_factory.mktemp("videos") / "poker_four_times.mp4"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-stream_loop", "3", "-i",
         str(VIDEOS / "friends_poker.mp4"), "-c", "copy", str(path)],
        check=True,
    )  # fmt: skip
    return path


def test_a_worker_killed_mid_video_leaves_the_catalog_a_clean_run_gives(long_video, tmp_path):
    clean, crashed = tmp_path / "clean", tmp_path / "crashed"
    for folder in (clean, crashed):
        manage(folder, "migrate", "--noinput")
    manage(clean, "ingest", str(long_video))

    manage(crashed, "ingest", "--queue", str(long_video))
    worker = start(crashed, sys.executable, "manage.py", "qcluster")
    mid_video = "SELECT 1 FROM ingestion_ingestjob WHERE stage='detecting' AND progress >= 30"
    wait_for(lambda: query(crashed, mid_video), 300, "the worker to be mid-video")
    stop(worker, signal.SIGKILL)  # the worker and its cluster, as a power cut would
    assert query(crashed, "SELECT status, attempt FROM ingestion_ingestjob") == [("running", 1)]

    worker = start(crashed, sys.executable, "manage.py", "qcluster")
    try:
        wait_for(lambda: query(crashed, "SELECT 1 FROM ingestion_ingestjob WHERE status='done'"),
                 150, "another worker to take the job over and finish it")  # fmt: skip
    finally:
        stop(worker)
    assert query(crashed, "SELECT attempt FROM ingestion_ingestjob") == [(2,)]
    after_crash, clean_run = catalog_of(crashed), catalog_of(clean)
    assert after_crash["faces"] == clean_run["faces"] and clean_run["faces"]
    assert after_crash["crops_match_files"] and clean_run["crops_match_files"]
    assert after_crash["index_consistent"]
    assert after_crash["people"] == clean_run["people"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_web_server_and_two_workers_on_sqlite_ingest_while_searches_go_on(tmp_path):
    data = tmp_path / "catalog"
    manage(data, "migrate", "--noinput")
    token = manage(data, "shell", "-c", (
        "from django.contrib.auth.models import User; from rest_framework.authtoken.models "
        "import Token; print(Token.objects.create(user=User.objects.create_user('u')).key)"
    )).stdout.strip().splitlines()[-1]  # fmt: skip
    port = free_port()
    server = start(data, "bash", "scripts/run_dev.sh", sys.executable, f"127.0.0.1:{port}",
                   Q_WORKERS="2")  # fmt: skip
    api, headers = f"http://127.0.0.1:{port}/api", {"Authorization": f"Token {token}"}
    answers: list[int] = []
    done = threading.Event()

    def search_all_along() -> None:
        photo = (PEOPLE / "barack_obama" / "obama2.jpg").read_bytes()
        while not done.is_set():
            response = requests.post(f"{api}/search/", headers=headers,
                                     files={"photo": ("q.jpg", photo)}, timeout=60)  # fmt: skip
            answers.append(response.status_code)

    try:
        wait_for(lambda: _answers(f"{api}/jobs/", headers), 60, "the web server")
        names = ["slideshow_1.mp4", "slideshow_2.mp4", "slideshow_3.mp4", "short_hamilton_clip.mp4"]
        searcher = threading.Thread(target=search_all_along, daemon=True)
        searcher.start()
        for name in names:
            with open(VIDEOS / name, "rb") as handle:
                response = requests.post(f"{api}/upload_video", headers=headers,
                                         files={"file": (name, handle)}, timeout=60)  # fmt: skip
            assert response.status_code == 202, response.text
        wait_for(lambda: len(query(data, "SELECT 1 FROM ingestion_ingestjob WHERE status IN "
                                         "('done', 'failed')")) == len(names),
                 300, "every job to finish")  # fmt: skip
        done.set()
        searcher.join(timeout=60)
    finally:
        done.set()
        log = stop(server)
    assert query(data, "SELECT DISTINCT status FROM ingestion_ingestjob") == [("done",)], log
    assert "database is locked" not in log
    assert answers and set(answers) == {200}, answers
    names_found = query(data, "SELECT COUNT(DISTINCT video_id) FROM catalog_face")[0][0]
    assert names_found == len(names)


def _answers(url: str, headers: dict) -> bool:
    try:
        return requests.get(url, headers=headers, timeout=5).status_code == 200
    except requests.RequestException:  # not listening yet, or its workers still starting
        return False
