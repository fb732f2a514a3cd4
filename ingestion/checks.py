"""Configuration problems reported by `manage.py check` and at start-up, not halfway into a job."""

from django.conf import settings
from django.core import checks

from catalog.grouping import ALGORITHMS
from ingestion.pipeline.embed import PRECISIONS
from ingestion.pipeline.weights import missing_weight_files, weights_dir


@checks.register()
def check_face_models(app_configs, **kwargs):
    problems = []
    for name in (settings.FACE_DETECTOR, settings.FACE_RECOGNITION_MODEL):
        missing = missing_weight_files(name, settings.FACE_MODELS_DIR)
        if missing and not settings.FACE_MODELS_ALLOW_DOWNLOAD:
            problems.append(
                checks.Warning(
                    f"{name} needs {', '.join(p.name for p in missing)}, not found.",
                    hint=f"Run 'python manage.py setup_models', or put the file(s) in "
                    f"{weights_dir(settings.FACE_MODELS_DIR)}.",
                    id="faaaaaces.W001",
                )
            )
    return problems


@checks.register()
def check_choices(app_configs, **kwargs):
    problems = []
    if settings.CLUSTERING_ALGORITHM not in ALGORITHMS:
        problems.append(
            checks.Error(
                f"CLUSTERING_ALGORITHM={settings.CLUSTERING_ALGORITHM!r} is not one of "
                f"{ALGORITHMS}.",
                id="faaaaaces.E001",
            )
        )
    if settings.QDRANT_BACKEND not in ("edge", "server"):
        problems.append(
            checks.Error(
                f"QDRANT_BACKEND={settings.QDRANT_BACKEND!r} must be 'edge' or 'server'.",
                id="faaaaaces.E002",
            )
        )
    if settings.FRAME_SAMPLE_FPS <= 0:
        problems.append(checks.Error("FRAME_SAMPLE_FPS must be above 0.", id="faaaaaces.E003"))
    if settings.FACE_EMBEDDING_PRECISION not in PRECISIONS:
        problems.append(
            checks.Error(
                f"FACE_EMBEDDING_PRECISION={settings.FACE_EMBEDDING_PRECISION!r} is not one of "
                f"{PRECISIONS}.",
                id="faaaaaces.E004",
            )
        )
    return problems
