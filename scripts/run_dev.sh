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
# --insecure: serve the admin's static files with DEBUG off (fine on one machine; compose uses a real server)
"$python_bin" manage.py runserver --noreload --insecure "$address" &
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
