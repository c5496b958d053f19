# contest-bot in one image. `contest-bot run` serves a webhook when WEBHOOK_URL is set and long-
# polls otherwise; either way GET /healthz and GET /metrics answer on $PORT.
#
#   docker build -t contest-bot .
#   docker run -d --name contest-bot --env-file .env -p 8080:8080 \
#       -v contest-bot-data:/data --stop-timeout 30 contest-bot
#   docker exec contest-bot contest-bot backup /data/backups
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CONTEST_BOT_DB=/data/contest-bot.db \
    HOST=0.0.0.0 \
    PORT=8080

WORKDIR /app

# The pinned dependencies first: a change to the code alone does not reinstall them.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Then the project itself, installed as a package (not editable): the catalogue, the models,
# the font and the development set are package data, read with importlib.resources, so
# `contest-bot run`, `ask` and `eval` need nothing from the source tree, which is removed.
COPY bot ./bot
COPY handlers ./handlers
COPY knowledge ./knowledge
COPY seeds ./seeds
RUN pip install --no-deps . \
    && rm -rf bot handlers knowledge seeds build *.egg-info pyproject.toml README.md \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin bot \
    && mkdir -p /data \
    && chown bot:bot /data

# The database (and its -wal and -shm files) lives here; keep it on a volume.
VOLUME ["/data"]
USER bot
EXPOSE 8080

# 200 while the database answers and the bot takes updates; 503 (so: unhealthy) otherwise.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8080'), timeout=4)"]

# SIGTERM (docker stop): stop taking updates, finish the handlers in flight, record the
# broadcast in progress, close the database; exit 0.
STOPSIGNAL SIGTERM
CMD ["contest-bot", "run"]
