# The two commands a new user needs are `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
COMPILED := static/compiled

.PHONY: install run test lint format frontend migrate demo clean bench

install: $(VENV)/.installed $(COMPILED)/.built

# Re-run pip only when the pinned dependencies change, so `make run` twice is quick.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade "pip==25.3"
	$(PIP) install --quiet -e ".[dev]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

$(COMPILED)/.built: node_modules/.installed static/src/app.scss static/js/app.mjs
	mkdir -p $(COMPILED)
	npm run --silent build
	cp node_modules/nhsuk-frontend/dist/nhsuk/nhsuk-frontend.min.js $(COMPILED)/
	rm -rf $(COMPILED)/assets && cp -r node_modules/nhsuk-frontend/dist/nhsuk/assets $(COMPILED)/assets
	cp static/js/app.mjs $(COMPILED)/app.mjs
	touch $@

frontend: $(COMPILED)/.built

migrate: install
	mkdir -p var/celery/out var/celery/processed var/celery/control media
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo

# Serves the site with a Celery worker and beat on the embedded defaults
# (SQLite, Celery's filesystem broker, e-mail to the console). Ctrl-C stops all three.
run: demo
	@echo ""
	@echo "  The site is at http://127.0.0.1:8000/  (Ctrl-C stops the site, worker and beat)"
	@echo ""
	$(VENV)/bin/honcho start -f Procfile.dev

# On PostgreSQL two test processes run side by side (pytest-xdist), each with its own
# database, Celery queue and cache keys. On the embedded SQLite (an in-memory database that a
# test's Celery worker thread shares) one process (-n 0): side by side they contend for locks.
PYTEST_PROCESSES ?= $(if $(DATABASE_URL),2,0)

test: install
	$(VENV)/bin/pytest -n $(PYTEST_PROCESSES)

# The performance benchmark (docs/performance.md): on the PostgreSQL database and Redis in
# DATABASE_URL and REDIS_URL (never the default SQLite one), seeded with seed_scale when empty.
# BENCH_ARGS="--referrers 2000 --quick" for a quick run; writes bench/results.json and README.md.
BENCH_ARGS ?= --referrers 50000

bench: install
	$(PY) -m bench.run $(BENCH_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) node_modules $(COMPILED) var staticfiles
