"""Test set-up: a throwaway data folder per session, the real models, the shared real data."""

import os
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = (REPO.parent / "shared" / "data").resolve()
VIDEOS = SHARED_DATA / "videos"
PEOPLE = SHARED_DATA / "people"

# Set before Django reads its settings: the catalog, media and index of a test run live in a
# temporary folder; the face models are the ones `make install` put in the project's data folder.
os.environ["FAAAAACES_DATA_DIR"] = tempfile.mkdtemp(prefix="faaaaaces-test-")
os.environ.setdefault("FAAAAACES_MODELS_DIR", str(REPO / "data" / "models"))


def pytest_configure(config):
    if not VIDEOS.is_dir():
        raise pytest.UsageError(f"the shared test data is missing: {SHARED_DATA}")


@pytest.fixture(scope="session")
def face_engine():
    from ingestion.services.engine import get_face_engine

    return get_face_engine()
