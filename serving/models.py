"""Models in: the MLflow import step (the only MLflow calls of serving) and loading from the BentoML store.

``csat serving import`` copies each target's ``champion`` version from the MLflow registry into the BentoML
model store as a native LightGBM booster file (``booster.txt``, cut at the best iteration) beside the serving
spec training published (``spec.json``). The service declares those store entries, so a built bento carries
them, and reads only the store.

The import is all or nothing: the service serves both models, so every registered model and alias is looked
up, and every model fetched from MLflow, before the first is written to the store; a write that fails removes
the ones written before it. A new satisfaction model is never imported beside an older churn model.
"""

from __future__ import annotations

import contextlib
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
#: The ``csat train --target`` that trains each role's model.
TRAIN_TARGETS: dict[str, str] = {"satisfaction": "csat", "churn": "churn"}
#: What a target needs that a short history may not give (see the README's training section).
TARGET_NEEDS: dict[str, str] = {"churn": "churn needs about 21 months of history"}


class MissingModelError(LookupError):
    """A model the service needs is not there (registry or model store); the message says what to run."""


@dataclass(frozen=True)
class ServedModel:
    """A native booster with the serving spec training published beside it."""

    role: str
    version: str
    booster: lgb.Booster
    spec: dict[str, Any]
    info: dict[str, Any]


def import_champions(tracking_uri: str, alias: str = SERVED_ALIAS) -> dict[str, str]:
    """Copy each target's aliased MLflow version into the BentoML model store, every one or none.

    Args:
        tracking_uri: the MLflow tracking and registry URI.
        alias: the registry alias to serve.

    Returns:
        Role -> BentoML model tag created.

    Raises:
        MissingModelError: a registered model, or its version with ``alias``, is missing (nothing imported).

    """
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    client = mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    versions = aliased_versions(client, alias)
    fetched = [
        _fetch(role, client.get_model_version(name, versions[role]), alias)
        for role, name in MODEL_NAMES.items()
    ]
    return _store_all(fetched)


def aliased_versions(client: Any, alias: str) -> dict[str, str]:
    """Role -> the registry version ``alias`` names, for every served model, before anything is imported.

    Args:
        client: an ``mlflow.MlflowClient`` on the registry.
        alias: the registry alias to serve.

    Returns:
        Role -> registered version number.

    Raises:
        MissingModelError: one line naming every missing registered model or alias and what to run.

    """
    from mlflow.exceptions import MlflowException

    versions: dict[str, str] = {}
    missing: list[str] = []
    for role, name in MODEL_NAMES.items():
        try:
            aliases = dict(client.get_registered_model(name).aliases or {})
        except MlflowException as err:
            if err.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            missing.append(f"no registered model {name} in the MLflow registry ({_remedy(role, alias)})")
            continue
        if alias in aliases:
            versions[role] = str(aliases[alias])
        else:
            missing.append(f"{name} has no version with alias {alias!r} ({_remedy(role, alias)})")
    if missing:
        raise MissingModelError(
            f"{'; '.join(missing)}: the service serves both models, so nothing was imported"
        )
    return versions


def _remedy(role: str, alias: str) -> str:
    """What to run so that ``role``'s registered model has a version with ``alias``."""
    target = TRAIN_TARGETS[role]
    if alias == "champion":
        run = f"run `csat train --target {target}`, which sets `champion` when there is none"
    elif alias == "challenger":
        run = f"run `csat train --target {target}` or `csat retrain --target {target}`"
    else:
        run = "set that alias on a version in the MLflow registry"
    need = TARGET_NEEDS.get(role)
    return f"{run}; {need}" if need else run


@dataclass(frozen=True)
class _Fetched:
    """One model read from MLflow, not yet in the BentoML store."""

    name: str
    role: str
    alias: str
    booster: Any
    spec: dict[str, Any]
    info: dict[str, Any]


def _fetch(role: str, version: Any, alias: str) -> _Fetched:
    """Read one registered version's booster and serving spec from MLflow."""
    import mlflow.lightgbm
    from mlflow.models import get_model_info

    name = MODEL_NAMES[role]
    uri = f"models:/{name}/{version.version}"
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
    return _Fetched(name, role, alias, booster, spec, info)


def _store_all(fetched: list[_Fetched]) -> dict[str, str]:
    """Write every fetched model into the BentoML store; a failure removes the ones already written."""
    import bentoml

    tags: dict[str, str] = {}
    try:
        for model in fetched:
            tags[model.role] = _store_one(model)
    except BaseException:
        for tag in tags.values():
            with contextlib.suppress(Exception):  # the write's own error is the one to report
                bentoml.models.delete(tag)
        raise
    return tags


def _store_one(model: _Fetched) -> str:
    """Write one model into the BentoML store (BentoML copies it in once it is complete); its tag."""
    import bentoml

    best = int(model.spec.get("best_iteration") or 0)
    with bentoml.models.create(model.name, labels={"alias": model.alias}, metadata=model.info) as stored:
        model.booster.save_model(stored.path_of(BOOSTER_FILE), num_iteration=best if best > 0 else None)
        Path(stored.path_of(SPEC_FILE)).write_text(json.dumps(model.spec, default=str), encoding="utf-8")
        tag = str(stored.tag)
    return tag


def absent_models() -> list[str]:
    """Names of the served models with no entry in the BentoML model store (``$BENTOML_HOME``)."""
    import bentoml
    from bentoml.exceptions import NotFound

    absent = []
    for name in MODEL_NAMES.values():
        try:
            bentoml.models.get(f"{name}:latest")
        except NotFound:
            absent.append(name)
    return absent


def check_stored() -> None:
    """Stop unless every served model is in the BentoML model store, naming the store and what to run.

    Raises:
        MissingModelError: one line: the absent models, the store's folder, ``csat serving import``.

    """
    absent = absent_models()
    if absent:
        from bentoml._internal.configuration.containers import BentoMLContainer

        home = BentoMLContainer.bentoml_home.get()
        verb = "is" if len(absent) == 1 else "are"
        raise MissingModelError(
            f"{' and '.join(absent)} {verb} not in the BentoML model store at {home} ($BENTOML_HOME):"
            " run `csat serving import` with that BENTOML_HOME first (the service needs both models)"
        )


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
