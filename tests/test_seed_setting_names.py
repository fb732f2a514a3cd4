"""The seed's names for settings still work, converted, and start-up warns with the new name."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

from tests.conftest import REPO, VIDEOS

SEED_NAMES = {
    "FRAME_EXTRACTION_INTERVAL": "0.5",  # seconds between samples
    "FACE_CONFIDENCE_THRESHOLD": "0.7",
    "CLUSTERING_SIMILARITY_THRESHOLD": "0.6",  # a similarity
    "MAX_VIDEO_SIZE_MB": "300",
    "MAX_DOWNLOAD_SIZE_MB": "400",
}
PRINT_SETTINGS = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.FRAME_SAMPLE_FPS, s.FACE_DETECTION_MIN_CONFIDENCE, "
    "round(s.CLUSTERING_DISTANCE_THRESHOLD or 0, 6), s.MAX_UPLOAD_MB, s.MAX_DOWNLOAD_MB, "
    "s.TMP_DIR.name)"
)


def run_with(variables: dict[str, str], tmp_path, *command: str) -> subprocess.CompletedProcess:
    names = {*SEED_NAMES, "TEMP_FOLDER", "FRAME_SAMPLE_FPS", "FAAAAACES_TMP_DIR", "UPLOAD_FOLDER",
             "FACES_FOLDER", "FAAAAACES_VIDEOS_DIR", "FAAAAACES_FACES_DIR"}  # fmt: skip
    environment = {k: v for k, v in os.environ.items() if k not in names} | variables
    environment |= {
        "DJANGO_SETTINGS_MODULE": "faaaaaces.settings",
        "FAAAAACES_IGNORE_DOTENV": "1",
        "FAAAAACES_DATA_DIR": str(tmp_path),
        "FAAAAACES_MODELS_DIR": str(settings.FACE_MODELS_DIR),
    }
    return subprocess.run(
        [sys.executable, *command], cwd=REPO, env=environment, capture_output=True, text=True
    )


def test_the_seeds_names_are_read_with_their_meaning_converted(tmp_path):
    variables = SEED_NAMES | {"TEMP_FOLDER": str(tmp_path / "waiting")}
    done = run_with(variables, tmp_path, "-c", PRINT_SETTINGS)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2.0", "0.7", "0.4", "300", "400", "waiting"]


def test_the_new_name_wins_when_both_are_set(tmp_path):
    both = {"FRAME_EXTRACTION_INTERVAL": "0.5", "FRAME_SAMPLE_FPS": "3"}
    done = run_with(both, tmp_path, "-c", PRINT_SETTINGS)
    assert done.stdout.split()[0] == "3.0"


def test_start_up_checks_warn_with_the_new_name(tmp_path):
    done = run_with({"MAX_VIDEO_SIZE_MB": "300"}, tmp_path, "manage.py", "check")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "faaaaaces.W003" in output and "MAX_VIDEO_SIZE_MB" in output
    assert "Set MAX_UPLOAD_MB instead" in output


@pytest.mark.slow
def test_the_seeds_upload_and_faces_folders_hold_the_videos_and_the_crops(tmp_path):
    folders = {"UPLOAD_FOLDER": str(tmp_path / "uploads"), "FACES_FOLDER": str(tmp_path / "faces")}
    assert run_with(folders, tmp_path, "manage.py", "migrate", "-v0").returncode == 0
    done = run_with(folders, tmp_path, "manage.py", "ingest", str(VIDEOS / "slideshow_1.mp4"))
    assert done.returncode == 0, done.stderr
    assert [p.suffix for p in (tmp_path / "uploads" / "videos").rglob("*.*")] == [".mp4"]
    assert len(list((tmp_path / "faces" / "faces").rglob("*.jpg"))) >= 4
    media = tmp_path / "media"
    assert not media.exists() or not [p for p in media.rglob("*") if p.is_file()]
