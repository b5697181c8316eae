# Threadline. `make run` serves the demo; `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# Development defaults; the environment overrides them (see README, "Settings").
export DEBUG ?= 1

.PHONY: run test lint bench serve worker audit venv runtime migrate demo lock clean
.PHONY: cluster cluster-stop cluster-clean

# Find Python 3.13 (.python-version): pyenv first, then python3.13 on PATH, then any
# python3 that is at least 3.12.
PYTHON_BIN := $(shell \
  v=$$(cat .python-version 2>/dev/null); \
  if command -v pyenv >/dev/null 2>&1 && p=$$(pyenv which python$$v 2>/dev/null) && [ -x "$$p" ]; then echo $$p; \
  elif command -v python$$v >/dev/null 2>&1 && python$$v -c '' 2>/dev/null; then command -v python$$v; \
  else for c in python3.14 python3.13 python3.12 python3; do \
	if command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then command -v $$c; break; fi; \
  done; fi)

# Two locks: requirements.lock is what runs the site (all `make serve` installs on a
# production host); requirements-dev.lock adds the test and lint tools on top.
$(VENV)/bin/python:
	@if [ -z "$(PYTHON_BIN)" ]; then \
	  echo "No Python >= 3.12 found. Install Python 3.13 (pyenv install 3.13, or apt install python3.13)." >&2; exit 1; fi
	@echo "Creating $(VENV) with $(PYTHON_BIN)"; $(PYTHON_BIN) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.lock | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.lock
	@touch $@

$(VENV)/.dev: requirements-dev.lock $(VENV)/.runtime
	$(PY) -m pip install --quiet -r requirements-dev.lock
	@touch $@

runtime: $(VENV)/.runtime
venv: $(VENV)/.dev

migrate: runtime
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py load_demo

# The development server, with a task worker beside it (mail is queued by requests and sent
# by the worker: printed here, with the console backend); Ctrl-C stops both.
# Links in the mail the development server prints point at the port it serves.
run: export SITE_URL ?= http://127.0.0.1:$(PORT)
run: demo
	@echo "Threadline on http://127.0.0.1:$(PORT)/  (DEBUG=$(DEBUG); Ctrl-C stops)"
	@$(PY) manage.py db_worker --no-reload & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
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
serve: runtime
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(VENV)/bin/gunicorn config.wsgi --bind 127.0.0.1:$(PORT) --workers $${WEB_CONCURRENCY:-2} --access-logfile -

# The task worker (sends the mail the app servers queue), as production runs it: DEBUG off,
# every other setting from the environment, as for `make serve`. Run one or more per host,
# beside the app servers or on machines of their own; they share the queue in the database.
worker: export DEBUG := 0
worker: runtime
	$(PY) manage.py db_worker --no-reload

# The whole topology on this machine (docs/deploy.md): HAProxy in front of two gunicorn app
# servers, a PostgreSQL primary with a streaming replica (clusters of their own, not the
# machine's), Redis, a task worker and a mail sink; prints HAProxy's URL. Run again, it starts
# only what is down. CLUSTER_DIR (default /tmp/threadline-cluster) and CLUSTER_PORT (8100).
cluster: venv
	$(PY) -m deploy.cluster start

# Stop every process of the cluster; its data stays for the next `make cluster`.
cluster-stop:
	$(PY) -m deploy.cluster stop

# Stop it and delete its run directory (databases, mail, logs).
cluster-clean:
	$(PY) -m deploy.cluster stop --remove

# Measure page and write speed on PostgreSQL; figures go to BENCHMARKS.md. A quick check:
# BENCH_SIZES=10,1000 BENCH_QUICK=1 BENCH_OUTPUT=/tmp/bench.md make bench (see bench/run.py).
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

# Regenerate both locks from pyproject.toml's pins, each in a throwaway venv.
LOCK_VENV := /tmp/threadline-lock
PINS = $(PYTHON_BIN) -c 'import sys, tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; print("\n".join(p["dependencies"] if sys.argv[1] == "runtime" else p["optional-dependencies"]["dev"]))'
lock:
	rm -rf $(LOCK_VENV) && $(PYTHON_BIN) -m venv $(LOCK_VENV)
	$(PINS) runtime > $(LOCK_VENV)/runtime.in && $(PINS) dev > $(LOCK_VENV)/dev.in
	$(LOCK_VENV)/bin/pip install --quiet -r $(LOCK_VENV)/runtime.in
	$(LOCK_VENV)/bin/pip freeze > requirements.lock
	$(LOCK_VENV)/bin/pip install --quiet -r $(LOCK_VENV)/dev.in
	{ echo "# Development and test tools on top of the runtime lock (\`make lock\` regenerates both)."; \
	  echo "-r requirements.lock"; \
	  $(LOCK_VENV)/bin/pip freeze | grep -vxFf requirements.lock; } > requirements-dev.lock

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
