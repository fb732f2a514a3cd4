"""Commands and the worker start without the libraries they do not use: each of these takes
0.5-2 s to import (scikit-learn and pandas: only the benchmarks' older grouping algorithms;
boto3: a catalog on S3; yt-dlp: a download)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# (scipy.optimize: the tracker needs its solver only when faces contend for tracks)
HEAVY = ("sklearn", "pandas", "tensorflow", "torch", "boto3", "yt_dlp", "scipy.optimize")

pytestmark = pytest.mark.parametrize(
    "module",
    [
        "ingestion.management.commands.ingest",
        "search.management.commands.search_photo",
        "ingestion.tasks",  # what a django-q2 worker imports to run a job
    ],
)


def _imported_after_setup(module: str, tmp_path: Path) -> list[str]:
    code = (
        "import json, sys, django; django.setup(); "
        f"import {module}; "
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    )
    env = {
        "DJANGO_SETTINGS_MODULE": "faaaaaces.settings",
        "FAAAAACES_DATA_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_command_imports_no_heavy_library_it_does_not_use(module, tmp_path):
    assert _imported_after_setup(module, tmp_path) == []
