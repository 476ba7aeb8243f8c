# The PSA's one image: the web app (gunicorn), Celery worker and beat, and the one-off migrate,
# each started by deploy/start with its role as the command (docker-compose.yml). Configuration
# comes from the environment (README, "Configuration"). Build: docker build -t msp-psa .
# bin/deploy-check runs this file's install and start steps on a Debian host, in CI.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# Build: the virtualenv with the app and its dependencies, and the static files collected
# (deploy/install). A compiler is here for a dependency without a wheel for the platform; it
# stays in this stage.
FROM ${PYTHON_IMAGE} AS build
# Debian's versions within one release are what we want, not pinned ones.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
# The package's extras to install as well, e.g. --build-arg INSTALL_EXTRAS=s3 (bucket storage).
ARG INSTALL_EXTRAS=""
ENV PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY . .
RUN deploy/install

FROM ${PYTHON_IMAGE}
# WeasyPrint (report PDFs) needs Pango and a font: the packages bin/setup installs on a host;
# bin/backup and bin/restore need pg_dump and pg_restore.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 fontconfig fonts-dejavu-core postgresql-client \
    && rm -rf /var/lib/apt/lists/*
# The processes run as psa, who cannot change the app: only var/ (webhook stamps, beat's
# schedule) and /var/lib/psa (uploads, a volume) are its own.
RUN groupadd --system --gid 10001 psa \
    && useradd --system --uid 10001 --gid psa --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin psa \
    && install -d -o psa -g psa /var/lib/psa /var/lib/psa/media
COPY --from=build /app /app
RUN chown psa:psa /app/var
WORKDIR /app
ENV PATH=/app/.venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=msp.settings.prod \
    MEDIA_ROOT=/var/lib/psa/media \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
EXPOSE 8000
# /healthz answers within a second (database, broker, beat, SLA sweep, outbox); the probe gives
# it 3 s, inside Docker's 5.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/app/deploy/healthcheck"]
ENTRYPOINT ["/app/deploy/start"]
CMD ["web"]
