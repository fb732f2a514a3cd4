#!/usr/bin/env bash
# Start the web server and a django-q2 worker together; Ctrl-C (or TERM) stops both, and if
# either dies the other is stopped too. Used by `make run`.
set -u
python_bin=${1:-.venv/bin/python}
address=${2:-127.0.0.1:8000}

"$python_bin" manage.py qcluster &
worker=$!
"$python_bin" manage.py runserver --noreload "$address" &
web=$!

stop() {
  trap - INT TERM
  # Background jobs of a script ignore SIGINT, so they are told explicitly.
  kill -TERM "$worker" "$web" 2>/dev/null
  wait "$worker" "$web" 2>/dev/null
  exit 0
}
trap stop INT TERM
wait -n "$worker" "$web"
echo "the web server or the worker stopped; stopping the other" >&2
stop
