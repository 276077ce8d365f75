# Risk service image. Build:   podman build -t csat-risk .            (models/store mounted at run time)
#                   or:      podman build --target baked -t csat-risk:baked .   (bakes ./bake/{bentoml,store})
# Run:  podman run -p 3000:3000 -e CSAT_API_TOKEN=... -v $BENTOML_HOME:/app/bentoml:ro -v ./store:/app/store:ro csat-risk
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BENTOML_HOME=/app/bentoml \
    BENTOML_DO_NOT_TRACK=true \
    MLFLOW_DISABLE_TELEMETRY=true \
    CSAT_STORE_DIR=/app/store \
    CSAT_DATA_DIR=/app/data/raw
WORKDIR /app

# Dependencies first: this layer is rebuilt only when the lock file changes.
COPY requirements.lock ./
RUN python -m pip install -r requirements.lock

COPY pyproject.toml README.md ./
COPY csat ./csat
COPY features ./features
COPY training ./training
COPY serving ./serving
RUN python -m pip install --no-deps . \
    && useradd --uid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin csat \
    && mkdir -p /app/bentoml /app/store /app/data/raw \
    && chown -R csat:csat /app/bentoml

USER csat
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:3000/readyz', timeout=4).status != 200)"]
# `csat serve` refuses 0.0.0.0 without CSAT_API_TOKEN; pass --insecure-open only behind your own auth proxy.
CMD ["csat", "serve", "--host", "0.0.0.0", "--port", "3000"]

FROM runtime AS baked
COPY --chown=csat:csat bake/bentoml /app/bentoml
COPY --chown=csat:csat bake/store /app/store
