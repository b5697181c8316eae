# Threadline. `make run` serves the demo; `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# Development defaults; the environment overrides them (see README, "Settings").
export DEBUG ?= 1

.PHONY: run test lint bench serve audit venv migrate demo lock clean

# Find Python 3.13 (.python-version): pyenv first, then python3.13 on PATH, then any
# python3 that is at least 3.12.
PYTHON_BIN := $(shell \
  v=$$(cat .python-version 2>/dev/null); \
  if command -v pyenv >/dev/null 2>&1 && p=$$(pyenv which python$$v 2>/dev/null) && [ -x "$$p" ]; then echo $$p; \
  elif command -v python$$v >/dev/null 2>&1 && python$$v -c '' 2>/dev/null; then command -v python$$v; \
  else for c in python3.14 python3.13 python3.12 python3; do \
	if command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then command -v $$c; break; fi; \
  done; fi)

$(VENV)/.installed: requirements.lock pyproject.toml
	@if [ -z "$(PYTHON_BIN)" ]; then \
	  echo "No Python >= 3.12 found. Install Python 3.13 (pyenv install 3.13, or apt install python3.13)." >&2; exit 1; fi
	@if [ ! -x $(PY) ]; then echo "Creating $(VENV) with $(PYTHON_BIN)"; $(PYTHON_BIN) -m venv $(VENV); fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	@touch $@

venv: $(VENV)/.installed

migrate: venv
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py load_demo

run: demo
	@echo "Threadline on http://127.0.0.1:$(PORT)/  (DEBUG=$(DEBUG); Ctrl-C stops)"
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

test: venv
	@if [ -z "$$DATABASE_URL" ]; then \
	  echo "DATABASE_URL is not set: running on SQLite; PostgreSQL-only tests will be skipped."; \
	  echo "CI sets DATABASE_URL=postgres://... (see .ci/run)."; fi
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

# Production-style serving: gunicorn (WEB_CONCURRENCY workers) with whitenoise for static
# files. DEBUG is off here, so SECRET_KEY and ALLOWED_HOSTS must be set (see README).
serve: export DEBUG := 0
serve: venv
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(VENV)/bin/gunicorn config.wsgi --bind 127.0.0.1:$(PORT) --workers $${WEB_CONCURRENCY:-2} --access-logfile -

# Measure page and write speed on PostgreSQL; figures go to BENCHMARKS.md.
bench: venv
	$(PY) bench/run.py

# Known vulnerabilities in the locked dependencies (needs PyPI's JSON API or OSV; --strict
# fails when a package could not be checked, rather than passing silently).
audit: venv
	$(PY) -m pip install --quiet pip-audit==2.10.1
	$(VENV)/bin/pip-audit --strict --progress-spinner off -r requirements.lock

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Regenerate requirements.lock from pyproject.toml's pins (in a throwaway venv).
lock:
	rm -rf /tmp/threadline-lock && $(PYTHON_BIN) -m venv /tmp/threadline-lock
	/tmp/threadline-lock/bin/pip install --quiet '.[dev]'
	/tmp/threadline-lock/bin/pip freeze --exclude threadline > requirements.lock

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
