#!/usr/bin/env bash
# Last step of `make demo`: the MLflow UI in the background, the service in the foreground, URLs printed.
set -euo pipefail
CSAT="${1:-.venv/bin/csat}"
SERVICE_PORT="${SERVICE_PORT:-3000}"
MLFLOW_PORT="${MLFLOW_PORT:-5000}"
# own process group, so that stopping the demo also stops the UI's workers
setsid "$CSAT" ui --port "$MLFLOW_PORT" > mlruns/ui.log 2>&1 &
UI_PID=$!
trap 'kill -- -"$UI_PID" 2>/dev/null || true' EXIT INT TERM
cat <<MSG

  Risk page:  http://127.0.0.1:${SERVICE_PORT}/ui/         (accounts at risk, why, and what to do)
  Service:    http://127.0.0.1:${SERVICE_PORT}/           (OpenAPI: /docs.json, health: /readyz)
  Try:        curl -s -X POST http://127.0.0.1:${SERVICE_PORT}/at_risk -H 'Content-Type: application/json' -d '{}'
  MLflow UI:  http://127.0.0.1:${MLFLOW_PORT}/             (experiments csat-satisfaction and csat-churn)
  Stop with Ctrl-C.

MSG
"$CSAT" serve --port "$SERVICE_PORT"
