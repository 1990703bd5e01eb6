# Layanan Warga Duren Sawit chatbot.
#   docker build -t layanan-warga .
#   docker run -it -v layanan-warga-data:/app/data layanan-warga
# With no channel credentials (TELEGRAM_TOKEN, WHATSAPP_*) `run` is the console channel:
# it reads the terminal, so run the container with `-it`, or it sees end of input and exits.
# `run` does not seed (`make run` does): fill a new, empty database with the demo data first:
#   docker run --rm -v layanan-warga-data:/app/data layanan-warga python -m bot seed-demo
# (other commands: chat, reset-demo --yes, migrate). Settings come from the environment
# (`-e`, `--env-file`); a shared DATABASE_URL needs NIK_PEPPER too.
# deploy/compose.yaml runs this image for every process of a deployment (docs/production.md).
FROM python:3.11-slim

# a fixed uid, so a bind-mounted data folder can be given to it: chown 10001:10001 <folder>
RUN groupadd --system --gid 10001 warga \
    && useradd --system --uid 10001 --gid warga --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin warga

WORKDIR /app

# the code stays owned by root: the program writes only under DATA_DIR
COPY pyproject.toml README.md alembic.ini babel.cfg ./
COPY bot/ bot/
COPY handlers/ handlers/
COPY storage/ storage/
COPY locales/ locales/

# editable: the program finds locales/ next to its source tree (handlers/i18n.py);
# compiling the catalogs leaves .mo files newer than the .po files, which the program then
# loads as they are; and the user cannot write __pycache__ under /app, so compile the bytecode
RUN PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 \
        pip install --no-cache-dir -e . \
    && pybabel compile -d locales \
    && python -m compileall -q bot handlers storage

# inside a container the loopback address is useless: listen on every interface
ENV DATA_DIR=/app/data HTTP_HOST=0.0.0.0 PYTHONUNBUFFERED=1

# SQLite database and the generated NIK pepper live here, unless DATABASE_URL and NIK_PEPPER
# are set; created before VOLUME so a new named volume starts owned by warga
RUN mkdir -p /app/data && chown warga:warga /app/data
VOLUME /app/data

USER warga

# for the webhook server of the chat channels (publish it with -p 8080:8080)
EXPOSE 8080

CMD ["python", "-m", "bot", "run"]

# /healthz answers 200 once the database takes a write, 503 otherwise (in every mode)
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HTTP_PORT', '8080'), timeout=4)"
