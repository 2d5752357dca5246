# The bot in one container: python -m bot, SQLite in the /app/data volume unless DATABASE_URL says otherwise.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY dialogs ./dialogs
COPY storage ./storage
COPY locales ./locales
# A plain install (not editable); the catalogs are compiled into the installed package at build time.
RUN pip install '.[postgres]' \
    && cd / && python -m locales.build \
    && rm -rf /src

RUN useradd --create-home --uid 10001 bot \
    && mkdir -p /app/data \
    && chown -R bot:bot /app
USER bot
WORKDIR /app
VOLUME ["/app/data"]

CMD ["python", "-m", "bot"]
