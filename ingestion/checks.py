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


# Settings that must name one of a few choices: (setting, choices, check id).
CHOICE_SETTINGS = (
    ("CLUSTERING_ALGORITHM", ALGORITHMS, "faaaaaces.E001"),
    ("QDRANT_BACKEND", ("edge", "server"), "faaaaaces.E002"),
    ("FACE_EMBEDDING_PRECISION", PRECISIONS, "faaaaaces.E004"),
    ("FAAAAACES_STORAGE", ("local", "s3"), "faaaaaces.E005"),
)


@checks.register()
def check_choices(app_configs, **kwargs):
    problems = [
        checks.Error(f"{name}={getattr(settings, name)!r} is not one of {choices}.", id=check_id)
        for name, choices, check_id in CHOICE_SETTINGS
        if getattr(settings, name) not in choices
    ]
    if settings.FRAME_SAMPLE_FPS <= 0:
        problems.append(checks.Error("FRAME_SAMPLE_FPS must be above 0.", id="faaaaaces.E003"))
    return problems


@checks.register()
def check_seed_setting_names(app_configs, **kwargs):
    return [
        checks.Warning(
            f"{old} is the seed's name for a setting; it is read as {new}.",
            hint=f"Set {new} instead (see .env.example); {old} may stop working.",
            id="faaaaaces.W003",
        )
        for old, new in settings.SEED_SETTING_NAMES_USED
    ]


@checks.register()
def check_servers(app_configs, **kwargs):
    """Settings for the servers of a production stack that cannot work as given."""
    problems = []
    if settings.QDRANT_BACKEND == "server" and not settings.QDRANT_URL:
        problems.append(
            checks.Error(
                "QDRANT_BACKEND=server needs QDRANT_URL (e.g. http://qdrant:6333).",
                id="faaaaaces.E006",
            )
        )
    if settings.S3_STORE_VIDEOS and settings.FAAAAACES_STORAGE != "s3":
        problems.append(
            checks.Warning(
                "S3_STORE_VIDEOS is on but FAAAAACES_STORAGE is not 's3': videos stay local.",
                id="faaaaaces.W002",
            )
        )
    return problems


@checks.register(deploy=True)
def check_production(app_configs, **kwargs):
    """With FAAAAACES_PRODUCTION on, what must never reach users."""
    if not settings.PRODUCTION:
        return []
    problems = []
    if settings.SECRET_KEY == settings.DEVELOPMENT_SECRET_KEY:
        problems.append(
            checks.Error(
                "DJANGO_SECRET_KEY is the development key: sessions and tokens could be forged.",
                hint="Set DJANGO_SECRET_KEY to a long random string (python -c 'import secrets; "
                "print(secrets.token_urlsafe(50))').",
                id="faaaaaces.E007",
            )
        )
    if settings.DEBUG:
        problems.append(
            checks.Error(
                "DJANGO_DEBUG is on: error pages would show settings.", id="faaaaaces.E008"
            )
        )
    return problems
