# The risk service image (BentoML, `csat serve` on port 3000). Guide: docs/container.md.
#
# Build (BuildKit / podman; podman needs --format docker to keep the HEALTHCHECK):
#   docker build -t csat-risk .                                    # models and store mounted at run time
#   docker build --target baked -t csat-risk:baked .               # bakes ./bake/{models,store} in
#   podman build --format docker --build-arg BASE_IMAGE=localhost/csat-base:bookworm-py311 -t csat-risk .
# Behind an HTTPS proxy with its own CA, pass the CA bundle as a build secret (never copied into the image):
#   --secret id=cacert,src=/etc/ssl/certs/ca-certificates.crt
# Run (a token is required to listen on 0.0.0.0; see docs/container.md for --insecure-open):
#   docker run -p 3000:3000 -e CSAT_API_TOKEN=... \
#     -v "$BENTOML_HOME/models:/app/bentoml/models:ro" -v "$PWD/store:/app/store:ro" csat-risk

# Any image with Python 3.11 and a POSIX shell: python:3.11-slim from a registry, or a local Debian bookworm
# rootfs with python3, python3-venv, ca-certificates and libgomp1 (what `make container-check` builds offline).
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LANG=C.UTF-8 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    BENTOML_HOME=/app/bentoml \
    BENTOML_DO_NOT_TRACK=true \
    MLFLOW_DISABLE_TELEMETRY=true \
    CSAT_STORE_DIR=/app/store \
    CSAT_DATA_DIR=/app/data/raw

# One virtual environment from whichever Python 3.11 the base has (`python3.11`/`python3`: the python image has
# `python` too, Debian's python3 does not). Everything below runs the venv's python.
RUN set -eu; \
    py="$(command -v python3.11 || command -v python3)"; \
    "$py" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version'; \
    "$py" -m venv /opt/venv; \
    /opt/venv/bin/python -c 'import ssl, sqlite3, venv'

WORKDIR /app

# Dependencies in their own layer, rebuilt only when pyproject.toml or the lock changes. The runtime
# dependencies of pyproject.toml are installed at the exact versions of requirements.lock (used as constraints),
# so the dev tools and optional extras of the lock (pytest, playwright, pyspark/py4j, ...) stay out of the image;
# a check fails the build if anything installed is not pinned by the lock. A CA bundle for an HTTPS proxy comes
# in as the build secret `cacert` (mounted for this step only, never stored in a layer).
COPY pyproject.toml requirements.lock ./
RUN --mount=type=secret,id=cacert,required=false \
    set -eu; \
    if [ -s /run/secrets/cacert ]; then export PIP_CERT=/run/secrets/cacert SSL_CERT_FILE=/run/secrets/cacert; fi; \
    sed -e 's/[[:space:]]*#.*//' -e '/^[[:space:]]*$/d' requirements.lock \
        | grep -viE '^(pyspark|py4j)[[:space:]]*==' > /tmp/constraints.txt; \
    python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep=chr(10))" \
        > /tmp/requirements.txt; \
    python -m pip install --no-input -c /tmp/constraints.txt -r /tmp/requirements.txt; \
    python -c "import re, sys; from importlib import metadata as m; \
n = lambda s: re.sub(r'[-_.]+', '-', s).lower(); \
pins = dict((n(a), b.split(';')[0].strip()) for a, b in (x.split('==', 1) for x in open('/tmp/constraints.txt') if '==' in x)); \
bad = sorted(d.metadata['Name'] + '==' + d.version for d in m.distributions() \
             if n(d.metadata['Name']) not in ('pip', 'setuptools', 'wheel') and pins.get(n(d.metadata['Name'])) != d.version); \
sys.exit('installed but not pinned by requirements.lock: ' + ', '.join(bad)) if bad else print(len(pins), 'pins, all installed packages match')"; \
    rm -f /tmp/constraints.txt /tmp/requirements.txt

# The project itself (no dependency resolution: everything is in the layer above).
COPY README.md ./
COPY csat ./csat
COPY features ./features
COPY training ./training
COPY serving ./serving
RUN --mount=type=secret,id=cacert,required=false \
    set -eu; \
    if [ -s /run/secrets/cacert ]; then export PIP_CERT=/run/secrets/cacert SSL_CERT_FILE=/run/secrets/cacert; fi; \
    python -m pip install --no-input --no-deps . ; \
    rm -rf build ./*.egg-info; \
    csat --help >/dev/null; \
    rm -rf /root/.cache /root/.config; \
    if command -v useradd >/dev/null 2>&1; then \
        useradd --uid 10001 --user-group --home-dir /home/csat --create-home --shell /usr/sbin/nologin csat; \
    else \
        echo 'csat:x:10001:10001::/home/csat:/usr/sbin/nologin' >> /etc/passwd; \
        echo 'csat:x:10001:' >> /etc/group; mkdir -p /home/csat; \
    fi; \
    mkdir -p /app/bentoml/models /app/store /app/data/raw; \
    chown -R 10001:10001 /app/bentoml /home/csat

# Models: /app/bentoml/models (a BentoML model store: mount $BENTOML_HOME/models there, read-only is fine).
# Online store and score history: /app/store (mount the store folder). Optional: /app/data/raw (accounts
# table, for the CSM filter of /at_risk). BENTOML_HOME itself stays writable for the server's own files.
USER 10001:10001
ENV HOME=/home/csat
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:3000/readyz', timeout=4).status != 200)"]
# `csat serve` refuses 0.0.0.0 without CSAT_API_TOKEN: run with -e CSAT_API_TOKEN=..., or (only behind your
# own authenticating proxy) override the command with `csat serve --host 0.0.0.0 --insecure-open`.
CMD ["csat", "serve", "--host", "0.0.0.0", "--port", "3000"]

# Models and online store baked in: put a model store in ./bake/models (a copy of $BENTOML_HOME/models after
# `csat serving import`) and the store in ./bake/store (online/ and scores/ are enough), then build --target baked.
FROM runtime AS baked
COPY --chown=10001:10001 bake/models /app/bentoml/models
COPY --chown=10001:10001 bake/store /app/store
