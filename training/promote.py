"""``csat retrain``: rebuild features, train a challenger, and move ``champion`` only through the gates.

Exit codes (see :func:`exit_code`): 0 when every target was promoted or kept, 3 when a gate refused a
challenger for at least one target, 1 when a target failed with an error (that target's champion alias is then
untouched; the other targets are still retrained and reported), 2 for usage errors (bad options, a store or
tracking store that cannot be used, data too small to split, a feature that alone separates the labels: found
before anything is trained).

Order of work per target, chosen so that an error or interruption at any point leaves ``champion`` as it was:
load the current champion; when its data fingerprint and feature-set version are those of the fresh store,
keep it without training (and log the decision run); otherwise train and register the challenger (alias
``challenger`` only), score both on the same most recent holdout (the challenger's test period), evaluate the
gates, log the decision run, and only as the last step of that run move the alias.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from csat.settings import Settings
from training.data import DataLoader, FeatureCatalog, Target, load_offline
from training.drift import PSI_SEVERE
from training.evaluate import paired_lift, point_metrics
from training.pipeline import REGISTERED_NAMES, Comparison
from training.tracking import CHAMPION, RegisteredModel, load_registered, record_decision
from training.train import Calibrator, prepare_matrix
from training.workflow import TrainOptions, train_target

EXIT_OK, EXIT_ERROR, EXIT_REFUSED = 0, 1, 3
Outcome = Literal["promoted", "kept", "refused", "failed"]


@dataclass(frozen=True)
class GateConfig:
    """Thresholds of the promotion gates."""

    auc_tolerance: float = 0.005
    min_train_rows: int = 200
    min_test_rows: int = 100
    min_test_class_rows: int = 10
    psi_severe: float = PSI_SEVERE
    drift_min_share: float = 0.05
    accepted_drift: tuple[str, ...] = ()


@dataclass
class Decision:
    """The outcome of one target's retrain and why."""

    target: str
    outcome: Outcome
    challenger_version: str | None
    champion_before: str | None
    champion_after: str | None
    reasons: list[str] = field(default_factory=list)
    gates: dict[str, bool] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    def as_log(self) -> dict[str, Any]:
        """Flat description for the decision run.

        Returns:
            Dict of outcome, versions, reasons and gates.

        """
        out = asdict(self)
        out.pop("metrics")
        out["reasons"] = "; ".join(self.reasons)
        out.update({f"gate_{k}": v for k, v in self.gates.items()})
        out.pop("gates")
        return out


def score_registered(model: RegisteredModel, frame: pd.DataFrame) -> np.ndarray | None:
    """Calibrated probabilities of a registered model on store-format rows.

    Args:
        model: booster and serving spec.
        frame: rows to score.

    Returns:
        Probabilities, or ``None`` when the rows lack some of the model's features.

    """
    features = list(model.spec.get("features", []))
    if not features or any(f not in frame.columns for f in features):
        return None
    x = prepare_matrix(frame, features, model.spec.get("category_levels", {}))
    raw = np.asarray(model.booster.predict(x), dtype=float)
    return Calibrator.from_dict(model.spec.get("calibrator", {})).apply(raw)


def sanity_gates(
    comparison: Comparison, gate: GateConfig, champion_features: list[str] | None = None
) -> tuple[dict[str, bool], list[str]]:
    """Row counts, feature-set completeness and unexplained severe drift of the challenger.

    Feature sets are complete when the challenger has every feature the champion used: a source table that
    disappeared since the champion was trained (interactions, say, which takes the enriched set with it) shows
    up here, while groups missing all along do not block a retrain (an organisation without collaboration data
    retrains its baseline model like any other).

    Drift counts as severe when a feature's train-vs-holdout PSI exceeds ``psi_severe`` and the feature
    carries at least ``drift_min_share`` of the challenger's SHAP mass. Drift is measured like with like
    (training rows whose history covers the feature's window, see :func:`training.drift.drift_table`);
    features with a declared reason (the drift table's ``explained`` column) or listed in ``accepted_drift``
    are considered explained.

    Args:
        comparison: the challenger's comparison.
        gate: thresholds.
        champion_features: the current champion's features, if there is one.

    Returns:
        Gate -> passed, and the reasons of the failures.

    """
    s, reasons = comparison.split_summary, []
    y = comparison.y_test
    rows_ok = (
        int(s["train_rows"]) >= gate.min_train_rows
        and int(s["test_rows"]) >= gate.min_test_rows
        and min(int(y.sum()), int((1 - y).sum())) >= gate.min_test_class_rows
    )
    if not rows_ok:
        reasons.append(
            f"too few rows: train {s['train_rows']}, holdout {s['test_rows']} ({int(y.sum())} positive)"
        )
    res = comparison.results[comparison.champion_set]
    lost = sorted(set(champion_features or []) - set(res.model.features))
    sets_ok = not lost
    if not sets_ok:
        groups = comparison.manifest.get("groups_missing") or []
        reasons.append(
            f"feature set incomplete: sets trained {list(comparison.results)}, champion features no longer "
            f"available {lost[:10]}, groups missing {groups}"
        )
    share = res.shap.importance.set_index("feature")["share"]
    drift = res.drift.assign(share=res.drift["feature"].map(share).fillna(0.0))
    severe = drift[
        (drift["psi"] > gate.psi_severe)
        & (drift["share"] >= gate.drift_min_share)
        & ~drift["feature"].isin(gate.accepted_drift)
        & ~_explained(drift)
    ]
    if len(severe):
        listed = ", ".join(f"{r.feature} (PSI {r.psi:.2f})" for r in severe.itertuples())
        reasons.append(f"severe unexplained drift on important features: {listed}")
    return {"rows": rows_ok, "feature_sets": sets_ok, "drift": severe.empty}, reasons


def _explained(drift: pd.DataFrame) -> pd.Series:
    """Rows whose drift has a declared reason (a drift table without the column explains nothing)."""
    if "explained" not in drift.columns:
        return pd.Series(False, index=drift.index)
    return drift["explained"].fillna("").astype(str).str.len() > 0


def decide(
    comparison: Comparison,
    challenger_version: str | None,
    champion: RegisteredModel | None,
    gate: GateConfig,
) -> Decision:
    """Compare challenger and champion on the challenger's holdout and apply every gate.

    Unchanged data is decided before any challenger is trained (:func:`unchanged_since_champion`).

    Args:
        comparison: the challenger's comparison (its test period is the most recent holdout).
        challenger_version: the challenger's registered version.
        champion: the current champion, or ``None``.
        gate: thresholds.

    Returns:
        The decision (nothing is changed here).

    """
    gates, reasons = sanity_gates(comparison, gate, champion.spec.get("features") if champion else None)
    res = comparison.results[comparison.champion_set]
    metrics = {"challenger_roc_auc": res.metrics["roc_auc"].point}
    before = champion.version if champion else None
    decision = Decision(
        comparison.target, "refused", challenger_version, before, before, reasons, gates, metrics
    )
    if champion is None:
        gates["auc"] = True
        reasons.append("no champion yet")
    else:
        gates["auc"] = _auc_gate(comparison, champion, gate, metrics, reasons)
    if all(gates.values()):
        decision.outcome = "promoted"
        decision.champion_after = challenger_version
        reasons.append("all gates passed")
    return decision


def _auc_gate(
    comparison: Comparison,
    champion: RegisteredModel,
    gate: GateConfig,
    metrics: dict[str, float],
    reasons: list[str],
) -> bool:
    res = comparison.results[comparison.champion_set]
    frame = comparison_test_frame(comparison)
    p_champion = score_registered(champion, frame)
    if p_champion is None:
        reasons.append("champion cannot score the current data (features missing): challenger judged alone")
        return True
    y = comparison.y_test
    lift = paired_lift(
        y,
        p_champion,
        res.p_test,
        float(champion.spec.get("threshold", 0.5)),
        res.threshold,
        groups=frame["account_id"].to_numpy(),
        n_boot=comparison.n_boot,  # the same replicates as the comparison's intervals (--n-boot)
        seed=comparison.config.seed,
    )["roc_auc"]
    metrics.update(
        {
            "champion_roc_auc": point_metrics(y, p_champion, 0.5)["roc_auc"],
            "delta_roc_auc": lift.point,
            "delta_roc_auc_low": lift.low,
            "delta_roc_auc_high": lift.high,
        }
    )
    ok = lift.point >= -gate.auc_tolerance
    verb = "within" if ok else "beyond"
    reasons.append(
        f"challenger - champion ROC AUC on the same holdout {lift.point:+.4f} "
        f"[{lift.low:+.4f}, {lift.high:+.4f}]: {verb} tolerance {gate.auc_tolerance}"
    )
    return ok


def comparison_test_frame(comparison: Comparison) -> pd.DataFrame:
    """Return the holdout rows the comparison was tested on.

    Args:
        comparison: the comparison.

    Returns:
        Store-format rows of the test period.

    """
    return comparison.frame.iloc[comparison.split.test]


def unchanged_since_champion(champion: RegisteredModel | None, manifest: dict[str, Any]) -> bool:
    """Whether the store holds the data and feature definitions the champion was trained on.

    Args:
        champion: the current champion, or ``None``.
        manifest: the fresh store's manifest for the champion's target.

    Returns:
        True when the champion's spec records the manifest's ``data_fingerprint`` and ``feature_set_version``
        (both present): a challenger would learn nothing new.

    """
    if champion is None:
        return False
    keys = ("data_fingerprint", "feature_set_version")
    return all(manifest.get(k) and champion.spec.get(k) == manifest.get(k) for k in keys)


def kept_unchanged(target: Target, champion: RegisteredModel) -> Decision:
    """The decision for data unchanged since the champion was trained: kept, nothing trained.

    Args:
        target: ``csat`` or ``churn``.
        champion: the current champion.

    Returns:
        A ``kept`` decision with no challenger.

    """
    why = (
        f"data and feature-set version unchanged since the champion (version {champion.version}) was trained:"
        " no challenger trained, champion kept"
    )
    return Decision(target, "kept", None, champion.version, champion.version, [why])


def retrain_target(
    settings: Settings,
    target: Target,
    catalog: FeatureCatalog,
    options: TrainOptions,
    gate: GateConfig,
    loader: DataLoader = load_offline,
) -> Decision:
    """Train a challenger for one target and promote it only through the gates.

    On data unchanged since the champion was trained nothing is trained or registered: the champion is kept.

    Args:
        settings: the project settings.
        target: ``csat`` or ``churn``.
        catalog: the feature catalog.
        options: training options.
        gate: gate thresholds.
        loader: reads the target's (freshly rebuilt) offline frame.

    Returns:
        The decision, after it was logged (and, when promoting, after the alias moved).

    """
    data = loader(settings, target)
    champion = load_registered(settings, REGISTERED_NAMES[target], CHAMPION)
    if champion is not None and unchanged_since_champion(champion, data.manifest):
        decision = kept_unchanged(target, champion)
        store = {k: data.manifest.get(k) for k in ("data_fingerprint", "feature_set_version")}
        record_decision(settings, target, {**decision.as_log(), **store}, decision.metrics, None)
        return decision
    comparison, record = train_target(
        settings,
        target,
        catalog,
        options,
        loader=lambda s, t: data,
        first_becomes_champion=False,
        run_tags={"trigger": "retrain"},
    )
    decision = decide(comparison, record.version, champion, gate)
    promote = decision.champion_after if decision.outcome == "promoted" else None
    record_decision(
        settings, target, {**decision.as_log(), "n_boot": comparison.n_boot}, decision.metrics, promote
    )
    return decision


def failed(target: Target, err: Exception, before: str | None = None, after: str | None = None) -> Decision:
    """The decision of a target whose retrain stopped with an error, with where its champion is now.

    Args:
        target: ``csat`` or ``churn``.
        err: the error.
        before: the champion version before the retrain, when known.
        after: the champion version read after the error, when known.

    Returns:
        A ``failed`` decision whose reason names the target, the error and the champion's state.

    """
    state = "its champion is unchanged" if after == before else f"its champion moved to version {after}"
    why = f"{target} failed: {type(err).__name__}: {err}; {state}"
    return Decision(target, "failed", None, before, after, [why])


def exit_code(decisions: list[Decision]) -> int:
    """Process exit code for a set of decisions.

    Args:
        decisions: one per target.

    Returns:
        ``EXIT_ERROR`` (1) when any target failed, else ``EXIT_REFUSED`` (3) when any gate refused, else
        ``EXIT_OK`` (0).

    """
    outcomes = {d.outcome for d in decisions}
    if "failed" in outcomes:
        return EXIT_ERROR
    return EXIT_REFUSED if "refused" in outcomes else EXIT_OK
