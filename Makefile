# The two commands a newcomer types: `make run` and `make test` (see README.md).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test test-stack test-e2e lint format clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip 2>&1 | grep -v "is ignored" || true
	$(PIP) install --quiet -r requirements-dev.txt 2>&1 | grep -v "is ignored" || true
	$(PY) -c "import django, deepface, cv2, qdrant_edge" # fail here if the install did not work
	touch $@

install: $(VENV)/.installed
	$(PY) manage.py setup_models
	$(PY) manage.py migrate --noinput

# Web server and a django-q2 worker together; Ctrl-C stops both.
run: install
	@echo "FAAAAACES on http://$(HOST):$(PORT)/ (Ctrl-C stops the server and the worker)"
	@bash scripts/run_dev.sh $(PY) $(HOST):$(PORT)

test: install
	$(VENV)/bin/pytest

# The pages in a real browser (Debian's Chromium at /usr/bin/chromium: apt-get install chromium)
# against the platform as `make run` starts it; screenshots in test-results/e2e/<test>/.
test-e2e: install
	@test -x /usr/bin/chromium || { echo "Chromium is needed: apt-get install chromium"; exit 1; }
	rm -rf test-results/e2e
	$(VENV)/bin/pytest tests/e2e --e2e

# ruff, and the import contracts of pyproject.toml (one direction of flow between the layers).
# The production stack's profile: Postgres and Redis (Debian packages), S3 through moto's server,
# two django-q2 workers; the plugin starts the servers on 127.0.0.1 and stops them afterwards.
test-stack: install
	$(PY) -m pytest -p tests.stack.servers tests/stack

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-results
