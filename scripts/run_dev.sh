#!/usr/bin/env bash
# Start the index owner, the web server and a django-q2 worker together; Ctrl-C (or TERM) stops
# them all, and if one dies the others are stopped too. Used by `make run`.
set -u
python_bin=${1:-.venv/bin/python}
address=${2:-127.0.0.1:8000}

"$python_bin" manage.py serve_index &
index_owner=$!
"$python_bin" manage.py qcluster &
worker=$!
# --insecure: serve the admin's static files with DEBUG off (fine on one machine; compose uses a real server)
"$python_bin" manage.py runserver --noreload --insecure "$address" &
web=$!

stop() {
  trap - INT TERM
  # Background jobs of a script ignore SIGINT, so they are told explicitly.
  kill -TERM "$index_owner" "$worker" "$web" 2>/dev/null
  wait "$index_owner" "$worker" "$web" 2>/dev/null
  exit 0
}
trap stop INT TERM
wait -n "$index_owner" "$worker" "$web"
echo "one of the index owner, the web server and the worker stopped; stopping the rest" >&2
stop
