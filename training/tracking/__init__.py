"""Every MLflow call of the project's training side: experiments, runs, models, registry aliases.

Layout: one experiment per target (named like its registered model), artifacts under
``settings.mlflow_artifact_root / <experiment>``. A training is a parent run per comparison with one child run
per feature set; the registered model (``csat-satisfaction`` / ``csat-churn``) gets the enriched model as a
new version with alias ``challenger`` (and ``champion`` when there is none yet). Each version carries the
serving spec (feature list, categorical levels, calibrator, threshold, bands, metrics, feature-set version)
in its MLmodel metadata, as ``serving/spec.json`` in its run and, in short form, as version tags.

The registered model is the native LightGBM booster (what ``csat serving import`` takes). MLflow's generic
LightGBM pyfunc cannot score store rows with it (the categorical inputs must be pandas categories with the
training levels, and the calibration lives in the spec), so each child run also logs ``pyfunc``, a calibrated
predictor of rows in the store's format: ``mlflow.pyfunc.load_model("runs:/<run_id>/pyfunc").predict(rows)``
(logged as code, ``training/tracking/pyfunc_model.py``, as MLflow recommends: nothing is pickled; loading
it needs this project installed, as its ``.venv`` has it).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from csat.settings import Settings
from csat.signals import HeldSigterm
from training.errors import TrackingStoreError
from training.pipeline import REGISTERED_NAMES, Comparison, SetResult, serving_spec
from training.report import child_artifacts, parent_artifacts

CHAMPION, CHALLENGER = "champion", "challenger"
MODEL_NAME = "model"
PYFUNC_NAME = "pyfunc"
PYFUNC_CODE = Path(__file__).with_name("pyfunc_model.py")  # the pyfunc, as MLflow runs it


@dataclass(frozen=True)
class TrainingRecord:
    """What one recorded training produced in MLflow."""

    target: str
    experiment_id: str
    parent_run_id: str
    child_run_ids: dict[str, str]
    registered_name: str
    version: str | None
    aliases: tuple[str, ...]


@dataclass
class RegisteredModel:
    """A registered model version loaded back: the native booster and its serving spec."""

    name: str
    version: str
    run_id: str | None
    booster: lgb.Booster
    spec: dict[str, Any]


def _sqlite_parent(uri: str) -> Path | None:
    prefix = "sqlite:///"
    return Path(uri[len(prefix) :]).parent if uri.startswith(prefix) else None


def connect(settings: Settings) -> Any:
    """Point MLflow at the settings' tracking store and return a client.

    Args:
        settings: the project settings.

    Returns:
        An ``MlflowClient`` for the tracking and registry URI.

    """
    import mlflow

    uri = settings.mlflow_tracking_uri
    folder = _sqlite_parent(uri)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    Path(settings.mlflow_artifact_root).mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


@contextmanager
def _env_defaults(knobs: dict[str, str]) -> Iterator[None]:
    """Set MLflow environment variables the user has not set, for the duration of the block only.

    Args:
        knobs: variable -> value while the block runs (a variable the user set keeps its value).

    """
    import os

    old = {k: os.environ.get(k) for k in knobs}
    os.environ.update({k: v for k, v in knobs.items() if old[k] is None})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)


def _no_http_retries() -> contextlib.AbstractContextManager[None]:
    """Fail a request to an unreachable tracking server at once instead of retrying for minutes."""
    return _env_defaults({"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"})


@contextmanager
def _quiet_models() -> Iterator[None]:
    """Keep MLflow's model chatter out of the commands' output while a block logs or loads models.

    MLflow draws a progress bar for every artifact download (when it logs a model it loads it back to check
    the input example) and says at INFO level that it validates the example; neither tells our user anything.
    Warnings still show.
    """
    log = logging.getLogger("mlflow.pyfunc")
    old = log.level
    log.setLevel(max(logging.WARNING, log.getEffectiveLevel()))
    try:
        with _env_defaults({"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}):
            yield
    finally:
        log.setLevel(old)


def check_tracking(settings: Settings) -> None:
    """Make sure the tracking and registry store answers, before a command spends time training.

    Args:
        settings: the project settings (``mlflow_tracking_uri``, ``mlflow_artifact_root``).

    Raises:
        TrackingStoreError: the store cannot be used; one line naming the URI, where it is set and why.

    """
    uri = settings.mlflow_tracking_uri
    try:
        with _no_http_retries():
            connect(settings).search_experiments(max_results=1)
    except Exception as err:  # MLflow raises many types here (unsupported scheme, OS, HTTP, database)
        why = without_credentials((str(err).strip().splitlines() or [type(err).__name__])[0][:300])
        raise TrackingStoreError(
            f"cannot use the MLflow tracking store {without_credentials(uri)!r} (setting mlflow_tracking_uri,"
            f" environment CSAT_MLFLOW_TRACKING_URI): {why}"
        ) from err


_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@")


def without_credentials(text: str) -> str:
    """Text with the ``user:password@`` part of every URL in it replaced by ``***@``.

    Args:
        text: a URI, or a message that may hold one.

    Returns:
        The same text, safe for a log.

    """
    return _USERINFO.sub(r"\g<scheme>***@", text)


def experiment_for(client: Any, settings: Settings, target: str) -> str:
    """Return the target's experiment id, creating it with its artifact location under the artifact root.

    Args:
        client: an MLflow client.
        settings: the project settings.
        target: ``csat`` or ``churn``.

    Returns:
        The experiment id.

    """
    name = REGISTERED_NAMES[target]
    existing = client.get_experiment_by_name(name)
    if existing is not None:
        return str(existing.experiment_id)
    location = (Path(settings.mlflow_artifact_root).resolve() / name).as_uri()
    return str(client.create_experiment(name, artifact_location=location))


def git_commit() -> str:
    """Return the code's git commit (``unknown`` outside a repository), marked ``-dirty`` if edited.

    Returns:
        Commit id.

    """
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def _write(folder: Path, objects: dict[str, Any]) -> None:
    for rel, obj in objects.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(obj, Figure):
            obj.savefig(path, dpi=110)
        elif isinstance(obj, pd.DataFrame):
            obj.to_csv(path, index=False)
        elif isinstance(obj, dict | list):
            path.write_text(json.dumps(obj, indent=2, default=str), encoding="utf-8")
        else:
            path.write_text(str(obj), encoding="utf-8")


def _log_objects(objects: dict[str, Any]) -> None:
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        _write(Path(tmp), objects)
        mlflow.log_artifacts(tmp)


def _interval_metrics(prefix: str, intervals: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for m, iv in intervals.items():
        out[f"{prefix}{m}"], out[f"{prefix}{m}_low"], out[f"{prefix}{m}_high"] = iv.point, iv.low, iv.high
    return {k: v for k, v in out.items() if np.isfinite(v)}


def _child_params(comparison: Comparison, name: str, commit: str) -> dict[str, Any]:
    res, m = comparison.results[name], comparison.manifest
    params = {
        "target": comparison.target,
        "feature_set": name,
        "n_features": len(res.model.features),
        "n_categorical": len(res.model.categorical),
        "data_window_from": str(m.get("cutoff_min")),
        "data_window_to": str(m.get("cutoff_max")),
        "data_fingerprint": m.get("data_fingerprint"),
        "feature_set_version": m.get("feature_set_version"),
        "git_commit": commit,
        "calibration": res.model.calibrator.kind,
        "monotone": json.dumps(res.model.monotone, sort_keys=True) if res.model.monotone else "none",
        "best_iteration": res.model.best_iteration,
        "n_candidates": comparison.config.n_candidates,
        "n_seeds": comparison.config.n_seeds,
        "n_boot": comparison.n_boot,
        "cv_folds": comparison.config.cv_folds,
        **{f"split_{k}": v for k, v in comparison.split_summary.items()},
    }
    params.update({f"lgb_{k}": v for k, v in res.model.params.items()})
    return params


def _child_metrics(res: SetResult) -> dict[str, float]:
    out = _interval_metrics("test_", res.metrics)
    out.update({f"test_uncalibrated_{k}": v for k, v in res.raw_metrics.items() if np.isfinite(v)})
    out.update({"valid_ece_before": res.valid_ece["before"], "valid_ece_after": res.valid_ece["after"]})
    out["threshold"] = res.threshold
    by_set = res.shap.by_set
    shares = zip(by_set["feature_set"], by_set["share"], strict=True)
    out.update({f"shap_share_{n}": float(v) for n, v in shares})
    out["max_psi"] = float(res.drift["psi"].max()) if len(res.drift) else 0.0
    return out


@contextmanager
def _quiet_serving_input_check(active: bool) -> Iterator[None]:
    """Silence MLflow's serving-input validation warning for models with categorical inputs.

    MLflow replays the input example through JSON, which turns pandas categories into strings that the native
    LightGBM pyfunc cannot take; the spec tells serving to rebuild the categories from ``category_levels``.
    """
    log = logging.getLogger("mlflow.models.model")
    old = log.level
    if active:
        log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(old)


def _log_model(comparison: Comparison, name: str, frame_sample: pd.DataFrame) -> str:
    import mlflow
    import mlflow.lightgbm
    from mlflow.models import infer_signature

    res = comparison.results[name]
    x = res.model.matrix(frame_sample)
    y = np.asarray(res.model.booster.predict(x, num_iteration=res.model.best_iteration))
    signature = infer_signature(x, y)
    requirements = [f"lightgbm=={lgb.__version__}", f"pandas=={pd.__version__}", f"numpy=={np.__version__}"]
    with _quiet_models(), _quiet_serving_input_check(bool(res.model.categorical)):
        info = mlflow.lightgbm.log_model(
            res.model.booster,
            name=MODEL_NAME,
            signature=signature,
            input_example=x.head(5),
            pip_requirements=requirements,
            metadata={"serving_spec": serving_spec(comparison, name)},
        )
    with _quiet_models():
        _log_pyfunc(comparison, name, frame_sample, requirements)
    return str(info.model_uri)


def _log_pyfunc(
    comparison: Comparison, name: str, frame_sample: pd.DataFrame, requirements: list[str]
) -> None:
    import mlflow
    from mlflow.models import infer_signature

    res = comparison.results[name]
    rows = frame_sample[res.model.features].head(5)
    with tempfile.TemporaryDirectory() as tmp:
        booster, spec = Path(tmp, "booster.txt"), Path(tmp, "spec.json")
        res.model.booster.save_model(str(booster))
        spec.write_text(json.dumps(serving_spec(comparison, name)), encoding="utf-8")
        mlflow.pyfunc.log_model(
            name=PYFUNC_NAME,
            python_model=PYFUNC_CODE,  # models from code: MLflow runs the file, nothing is pickled
            artifacts={"booster": str(booster), "spec": str(spec)},
            signature=infer_signature(rows, res.model.predict(rows)),
            input_example=rows,
            pip_requirements=requirements,
        )


def _register(
    client: Any, comparison: Comparison, model_uri: str, run_id: str, first_becomes_champion: bool
) -> tuple[str, tuple[str, ...]]:
    import mlflow

    spec = serving_spec(comparison)
    res = comparison.results[comparison.champion_set]
    tags = {
        "target": comparison.target,
        "feature_set": comparison.champion_set,
        "feature_set_version": str(spec["feature_set_version"]),
        "data_fingerprint": str(spec["data_fingerprint"]),
        "threshold": f"{res.threshold:.6f}",
        "bands": json.dumps(spec["bands"]),
        "features": json.dumps(spec["features"])[:4900],
        "n_features": str(len(spec["features"])),
        "test_roc_auc": f"{res.metrics['roc_auc'].point:.6f}",
        "spec_artifact": f"runs:/{run_id}/serving/spec.json",
        "source_run_id": run_id,
    }
    version = mlflow.register_model(model_uri, comparison.registered_name, tags=tags)
    aliases = [CHALLENGER]
    client.set_registered_model_alias(comparison.registered_name, CHALLENGER, version.version)
    if first_becomes_champion and current_alias_version(client, comparison.registered_name, CHAMPION) is None:
        client.set_registered_model_alias(comparison.registered_name, CHAMPION, version.version)
        aliases.append(CHAMPION)
    return str(version.version), tuple(aliases)


def current_alias_version(client: Any, name: str, alias: str) -> str | None:
    """Version number an alias points to, or ``None``.

    Args:
        client: an MLflow client.
        name: registered model name.
        alias: alias name.

    Returns:
        The version, or ``None`` when the model or alias does not exist.

    """
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def champion_version(settings: Settings, target: str) -> str | None:
    """The version a target's ``champion`` alias points to now, or ``None`` (none, or unreadable).

    Args:
        settings: the project settings.
        target: ``csat`` or ``churn``.

    Returns:
        The version, or ``None``.

    """
    try:
        return current_alias_version(connect(settings), REGISTERED_NAMES[target], CHAMPION)
    except Exception:  # the store may be what failed: the report says "unknown" rather than fail again
        return None


def record_training(
    settings: Settings,
    comparison: Comparison,
    frame_sample: pd.DataFrame,
    *,
    register: bool = True,
    first_becomes_champion: bool = True,
    run_tags: dict[str, str] | None = None,
) -> TrainingRecord:
    """Log a comparison: parent run, one child run per feature set, and the registry entry.

    Args:
        settings: the project settings.
        comparison: the finished comparison.
        frame_sample: a few training rows (store format) for the model signature and input example.
        register: register the enriched (or sole) model as a new version with alias ``challenger``.
        first_becomes_champion: also make it ``champion`` when no champion exists yet (``csat train``);
            ``csat retrain`` passes False and lets its gates decide.
        run_tags: extra tags for the parent run.

    Returns:
        Run ids, version and aliases set.

    """
    import mlflow

    client = connect(settings)
    exp = experiment_for(client, settings, comparison.target)
    commit = git_commit()
    children: dict[str, str] = {}
    uris: dict[str, str] = {}
    version: str | None = None
    aliases: tuple[str, ...] = ()
    tags = {"kind": "comparison", "target": comparison.target, "git_commit": commit, **(run_tags or {})}
    # once registration begins, the parent run ends FINISHED before a SIGTERM is let through
    with (
        HeldSigterm() as held,
        mlflow.start_run(experiment_id=exp, run_name=f"{comparison.target}-comparison", tags=tags) as parent,
    ):
        mlflow.log_params(
            {
                "target": comparison.target,
                "feature_sets": ",".join(comparison.results),
                "git_commit": commit,
                "data_fingerprint": comparison.manifest.get("data_fingerprint"),
                "feature_set_version": comparison.manifest.get("feature_set_version"),
                "seed": comparison.config.seed,
                "n_candidates": comparison.config.n_candidates,
                "n_seeds": comparison.config.n_seeds,
                "n_boot": comparison.n_boot,
            }
        )
        for name, res in comparison.results.items():
            with mlflow.start_run(experiment_id=exp, run_name=name, nested=True) as child:
                mlflow.log_params(_child_params(comparison, name, commit))
                mlflow.log_metrics(_child_metrics(res))
                _log_objects(child_artifacts(comparison, name))
                uris[name] = _log_model(comparison, name, frame_sample)
                children[name] = child.info.run_id
        if comparison.lift is not None:
            mlflow.log_metrics(_interval_metrics("lift_", comparison.lift))
        if comparison.oracle is not None:
            mlflow.log_metrics(_interval_metrics("oracle_", comparison.oracle))
        for name, res in comparison.results.items():
            mlflow.log_metric(f"{name}_test_roc_auc", res.metrics["roc_auc"].point)
        _log_objects(parent_artifacts(comparison))
        if register:
            held.hold()
            chosen = comparison.champion_set
            version, aliases = _register(
                client, comparison, uris[chosen], children[chosen], first_becomes_champion
            )
            mlflow.set_tags({"registered_version": version, "aliases_at_registration": ",".join(aliases)})
    return TrainingRecord(
        target=comparison.target,
        experiment_id=exp,
        parent_run_id=parent.info.run_id,
        child_run_ids=children,
        registered_name=comparison.registered_name,
        version=version,
        aliases=tuple(aliases),
    )


def load_registered(settings: Settings, name: str, alias: str) -> RegisteredModel | None:
    """Load the booster and serving spec an alias points to.

    Args:
        settings: the project settings.
        name: registered model name.
        alias: alias, e.g. ``champion``.

    Returns:
        The model, or ``None`` when the alias is not set.

    """
    import mlflow
    import mlflow.lightgbm

    client = connect(settings)
    version = current_alias_version(client, name, alias)
    if version is None:
        return None
    mv = client.get_model_version(name, version)
    uri = f"models:/{name}@{alias}"
    with _quiet_models():
        booster = mlflow.lightgbm.load_model(uri)
        spec = (mlflow.models.get_model_info(uri).metadata or {}).get("serving_spec", {})
    return RegisteredModel(name, version, mv.run_id, booster, spec)


def aliases(settings: Settings, name: str) -> dict[str, str]:
    """Alias -> version of a registered model (empty when it does not exist).

    Args:
        settings: the project settings.
        name: registered model name.

    Returns:
        The aliases.

    """
    from mlflow.exceptions import MlflowException

    client = connect(settings)
    try:
        return {k: str(v) for k, v in client.get_registered_model(name).aliases.items()}
    except MlflowException:
        return {}


def record_decision(
    settings: Settings,
    target: str,
    decision: dict[str, Any],
    metrics: dict[str, float],
    promote_version: str | None,
) -> str:
    """Log a retrain decision as a run and, as its very last step, move ``champion`` when promoting.

    Args:
        settings: the project settings.
        target: ``csat`` or ``churn``.
        decision: outcome, reasons and gate results (logged as params, tags and ``decision.json``).
        metrics: numbers behind the decision.
        promote_version: version to make champion, or ``None`` to keep the current one.

    Returns:
        The decision run id.

    """
    import mlflow

    client = connect(settings)
    exp = experiment_for(client, settings, target)
    name = REGISTERED_NAMES[target]
    tags = {"kind": "retrain-decision", "target": target, "outcome": str(decision.get("outcome"))}
    # once the alias moves, the run ends FINISHED before a SIGTERM is let through
    with (
        HeldSigterm() as held,
        mlflow.start_run(experiment_id=exp, run_name=f"{target}-retrain-decision", tags=tags) as run,
    ):
        # a value that is absent (no challenger on a kept decision) stays out of the params, not 'None'
        mlflow.log_params(
            {k: v for k, v in decision.items() if v is not None and not isinstance(v, dict | list)}
        )
        mlflow.log_metrics({k: v for k, v in metrics.items() if v is not None and np.isfinite(v)})
        _log_objects({"decision.json": {**decision, "metrics": metrics}})
        if promote_version is not None:
            held.hold()
            client.set_registered_model_alias(name, CHAMPION, promote_version)
            mlflow.set_tag("champion_moved_to", promote_version)
    return str(run.info.run_id)


def ui_command(settings: Settings, host: str = "127.0.0.1", port: int = 5000, workers: int = 1) -> list[str]:
    """Build the command line that starts the MLflow UI on the settings' store.

    Args:
        settings: the project settings.
        host: bind address.
        port: port.
        workers: server worker processes (MLflow's default of 4 takes long to start on a small machine).

    Returns:
        argv for ``subprocess``.

    """
    return [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        settings.mlflow_tracking_uri,
        "--default-artifact-root",
        Path(settings.mlflow_artifact_root).resolve().as_uri(),
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]


def latest_comparison_runs(
    settings: Settings, target: str, trained_only: bool = False
) -> tuple[str, str, dict[str, str]]:
    """Ids of a target's latest finished comparison: experiment, parent run and child runs by feature set.

    Args:
        settings: the project settings.
        target: ``csat`` or ``churn``.
        trained_only: skip the challengers of ``csat retrain`` (keep ``csat train`` comparisons).

    Returns:
        Experiment id, parent run id, and feature-set name -> child run id.

    Raises:
        LookupError: the target has no comparison run yet.

    """
    client = connect(settings)
    exp = client.get_experiment_by_name(REGISTERED_NAMES[target])
    parents = (
        client.search_runs(
            [exp.experiment_id],
            filter_string="tags.kind = 'comparison' and attributes.status = 'FINISHED'",  # not a stopped one
            order_by=["attributes.start_time DESC"],
            max_results=200,
        )
        if exp is not None
        else []
    )
    if trained_only:
        parents = [r for r in parents if r.data.tags.get("trigger") != "retrain"]
    if not parents:
        raise LookupError(f"no comparison run for {target!r} in {settings.mlflow_tracking_uri}")
    parent = parents[0].info.run_id
    children = client.search_runs(
        [exp.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent}'", max_results=50
    )
    return str(exp.experiment_id), str(parent), {r.info.run_name: r.info.run_id for r in children}


def comparison_metrics(
    settings: Settings, target: str, trained_only: bool = False
) -> dict[str, dict[str, float]]:
    """Metrics of a target's most recent comparison, as MLflow holds them.

    Args:
        settings: the project settings.
        target: ``csat`` or ``churn``.
        trained_only: skip the challengers of ``csat retrain``.

    Returns:
        ``parent`` (lift and oracle metrics) and one entry per child run (feature-set name) -> metrics.

    """
    client = connect(settings)
    _, parent, children = latest_comparison_runs(settings, target, trained_only)
    run = client.get_run(parent)
    out = {
        "parent": dict(run.data.metrics),
        "params": {"feature_set_version": run.data.params.get("feature_set_version")},
    }
    out.update({name: dict(client.get_run(run_id).data.metrics) for name, run_id in children.items()})
    return out
