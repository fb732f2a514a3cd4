#!/usr/bin/env bash
# Start the index owner, the web server and a django-q2 worker together; Ctrl-C (or TERM) stops
# them all, and if one dies the others are stopped too. Used by `make run`.
set -u
python_bin=${1:-.venv/bin/python}
address=${2:-127.0.0.1:8000}
pids=()

# The embedded Edge index needs its owner; a Qdrant server (QDRANT_URL) needs none. The settings
# (.env included) decide, so Django is asked rather than the variables read here.
backend=$("$python_bin" manage.py shell --no-imports -c \
  "from django.conf import settings; print(settings.QDRANT_BACKEND)")
if [ "$backend" = edge ]; then
  "$python_bin" manage.py serve_index &
  pids+=($!)
else
  echo "vector index: the Qdrant server of QDRANT_URL, no index owner needed"
fi
"$python_bin" manage.py qcluster &
pids+=($!)
# gunicorn, as in the Docker image: it queues connections (runserver refused them under load)
# and its threads answer pages while others wait on uploads or searches. WhiteNoise serves the
# static files collected here. WEB_CONCURRENCY processes (gunicorn reads it), 2 by default; no
# control socket, so a second server on the machine (the tests') does not take it over.
"$python_bin" manage.py collectstatic --noinput --verbosity 0 || exit 1
SERVE_STATIC=1 WEB_CONCURRENCY=${WEB_CONCURRENCY:-2} "$python_bin" -m gunicorn faaaaaces.wsgi \
  --bind "$address" --worker-class gthread --threads "${WEB_THREADS:-8}" --backlog 2048 \
  --timeout 600 --graceful-timeout 10 --no-control-socket &
pids+=($!)

stop() {
  trap - INT TERM
  # Background jobs of a script ignore SIGINT, so they are told explicitly.
  kill -TERM "${pids[@]}" 2>/dev/null
  wait "${pids[@]}" 2>/dev/null
  exit 0
}
trap stop INT TERM
wait -n "${pids[@]}"
echo "one of the index owner, the web server and the worker stopped; stopping the rest" >&2
stop
