"""Settings for the test suite (pytest-django loads them before any conftest.py).

A test run keeps its catalog, media and index in a temporary folder, never in ./data, and uses
the face models that `make install` put in ./data/models.
"""

import os
import tempfile
from pathlib import Path

os.environ["FAAAAACES_IGNORE_DOTENV"] = "1"
os.environ["FAAAAACES_DATA_DIR"] = tempfile.mkdtemp(prefix="faaaaaces-test-")
os.environ.setdefault(
    "FAAAAACES_MODELS_DIR", str(Path(__file__).resolve().parent.parent / "data" / "models")
)
for variable in (
    "QDRANT_PATH", "FAAAAACES_SQLITE_PATH", "FAAAAACES_TMP_DIR", "TEMP_FOLDER", "REDIS_URL",
    "FAAAAACES_VIDEOS_DIR", "FAAAAACES_FACES_DIR", "UPLOAD_FOLDER", "FACES_FOLDER",
    "FAAAAACES_STORAGE", "DATABASE_URL", "QDRANT_URL", "QDRANT_BACKEND",
):  # fmt: skip
    os.environ.pop(variable, None)  # everything follows the temporary data folder

from faaaaaces.settings import *  # noqa: E402, F403
