"""Baseline vs enriched comparison for one target: split, fit, calibrate, evaluate, explain, drift.

Pure computation: no MLflow here (``training.tracking`` records what this returns).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from training.constraints import monotone_for
from training.data import ID_COLUMNS, FeatureCatalog, OfflineData, Target, Truth, model_feature_sets
from training.drift import drift_table, history_days
from training.errors import LeakageError
from training.evaluate import (
    METRICS,
    Interval,
    RiskBands,
    band_table,
    bootstrap_metrics,
    choose_bands,
    choose_threshold,
    oracle_probabilities,
    paired_lift,
    point_metrics,
)
from training.explain import ShapSummary, summarize
from training.split import SplitError, TimeSplit, min_monthly_cutoffs, time_split
from training.train import FittedModel, TrainConfig, fit_feature_set, refit_with_seed, sample_candidates

BASE_SET, NEW_SET = "baseline", "enriched"
REGISTERED_NAMES: dict[str, str] = {"csat": "csat-satisfaction", "churn": "csat-churn"}
LEAKAGE_AUC = 0.995
LEAKAGE_FOLDS = 5  # folds of accounts for scoring a category on other accounts' labels
MIN_CLASS_ROWS = 5  # examples of each class every period needs (threshold, calibration, AUC)


@dataclass
class SetResult:
    """Everything measured for one feature set's model."""

    model: FittedModel
    threshold: float
    bands: RiskBands
    metrics: dict[str, Interval]
    raw_metrics: dict[str, float]
    valid_ece: dict[str, float]
    p_test: np.ndarray
    p_test_raw: np.ndarray
    bands_test: pd.DataFrame
    shap: ShapSummary
    drift: pd.DataFrame
    seed_p_test: np.ndarray  # (seeds, test rows): calibrated test probabilities of every seed's fit
    seed_thresholds: np.ndarray  # (seeds,): each fit's decision threshold


@dataclass
class Comparison:
    """One target's comparison of named feature sets on the same test period."""

    target: Target
    manifest: dict[str, Any]
    split: TimeSplit
    split_summary: dict[str, str | int]
    config: TrainConfig
    results: dict[str, SetResult]
    y_test: np.ndarray
    lift: dict[str, Interval] | None
    oracle: dict[str, Interval] | None
    oracle_threshold: float | None
    frame: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    n_boot: int = 1000  # bootstrap replicates behind every interval

    @property
    def champion_set(self) -> str:
        """The set that gets registered: enriched when trained, else baseline."""
        return NEW_SET if NEW_SET in self.results else BASE_SET

    @property
    def registered_name(self) -> str:
        """Registry name of this target's model."""
        return REGISTERED_NAMES[self.target]


def check_leakage(frame: pd.DataFrame, features: list[str], categorical: list[str]) -> None:
    """Refuse features that alone separate the training labels almost perfectly (a label leak).

    A number scores each row as it is. A category is scored honestly, by the label mean of its value among
    the other accounts' rows (:func:`_out_of_fold_means`): a value that names a single account (an email, a
    contract number) is never seen outside its account and is not scored, while a value that stands for the
    label is, and separates it.

    Args:
        frame: training rows (with ``account_id``; without it, each row counts as its own account).
        features: candidate feature columns.
        categorical: the categorical ones among them.

    Raises:
        LeakageError: an identifier column is listed as a feature, or a feature scored on more than half of
            the rows has single-feature ROC AUC (either direction) of at least ``LEAKAGE_AUC``.

    """
    forbidden = set(ID_COLUMNS) & set(features)
    if forbidden:
        raise LeakageError(f"identifier or label columns listed as features: {sorted(forbidden)}")
    y = frame["label"].to_numpy(int)
    if len(np.unique(y)) < 2:
        return
    groups = frame["account_id"].to_numpy() if "account_id" in frame.columns else np.arange(len(frame))
    for name in features:
        if name in categorical:
            values = _out_of_fold_means(frame[name], y, groups)
        else:
            values = pd.to_numeric(frame[name], errors="coerce").to_numpy(float)
        known = ~np.isnan(values)
        if known.sum() < 20 or len(np.unique(y[known])) < 2:
            continue
        auc = roc_auc_score(y[known], values[known])
        if max(auc, 1 - auc) >= LEAKAGE_AUC and known.mean() > 0.5:
            raise LeakageError(
                f"feature {name!r} alone separates the labels of the training period (ROC AUC {auc:.3f}),"
                " a likely label leak",
                name,
            )


def _out_of_fold_means(col: pd.Series, y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Each row's category scored by its label mean in the other folds of accounts (``NaN`` when unseen).

    Accounts are dealt into ``LEAKAGE_FOLDS`` folds by a hash of their id (the same folds on every run); a row
    is never scored with its own account's labels, so a category unique to one account says nothing.

    Args:
        col: the categorical column.
        y: the labels, aligned with ``col``.
        groups: the account of each row.

    Returns:
        A float score per row.

    """
    keys = col.astype("string").reset_index(drop=True)
    fold = pd.util.hash_array(np.asarray(groups, dtype=object).astype(str)) % LEAKAGE_FOLDS
    labels = pd.Series(y, dtype=float)
    out = np.full(len(keys), np.nan)
    for k in range(LEAKAGE_FOLDS):
        held = fold == k
        means = labels[~held].groupby(keys[~held]).mean()
        out[held] = keys[held].map(means).to_numpy(float, na_value=np.nan)
    return out


def check_target_leakage(data: OfflineData, catalog: FeatureCatalog, split: TimeSplit) -> None:
    """Check a target's model features for a label leak on its training period, as :func:`compare` does.

    Cheap (no model is fitted), so commands call it for every target before training any.

    Args:
        data: the target's offline frame and manifest.
        catalog: the feature catalog (model feature sets).
        split: the target's split (:func:`split_for`).

    Raises:
        LeakageError: one line naming the target and the feature, and how to leave a custom accounts
            column out.

    """
    sets = model_feature_sets(data.manifest, catalog)
    union = sorted({f for fs in sets.values() for f in fs})
    frame = data.frame.reset_index(drop=True).iloc[split.train]
    try:
        check_leakage(frame, union, data.manifest.get("categorical", []))
    except LeakageError as err:
        message = f"{data.target}: {err}{_leave_out(err.feature, data.manifest)}"
        raise LeakageError(message, err.feature) from err


def _leave_out(feature: str | None, manifest: dict[str, Any]) -> str:
    """How the user leaves a leaking feature out: a custom accounts column by setting, others by the data."""
    from features.catalog import EXTRA_PREFIX

    if feature is None:
        return ""
    if not feature.startswith(EXTRA_PREFIX):
        return "; check that the data it is computed from holds nothing recorded after each example's cutoff"
    description = manifest.get("catalog", {}).get(feature, {}).get("description", "")
    found = re.search(r"custom field '(.+)' \(", description)
    column = found.group(1) if found else feature.removeprefix(EXTRA_PREFIX)
    return (
        f"; it is the accounts column {column!r}: leave it out with exclude_account_columns = "
        f"[{json.dumps(column)}] in csat.toml, then rebuild the store (csat features build)"
    )


def _sample(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """At most ``n`` rows, drawn without replacement with a fixed seed (SHAP cost grows with rows x trees)."""
    return frame if len(frame) <= n else frame.sample(n=n, random_state=seed).sort_index()


def _history_needs(features: list[str], catalog: FeatureCatalog, manifest: dict[str, Any]) -> dict[str, int]:
    """Days of history each feature needs before it compares like with like across periods."""
    out = {}
    for f in features:
        info = catalog.info(f, manifest)
        out[f] = history_days(info.window_days, info.group)
    return out


def _fit_and_measure(
    data: OfflineData,
    split: TimeSplit,
    name: str,
    features: list[str],
    candidates: list[dict[str, Any]],
    catalog: FeatureCatalog,
    config: TrainConfig,
    n_boot: int,
) -> SetResult:
    frame, manifest = data.frame, data.manifest
    categorical = [c for c in manifest.get("categorical", []) if c in features]
    monotone = monotone_for(data.target, features) if config.monotone else {}
    model = fit_feature_set(frame, split, name, features, categorical, candidates, config, monotone)
    valid, test = frame.iloc[split.valid], frame.iloc[split.test]
    y_valid, y_test = valid["label"].to_numpy(int), test["label"].to_numpy(int)
    p_valid_raw = model.predict_raw(valid)
    p_valid = model.calibrator.apply(p_valid_raw)
    threshold = choose_threshold(y_valid, p_valid)
    bands = choose_bands(p_valid, data.target)
    p_test_raw = model.predict_raw(test)
    p_test = model.calibrator.apply(p_test_raw)
    seed_p, seed_thr = _other_seeds(frame, split, model, config)
    metrics = bootstrap_metrics(
        y_test, p_test, threshold, groups=test["account_id"].to_numpy(), n_boot=n_boot, seed=config.seed
    )
    return SetResult(
        model=model,
        threshold=threshold,
        bands=bands,
        metrics=metrics,
        raw_metrics=point_metrics(y_test, p_test_raw, threshold),
        valid_ece={
            "before": point_metrics(y_valid, p_valid_raw, threshold)["ece"],
            "after": point_metrics(y_valid, p_valid, threshold)["ece"],
        },
        p_test=p_test,
        p_test_raw=p_test_raw,
        bands_test=band_table(bands, y_test, p_test),
        shap=summarize(model, _sample(test, config.shap_rows, config.seed), catalog, manifest),
        drift=drift_table(
            frame.iloc[split.train],
            test,
            features,
            categorical,
            _history_needs(features, catalog, manifest),
            pd.Timestamp(frame["as_of"].min()),
        ),
        seed_p_test=np.vstack([p_test, *seed_p]),
        seed_thresholds=np.array([threshold, *seed_thr]),
    )


def _other_seeds(
    frame: pd.DataFrame, split: TimeSplit, model: FittedModel, config: TrainConfig
) -> tuple[list[np.ndarray], list[float]]:
    """Test probabilities and thresholds of the tuned model refitted with ``n_seeds - 1`` more seeds."""
    valid, test = frame.iloc[split.valid], frame.iloc[split.test]
    y_valid = valid["label"].to_numpy(int)
    probs, thresholds = [], []
    for k in range(1, max(1, config.n_seeds)):
        refit = refit_with_seed(frame, split, model, config.seed + 1000 * k, config)
        thresholds.append(choose_threshold(y_valid, refit.calibrator.apply(refit.predict_raw(valid))))
        probs.append(refit.calibrator.apply(refit.predict_raw(test)))
    return probs, thresholds


def split_for(data: OfflineData, config: TrainConfig) -> TimeSplit:
    """The time split :func:`compare` uses for a target, checked to hold both classes in every period.

    Cheap (no model is fitted), so commands call it for every target before training any.

    Args:
        data: the target's offline frame and manifest.
        config: training configuration (period shares).

    Returns:
        The split, with positions into ``data.frame`` as it is ordered.

    Raises:
        SplitError: the frame is empty, its history is too short for the label horizon, or a period lacks
            ``MIN_CLASS_ROWS`` examples of a class; the message names the target and what is too small.
        ValueError: a churn manifest without ``horizon_days``.

    """
    frame, target = data.frame.reset_index(drop=True), data.target
    if frame.empty:
        raise SplitError(f"{target}: the offline frame has no examples (more accounts or months of history)")
    horizon, valid_frac, test_frac = 0, config.valid_frac, config.test_frac
    if target == "churn":
        if not data.manifest.get("horizon_days"):
            raise ValueError("churn manifest lacks horizon_days: cannot purge overlapping label windows")
        horizon = int(data.manifest["horizon_days"])
        valid_frac, test_frac = config.churn_valid_frac, config.churn_test_frac
    try:
        split = time_split(frame["as_of"], valid_frac=valid_frac, test_frac=test_frac, horizon_days=horizon)
    except SplitError as err:
        raise SplitError(_split_problem(target, frame["as_of"], horizon, valid_frac, test_frac)) from err
    _check_classes(target, frame, split)
    return split


def _split_problem(target: str, as_of: pd.Series, horizon: int, valid_frac: float, test_frac: float) -> str:
    """Why a target's cutoffs cannot fill three periods: for a horizon, monthly cutoffs needed vs present."""
    times = pd.to_datetime(as_of)
    if horizon <= 0:
        return (
            f"{target}: too little data to split into train, validation and test periods "
            f"({len(times)} examples at {times.nunique()} distinct times; more accounts or months of history)"
        )
    need = min_monthly_cutoffs(horizon, valid_frac=valid_frac, test_frac=test_frac)
    have = times.dt.to_period("M").nunique()
    if need is not None and have >= need:  # enough months: the later months hold too few of the rows
        per_month = times.dt.to_period("M").value_counts().sort_index()
        return (
            f"{target}: {have} monthly cutoffs would do for its {horizon}-day horizon, but the later months"
            f" hold too few of the examples for the validation and test shares ({per_month.iloc[0]:,}"
            f" examples in {per_month.index[0]}, {per_month.iloc[-1]:,} in {per_month.index[-1]}): more"
            " recent history is needed"
        )
    label_months = math.ceil(horizon / 30.44)
    needed = f"about {need - 1 + label_months} months ({need} monthly cutoffs)" if need else "more"
    span = f"{times.min():%Y-%m} to {times.max():%Y-%m}"
    return (
        f"{target}: not enough months of history for its {horizon}-day horizon plus validation and test "
        f"periods (each separated by the horizon): it needs {needed}, the store has about "
        f"{have - 1 + label_months} months ({have} monthly cutoffs, {span})"
    )


def _check_classes(target: str, frame: pd.DataFrame, split: TimeSplit) -> None:
    """Raise a :class:`SplitError` naming the period when one holds too few examples of a class."""
    for name, idx in (("train", split.train), ("validation", split.valid), ("test", split.test)):
        y = frame["label"].to_numpy(int)[idx]
        pos, neg = int(y.sum()), int(len(y) - y.sum())
        if min(pos, neg) < MIN_CLASS_ROWS:
            raise SplitError(
                f"{target}: too little data: the {name} period has {len(y)} examples ({pos} positive, "
                f"{neg} negative); each period needs at least {MIN_CLASS_ROWS} of each class (more accounts "
                "or months of history)"
            )


def compare(
    data: OfflineData,
    catalog: FeatureCatalog,
    config: TrainConfig,
    *,
    truth: Truth | None = None,
    n_boot: int = 1000,
) -> Comparison:
    """Fit every named feature set with the same budget and compare them on the same test period.

    Args:
        data: the target's offline frame and manifest.
        catalog: the feature catalog (model sets, groups, descriptions).
        config: training configuration.
        truth: simulator ground truth for the oracle, or ``None``.
        n_boot: bootstrap replicates for every interval.

    Returns:
        The comparison.

    Raises:
        LeakageError: a feature leaks the label.
        SplitError: the data is too small or too short to split (see :func:`split_for`).
        ValueError: a churn manifest without ``horizon_days``.

    """
    frame = data.frame.reset_index(drop=True)
    data = OfflineData(data.target, frame, data.manifest)
    split = split_for(data, config)
    horizon = split.horizon_days
    sets = model_feature_sets(data.manifest, catalog)
    notes: list[str] = []
    missing = data.manifest.get("groups_missing") or []
    if missing:
        notes.append(f"feature groups left out by the store (source data missing): {', '.join(missing)}")
    if sets.get(NEW_SET) == sets.get(BASE_SET):
        notes.append("no collaboration features available: training and serving the baseline alone")
        sets = {BASE_SET: sets[BASE_SET]}
    check_target_leakage(data, catalog, split)
    candidates = sample_candidates(config.n_candidates, config.seed)
    results = {
        name: _fit_and_measure(data, split, name, feats, candidates, catalog, config, n_boot)
        for name, feats in sets.items()
    }
    test = frame.iloc[split.test]
    y_test = test["label"].to_numpy(int)
    groups = test["account_id"].to_numpy()
    lift = None
    if BASE_SET in results and NEW_SET in results:
        b, e = results[BASE_SET], results[NEW_SET]
        lift = paired_lift(
            y_test,
            b.seed_p_test,
            e.seed_p_test,
            b.seed_thresholds,
            e.seed_thresholds,
            groups=groups,
            n_boot=n_boot,
            seed=config.seed,
        )
    oracle, oracle_thr = None, None
    p_oracle = oracle_probabilities(frame, data.target, truth, horizon)
    if p_oracle is not None:
        valid = split.valid
        oracle_thr = choose_threshold(frame["label"].to_numpy(int)[valid], p_oracle[valid])
        oracle = bootstrap_metrics(
            y_test, p_oracle[split.test], oracle_thr, groups=groups, n_boot=n_boot, seed=config.seed
        )
    elif truth is not None:
        notes.extend(
            truth.notes or ["ground truth present but incomplete for these rows: oracle not reported"]
        )
    return Comparison(
        target=data.target,
        manifest=data.manifest,
        split=split,
        split_summary=split.summary(frame["as_of"]),
        config=config,
        results=results,
        y_test=y_test,
        lift=lift,
        oracle=oracle,
        oracle_threshold=oracle_thr,
        frame=frame,
        notes=notes,
        n_boot=n_boot,
    )


def serving_spec(comparison: Comparison, set_name: str | None = None) -> dict[str, Any]:
    """Collect what serving needs to use the registered model, as one JSON-friendly dict.

    Args:
        comparison: the comparison.
        set_name: which set's model (default: the registered one).

    Returns:
        Features, categorical levels, calibrator, threshold, bands, metrics and provenance.

    """
    name = set_name or comparison.champion_set
    res = comparison.results[name]
    m = comparison.manifest
    return {
        "target": comparison.target,
        "registered_model": comparison.registered_name,
        "feature_set": name,
        "features": res.model.features,
        "categorical": res.model.categorical,
        "category_levels": res.model.levels,
        "calibrator": res.model.calibrator.to_dict(),
        "best_iteration": res.model.best_iteration,
        "monotone": res.model.monotone,
        "threshold": res.threshold,
        "bands": res.bands.to_dict(),
        "label": "satisfied (csat >= 4)" if comparison.target == "csat" else "churned within horizon",
        "horizon_days": m.get("horizon_days"),
        "metrics": {k: v.to_dict() for k, v in res.metrics.items()},
        "lift": {k: v.to_dict() for k, v in (comparison.lift or {}).items()},
        "feature_set_version": m.get("feature_set_version"),
        "data_fingerprint": m.get("data_fingerprint"),
        "data_window": {"from": str(m.get("cutoff_min")), "to": str(m.get("cutoff_max"))},
        "split": comparison.split_summary,
        "notes": comparison.notes,
        "metric_names": list(METRICS),
    }
