"""Models in: the MLflow import step (the only MLflow calls of serving) and loading from the BentoML store.

``csat serving import`` copies each target's ``champion`` version from the MLflow registry into the BentoML
model store as a native LightGBM booster file (``booster.txt``, cut at the best iteration) beside the serving
spec training published (``spec.json``). The service declares those store entries, so a built bento carries
them, and reads only the store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb

#: Registered model name in MLflow and model name in the BentoML store, per served role.
MODEL_NAMES: dict[str, str] = {"satisfaction": "csat-satisfaction", "churn": "csat-churn"}
BOOSTER_FILE = "booster.txt"
SPEC_FILE = "spec.json"
SERVED_ALIAS = "champion"


@dataclass(frozen=True)
class ServedModel:
    """A native booster with the serving spec training published beside it."""

    role: str
    version: str
    booster: lgb.Booster
    spec: dict[str, Any]
    info: dict[str, Any]


def import_champions(tracking_uri: str, alias: str = SERVED_ALIAS) -> dict[str, str]:
    """Copy each target's aliased MLflow version into the BentoML model store.

    Args:
        tracking_uri: the MLflow tracking and registry URI.
        alias: the registry alias to serve.

    Returns:
        Role -> BentoML model tag created.

    """
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    client = mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    return {role: _import_one(client, name, alias) for role, name in MODEL_NAMES.items()}


def _import_one(client: Any, name: str, alias: str) -> str:
    import bentoml
    import mlflow.lightgbm
    from mlflow.models import get_model_info

    version = client.get_model_version_by_alias(name, alias)
    uri = f"models:/{name}@{alias}"
    spec = dict((get_model_info(uri).metadata or {})["serving_spec"])
    booster = mlflow.lightgbm.load_model(uri)
    info = {
        "mlflow_name": name,
        "mlflow_version": str(version.version),
        "mlflow_alias": alias,
        "mlflow_run_id": str(version.run_id),
        "trained_at_ms": int(version.creation_timestamp),
        "feature_set_version": str(spec.get("feature_set_version")),
    }
    best = int(spec.get("best_iteration") or 0)
    with bentoml.models.create(name, labels={"alias": alias}, metadata=info) as model:
        booster.save_model(model.path_of(BOOSTER_FILE), num_iteration=best if best > 0 else None)
        Path(model.path_of(SPEC_FILE)).write_text(json.dumps(spec, default=str), encoding="utf-8")
        tag = str(model.tag)
    return tag


def load_stored(role: str, stored: Any) -> ServedModel:
    """Load one BentoML store entry made by :func:`import_champions`.

    Args:
        role: ``satisfaction`` or ``churn``.
        stored: the BentoML stored model (anything with ``path_of``, ``tag`` and ``info.metadata``).

    Returns:
        The booster with its spec and provenance (predictions pass ``num_threads=1``).

    """
    booster = lgb.Booster(model_file=stored.path_of(BOOSTER_FILE))
    spec = json.loads(Path(stored.path_of(SPEC_FILE)).read_text(encoding="utf-8"))
    info = dict(stored.info.metadata)
    info["bento_tag"] = str(stored.tag)
    return ServedModel(role, str(info.get("mlflow_version", stored.tag.version)), booster, spec, info)
