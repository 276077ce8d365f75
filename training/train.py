"""LightGBM models per named feature set, tuned with one equal seeded budget, calibrated on validation."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from training.constraints import monotone_vector
from training.split import TimeSplit, account_folds

CalibrationKind = Literal["none", "platt", "isotonic"]
EPS = 1e-4


@dataclass(frozen=True)
class TrainConfig:
    """Training budget and determinism knobs; the same for every feature set.

    Churn gets smaller validation and test shares by default: both period boundaries purge a whole label
    horizon (180 days) of examples, and on a two-year history the default shares would leave no training rows.
    """

    seed: int = 42
    n_candidates: int = 8
    num_boost_round: int = 1000
    early_stopping_rounds: int = 50
    num_threads: int = 2
    cv_folds: int = 0
    valid_frac: float = 0.2
    test_frac: float = 0.2
    churn_valid_frac: float = 0.1
    churn_test_frac: float = 0.15
    shap_rows: int = 2000
    n_seeds: int = 3
    calibration: Literal["auto", "none", "platt", "isotonic"] = "auto"
    monotone: bool = True


@dataclass(frozen=True)
class Calibrator:
    """A probability map fitted on the validation period; JSON-friendly so serving can apply it as is.

    ``isotonic`` interpolates linearly between (x, y) knots (clipped at the ends); ``platt`` is
    ``sigmoid(a * logit(p) + b)``. Every output is clipped to [EPS, 1 - EPS].
    """

    kind: CalibrationKind = "none"
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()
    a: float = 1.0
    b: float = 0.0

    def apply(self, p: np.ndarray) -> np.ndarray:
        """Map raw probabilities to calibrated ones.

        Args:
            p: raw model probabilities.

        Returns:
            Calibrated probabilities.

        """
        p = np.asarray(p, dtype=float)
        if self.kind == "isotonic":
            out = np.interp(p, np.asarray(self.x), np.asarray(self.y))
        elif self.kind == "platt":
            out = 1.0 / (1.0 + np.exp(-(self.a * _logit(p) + self.b)))
        else:
            out = p
        return np.clip(out, EPS, 1.0 - EPS)

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> Calibrator:
        """Rebuild a calibrator from :meth:`to_dict` output.

        Args:
            spec: the serialised calibrator.

        Returns:
            The calibrator.

        """
        return cls(
            spec.get("kind", "none"),
            tuple(spec.get("x", ())),
            tuple(spec.get("y", ())),
            float(spec.get("a", 1.0)),
            float(spec.get("b", 0.0)),
        )

    def to_dict(self) -> dict[str, Any]:
        """Serialise for the model's serving spec.

        Returns:
            A JSON-friendly dict.

        """
        return {"kind": self.kind, "x": list(self.x), "y": list(self.y), "a": self.a, "b": self.b, "eps": EPS}


@dataclass
class FittedModel:
    """One feature set's model: native booster (for SHAP), its calibrator and what produced it."""

    feature_set: str
    features: list[str]
    categorical: list[str]
    levels: dict[str, list[str]]
    booster: lgb.Booster
    params: dict[str, Any]
    best_iteration: int
    calibrator: Calibrator
    search: list[dict[str, Any]] = field(default_factory=list)
    calibration_scores: dict[str, float] = field(default_factory=dict)
    monotone: dict[str, int] = field(default_factory=dict)

    def matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Build this model's input matrix from a frame in the store's format.

        Args:
            frame: rows with (at least) this model's feature columns.

        Returns:
            Numeric columns as float64, categorical ones as pandas category with the training levels.

        """
        return prepare_matrix(frame, self.features, self.levels)

    def predict_raw(self, frame: pd.DataFrame) -> np.ndarray:
        """Uncalibrated booster probabilities.

        Args:
            frame: rows in the store's format.

        Returns:
            Probability of label 1 per row.

        """
        raw = self.booster.predict(self.matrix(frame), num_iteration=self.best_iteration)
        return np.asarray(raw, dtype=float)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities.

        Args:
            frame: rows in the store's format.

        Returns:
            Calibrated probability of label 1 per row.

        """
        return self.calibrator.apply(self.predict_raw(frame))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1.0 - EPS)
    return np.log(p / (1.0 - p))


def category_levels(frame: pd.DataFrame, categorical: list[str]) -> dict[str, list[str]]:
    """Sorted levels seen in the training rows of each categorical column.

    Args:
        frame: training rows.
        categorical: categorical column names.

    Returns:
        Column -> sorted list of levels (strings).

    """
    return {c: sorted(frame[c].dropna().astype(str).unique().tolist()) for c in categorical}


def prepare_matrix(frame: pd.DataFrame, features: list[str], levels: dict[str, list[str]]) -> pd.DataFrame:
    """Model matrix: numbers (including ints and bools) as float64, categories with fixed levels.

    Levels not seen in training become missing, which LightGBM routes like any missing value.

    Args:
        frame: rows in the store's format.
        features: the model's feature columns, in order.
        levels: categorical column -> training levels.

    Returns:
        A new frame with exactly ``features`` as columns.

    """
    cols: dict[str, pd.Series] = {}
    for name in features:
        col = frame[name]
        if name in levels:
            values = pd.Categorical(col.astype("string"), categories=levels[name])
            cols[name] = pd.Series(values, index=frame.index)
        else:
            cols[name] = pd.to_numeric(col, errors="raise").astype("float64")
    return pd.DataFrame(cols, index=frame.index)


def sample_candidates(n: int, seed: int) -> list[dict[str, Any]]:
    """Draw the random-search candidates once, so every feature set gets the very same budget.

    Args:
        n: number of candidates (the first is a sensible default).
        seed: random seed.

    Returns:
        LightGBM parameter dicts (without the fixed determinism parameters).

    """
    rng = np.random.default_rng(seed)
    out = [
        {
            "learning_rate": 0.05,
            "num_leaves": 15,
            "min_data_in_leaf": 40,
            "feature_fraction": 0.9,
            "bagging_fraction": 0.9,
            "lambda_l2": 1.0,
        }
    ]
    for _ in range(max(0, n - 1)):
        out.append(
            {
                "learning_rate": float(np.round(10 ** rng.uniform(-1.7, -0.9), 4)),
                "num_leaves": int(rng.choice([7, 15, 31, 63])),
                "min_data_in_leaf": int(rng.choice([20, 40, 80, 160])),
                "feature_fraction": float(np.round(rng.uniform(0.6, 1.0), 2)),
                "bagging_fraction": float(np.round(rng.uniform(0.6, 1.0), 2)),
                "lambda_l2": float(np.round(10 ** rng.uniform(-2, 1), 4)),
            }
        )
    return out[:n]


def fixed_params(config: TrainConfig) -> dict[str, Any]:
    """Parameters every fit shares: objective, determinism and threads.

    Args:
        config: training configuration.

    Returns:
        LightGBM parameters.

    """
    return {
        "objective": "binary",
        "metric": "binary_logloss",
        "seed": config.seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": config.num_threads,
        "bagging_freq": 1,
        "verbose": -1,
    }


def monotone_params(monotone: dict[str, int] | None, features: list[str]) -> dict[str, Any]:
    """LightGBM parameters enforcing the declared monotone directions (empty when there are none).

    Args:
        monotone: feature -> direction (+1 / -1).
        features: the model's feature columns, in order.

    Returns:
        ``monotone_constraints`` aligned with ``features``, or an empty dict.

    """
    if not monotone:
        return {}
    return {"monotone_constraints": monotone_vector(monotone, features)}


def _fit(
    params: dict[str, Any],
    x_fit: pd.DataFrame,
    y_fit: np.ndarray,
    x_stop: pd.DataFrame,
    y_stop: np.ndarray,
    config: TrainConfig,
) -> tuple[lgb.Booster, int, float]:
    """One early-stopped fit; returns the booster, its best iteration and the stopping-set log loss."""
    train_set = lgb.Dataset(x_fit, label=y_fit, categorical_feature="auto", free_raw_data=False)
    stop_set = lgb.Dataset(x_stop, label=y_stop, reference=train_set)
    booster = lgb.train(
        params,
        train_set,
        num_boost_round=config.num_boost_round,
        valid_sets=[stop_set],
        valid_names=["valid"],
        callbacks=[lgb.early_stopping(config.early_stopping_rounds, verbose=False)],
    )
    best = int(booster.best_iteration or booster.current_iteration())
    return booster, best, float(booster.best_score["valid"]["binary_logloss"])


def _cv_score(
    params: dict[str, Any], x: pd.DataFrame, y: np.ndarray, accounts: np.ndarray, config: TrainConfig
) -> float:
    """Mean held-out log loss over account-grouped folds of the training period."""
    scores = []
    for fit_idx, score_idx in account_folds(y, accounts, config.cv_folds, config.seed):
        _, _, loss = _fit(params, x.iloc[fit_idx], y[fit_idx], x.iloc[score_idx], y[score_idx], config)
        scores.append(loss)
    return float(np.mean(scores))


def fit_calibrator(p: np.ndarray, y: np.ndarray, kind: CalibrationKind) -> Calibrator:
    """Fit a calibrator of the given kind on (raw probability, label) pairs.

    Args:
        p: raw probabilities.
        y: 0/1 labels.
        kind: ``none``, ``platt`` or ``isotonic``.

    Returns:
        The fitted calibrator.

    """
    if kind == "platt":
        lr = LogisticRegression(C=1e6, max_iter=1000).fit(_logit(p).reshape(-1, 1), y)
        return Calibrator("platt", a=float(lr.coef_[0, 0]), b=float(lr.intercept_[0]))
    if kind == "isotonic":
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, y)
        return Calibrator(
            "isotonic", x=tuple(map(float, iso.X_thresholds_)), y=tuple(map(float, iso.y_thresholds_))
        )
    return Calibrator()


def choose_calibrator(
    p: np.ndarray, y: np.ndarray, accounts: np.ndarray, config: TrainConfig
) -> tuple[Calibrator, dict[str, float]]:
    """Pick the calibration that helps on validation, judged by 2-fold account-grouped cross-fitting.

    Each option is fitted on one half of the validation accounts and scored (log loss) on the other, so
    isotonic regression cannot win by memorising the rows it is scored on. ``none`` is kept unless an option
    improves the cross-fitted log loss.

    Args:
        p: raw validation probabilities.
        y: validation labels.
        accounts: validation account ids.
        config: training configuration (``calibration`` may force a kind).

    Returns:
        The calibrator fitted on the whole validation period and the cross-fitted log loss per option.

    """
    kinds: tuple[CalibrationKind, ...] = ("none", "platt", "isotonic")
    scores: dict[str, float] = {}
    if len(np.unique(y)) == 2 and len(np.unique(accounts)) >= 4:
        folds = account_folds(y, accounts, 2, config.seed)
        for kind in kinds:
            out = np.empty(len(p))
            for fit_idx, score_idx in folds:
                out[score_idx] = fit_calibrator(p[fit_idx], y[fit_idx], kind).apply(p[score_idx])
            scores[kind] = float(log_loss(y, out, labels=[0, 1]))
    if config.calibration != "auto":
        chosen: CalibrationKind = config.calibration
    elif scores:
        chosen = min(kinds, key=lambda k: scores[k])
        if scores[chosen] > scores["none"] - 1e-4:
            chosen = "none"
    else:
        chosen = "none"
    return fit_calibrator(p, y, chosen), scores


def fit_feature_set(
    frame: pd.DataFrame,
    split: TimeSplit,
    feature_set: str,
    features: list[str],
    categorical: list[str],
    candidates: list[dict[str, Any]],
    config: TrainConfig,
    monotone: dict[str, int] | None = None,
) -> FittedModel:
    """Tune (random search over ``candidates``), fit and calibrate one feature set's model.

    Candidates are scored by early-stopped validation log loss (or by account-grouped CV inside the
    training period when ``config.cv_folds`` > 1); the best one is refitted with early stopping on the
    validation period. The test period is never touched here.

    Args:
        frame: the whole labelled frame (store format).
        split: the time split (positions into ``frame``).
        feature_set: the model feature-set name.
        features: its feature columns.
        categorical: the categorical columns among ``features``.
        candidates: search candidates (identical for every feature set).
        config: training configuration.
        monotone: declared monotone directions by feature (see :mod:`training.constraints`); applied to every
            candidate and to the final fit alike.

    Returns:
        The fitted model.

    Raises:
        ValueError: the feature set is empty.

    """
    if not features:
        raise ValueError(f"feature set {feature_set!r} has no available features")
    train, valid = frame.iloc[split.train], frame.iloc[split.valid]
    cats = [c for c in features if c in set(categorical)]
    levels = category_levels(train, cats)
    x_tr, x_va = prepare_matrix(train, features, levels), prepare_matrix(valid, features, levels)
    y_tr, y_va = train["label"].to_numpy(int), valid["label"].to_numpy(int)
    monotone = {f: d for f, d in (monotone or {}).items() if f in set(features)}
    base = {**fixed_params(config), **monotone_params(monotone, list(features))}
    search = []
    for i, cand in enumerate(candidates):
        params = {**base, **cand}
        if config.cv_folds > 1:
            score = _cv_score(params, x_tr, y_tr, train["account_id"].to_numpy(), config)
            iteration = -1
        else:
            _, iteration, score = _fit(params, x_tr, y_tr, x_va, y_va, config)
        search.append({"candidate": i, **cand, "score_logloss": score, "best_iteration": iteration})
    best = min(search, key=lambda r: (r["score_logloss"], r["candidate"]))
    params = {**base, **candidates[best["candidate"]]}
    booster, best_iteration, _ = _fit(params, x_tr, y_tr, x_va, y_va, config)
    params.pop("monotone_constraints", None)
    p_valid = np.asarray(booster.predict(x_va, num_iteration=best_iteration), dtype=float)
    calibrator, cal_scores = choose_calibrator(p_valid, y_va, valid["account_id"].to_numpy(), config)
    return FittedModel(
        feature_set=feature_set,
        features=list(features),
        categorical=cats,
        levels=levels,
        booster=booster,
        params=params,
        best_iteration=best_iteration,
        calibrator=calibrator,
        search=search,
        calibration_scores=cal_scores,
        monotone=monotone,
    )


def refit_with_seed(
    frame: pd.DataFrame, split: TimeSplit, model: FittedModel, seed: int, config: TrainConfig
) -> FittedModel:
    """Refit a tuned model's chosen parameters with another random seed (bagging and feature sampling).

    Used to measure how much of a comparison is fitting noise: the search is not repeated, only the fit
    and its calibration.

    Args:
        frame: the whole labelled frame (store format).
        split: the time split (positions into ``frame``).
        model: the tuned model whose parameters, features and constraints are reused.
        seed: the new random seed.
        config: training configuration.

    Returns:
        The refitted model (with an empty search record).

    """
    train, valid = frame.iloc[split.train], frame.iloc[split.valid]
    x_tr = prepare_matrix(train, model.features, model.levels)
    x_va = prepare_matrix(valid, model.features, model.levels)
    y_tr, y_va = train["label"].to_numpy(int), valid["label"].to_numpy(int)
    params = {**model.params, **monotone_params(model.monotone, model.features), "seed": seed}
    booster, best_iteration, _ = _fit(params, x_tr, y_tr, x_va, y_va, config)
    params.pop("monotone_constraints", None)
    p_valid = np.asarray(booster.predict(x_va, num_iteration=best_iteration), dtype=float)
    calibrator, cal_scores = choose_calibrator(p_valid, y_va, valid["account_id"].to_numpy(), config)
    return replace(
        model,
        booster=booster,
        params=params,
        best_iteration=best_iteration,
        calibrator=calibrator,
        search=[],
        calibration_scores=cal_scores,
    )
