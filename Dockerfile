# syntax=docker/dockerfile:1
#
# One image for every server process: the site (gunicorn), the Celery worker and beat, and
# the one-off `migrate`. Configuration comes only from environment variables at run time
# (docs/configuration.md); nothing secret is baked in.

# ---------------------------------------------------------------------------------------
# Stage 1: the front end, built exactly as the Makefile's $(COMPILED)/.built recipe does.
# ---------------------------------------------------------------------------------------
FROM node:20-bookworm-slim AS frontend

WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY static/src ./static/src
COPY static/js ./static/js
RUN mkdir -p static/compiled \
    && npm run --silent build \
    && cp node_modules/nhsuk-frontend/dist/nhsuk/nhsuk-frontend.min.js static/compiled/ \
    && cp -r node_modules/nhsuk-frontend/dist/nhsuk/assets static/compiled/assets \
    && cp static/js/app.mjs static/compiled/app.mjs

# ---------------------------------------------------------------------------------------
# Stage 2: the application.
# ---------------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm AS app

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    GUNICORN_BIND=0.0.0.0:8000

# WeasyPrint (PDF letters) loads Pango, HarfBuzz and fontconfig at run time, and needs fonts.
# Debian's stable release only takes security fixes, so the packages are not pinned further.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        libharfbuzz-subset0 \
        fontconfig \
        fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# The pinned runtime dependencies only: pyproject.toml has `packages = []`, so installing
# the project installs its [project] dependencies and nothing else (no dev extras).
COPY pyproject.toml /tmp/deps/pyproject.toml
RUN pip install "pip==25.3" \
    && pip install /tmp/deps \
    && rm -rf /tmp/deps

# A fixed, unprivileged user; its ids matter for the named volumes in docker-compose.yml.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app \
        --shell /usr/sbin/nologin app

WORKDIR /app
COPY . .
COPY --from=frontend /build/static/compiled ./static/compiled

# Static files are collected at build time. production.py refuses to load without these
# variables, so give it harmless placeholders that exist only for this one command; nothing
# connects to the database or Redis here.
RUN SECRET_KEY="collectstatic-at-build-time-only-this-is-not-the-real-key-0123456789" \
    ALLOWED_HOSTS="localhost" \
    DATABASE_URL="postgres://build:build@localhost:5432/build" \
    REDIS_URL="redis://localhost:6379/0" \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/media /app/var/ris-exports \
    && chown -R app:app /app/media /app/var

USER 10001:10001

EXPOSE 8000

# Settings for gunicorn are in gunicorn.conf.py (bind address, workers, timeout, logs).
CMD ["gunicorn", "config.wsgi"]
