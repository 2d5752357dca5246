# The bot in one container: python -m bot, SQLite in the /app/data volume unless DATABASE_URL says otherwise.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# Dependencies first, pinned: this layer is reused until the lock changes, whatever the code does.
COPY .ci/requirements.lock ./
RUN pip install -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY dialogs ./dialogs
COPY storage ./storage
COPY locales ./locales
# A plain install (not editable); the catalogs are compiled into the installed package at build time.
RUN pip install --no-deps . \
    && cd / && python -m locales.build \
    && rm -rf /src

RUN useradd --create-home --uid 10001 bot \
    && mkdir -p /app/data \
    && chown -R bot:bot /app
USER bot
WORKDIR /app
VOLUME ["/app/data"]
EXPOSE 8080

# SIGTERM starts the drain; give `docker stop` time for it (docker stop -t 45, compose stop_grace_period).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=3)"]

CMD ["python", "-m", "bot"]
