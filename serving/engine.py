"""Scoring without any web framework: matrices, calibrated probabilities, bands and TreeSHAP contributions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from serving.explain import Words, feature_words
from serving.models import ServedModel

EPS_DEFAULT = 1e-6
BAND_ORDER = {"low": 0, "medium": 1, "high": 2}


@dataclass(frozen=True)
class Layout:
    """Where each feature goes in a model's input array."""

    features: list[str]
    numeric: list[str]
    numeric_idx: list[int]
    categorical: list[tuple[int, str, dict[str, float]]]


def _layout(spec: dict[str, Any]) -> Layout:
    feats = list(spec["features"])
    levels: dict[str, list[str]] = spec.get("category_levels", {})
    numeric_idx = [j for j, f in enumerate(feats) if f not in levels]
    cats = [
        (j, f, {str(v): float(k) for k, v in enumerate(levels[f])})
        for j, f in enumerate(feats)
        if f in levels
    ]
    return Layout(feats, [feats[j] for j in numeric_idx], numeric_idx, cats)


@dataclass(frozen=True)
class ModelResult:
    """One model's answer for a batch of rows."""

    probability: np.ndarray
    risk: np.ndarray
    band: np.ndarray
    contributions: np.ndarray
    base_value: np.ndarray
    raw_score: np.ndarray


def calibrate(p: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    """Apply training's published calibrator (isotonic knots or Platt) to raw probabilities.

    Args:
        p: raw booster probabilities.
        spec: the ``calibrator`` entry of the serving spec.

    Returns:
        Calibrated probabilities, clipped like training clips them.

    """
    eps = float(spec.get("eps", EPS_DEFAULT))
    kind = spec.get("kind", "none")
    if kind == "isotonic" and spec.get("x"):
        out = np.interp(p, np.asarray(spec["x"], dtype=float), np.asarray(spec["y"], dtype=float))
    elif kind == "platt":
        q = np.clip(p, eps, 1.0 - eps)
        out = 1.0 / (1.0 + np.exp(-(float(spec["a"]) * np.log(q / (1.0 - q)) + float(spec["b"]))))
    else:
        out = p
    return np.clip(out, eps, 1.0 - eps)


def risk_and_band(p: np.ndarray, bands: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Risk score (``p`` or ``1 - p`` as training declared) and its band from training's cut points.

    Args:
        p: calibrated probabilities of label 1.
        bands: the ``bands`` entry of the serving spec.

    Returns:
        Risk per row and ``low``/``medium``/``high`` per row.

    """
    risk = 1.0 - p if str(bands.get("risk", "p")).startswith("1") else p
    high, medium = float(bands["high"]), float(bands["medium"])
    return risk, np.where(risk >= high, "high", np.where(risk >= medium, "medium", "low"))


class Scorer:
    """Both served models over one shared input: build the matrices, predict, explain."""

    def __init__(self, models: dict[str, ServedModel], manifest: dict[str, Any] | None = None) -> None:
        self.models = models
        names: list[str] = []
        for m in models.values():
            names += [f for f in m.spec["features"] if f not in names]
        self.features: list[str] = names
        self.categorical: set[str] = {c for m in models.values() for c in m.spec.get("categorical", [])}
        self.words: dict[str, Words] = feature_words(names, manifest)
        self.layouts = {role: _layout(m.spec) for role, m in models.items()}
        self.levels: dict[str, list[str]] = known_levels(models)

    def array(self, role: str, frame: pd.DataFrame) -> np.ndarray:
        """The fast input: one float matrix, categories as their training codes (as LightGBM codes them)."""
        layout = self.layouts[role]
        sub = frame.reindex(columns=layout.features)
        out = np.empty((len(frame), len(layout.features)), dtype=np.float64)
        out[:, layout.numeric_idx] = sub[layout.numeric].to_numpy(dtype=np.float64, na_value=np.nan)
        for j, name, codes in layout.categorical:
            out[:, j] = sub[name].map(codes).to_numpy(dtype=np.float64, na_value=np.nan)
        return out

    def matrix(self, model: ServedModel, frame: pd.DataFrame) -> pd.DataFrame:
        """The model's input matrix: numbers as float64, categories with the training levels."""
        levels: dict[str, list[str]] = model.spec.get("category_levels", {})
        cols: dict[str, Any] = {}
        for name in model.spec["features"]:
            col = frame[name] if name in frame.columns else pd.Series(np.nan, index=frame.index)
            if name in levels:
                cols[name] = pd.Categorical(col.astype("string"), categories=levels[name])
            else:
                cols[name] = pd.to_numeric(col, errors="coerce").astype("float64")
        return pd.DataFrame(cols, index=frame.index)

    def predict(self, role: str, frame: pd.DataFrame, x: np.ndarray | None = None) -> ModelResult:
        """Calibrated probability, band and TreeSHAP contributions (log-odds) of one model.

        Args:
            role: which model.
            frame: rows in the store's format.
            x: the rows' input array when already built (see :meth:`array`).

        Returns:
            The model's answer for every row.

        """
        model = self.models[role]
        x = self.array(role, frame) if x is None else x
        contrib = np.asarray(model.booster.predict(x, pred_contrib=True, num_threads=1))
        raw = contrib.sum(axis=1)
        p = calibrate(1.0 / (1.0 + np.exp(-raw)), model.spec.get("calibrator", {}))
        risk, band = risk_and_band(p, model.spec["bands"])
        return ModelResult(p, risk, band, contrib[:, :-1], contrib[:, -1], raw)

    def score(
        self, frame: pd.DataFrame, arrays: dict[str, np.ndarray] | None = None
    ) -> dict[str, ModelResult]:
        """Every served model on the same rows (``arrays``: prebuilt inputs per model)."""
        return {role: self.predict(role, frame, (arrays or {}).get(role)) for role in self.models}

    def missing(self, frame: pd.DataFrame) -> list[list[str]]:
        """Per row, the model features that are missing (absent or NaN)."""
        present = frame.reindex(columns=self.features)
        mask = present.isna().to_numpy()
        return [[self.features[j] for j in np.flatnonzero(row)] for row in mask]


def known_levels(models: dict[str, ServedModel]) -> dict[str, list[str]]:
    """Per categorical feature, the categories every model using it was trained with (in training order)."""
    out: dict[str, list[str]] = {}
    for m in models.values():
        for name, levels in (m.spec.get("category_levels") or {}).items():
            mine = [str(v) for v in levels]
            out[name] = [v for v in out[name] if v in mine] if name in out else mine
    return out


def combined_band(results: dict[str, ModelResult]) -> np.ndarray:
    """The account's risk band: the worse of the models' bands."""
    ranks = np.max([np.vectorize(BAND_ORDER.get)(r.band) for r in results.values()], axis=0)
    names = np.array(["low", "medium", "high"])
    return names[ranks]


def risk_rank_key(results: dict[str, ModelResult]) -> np.ndarray:
    """Ranking key for the at-risk list: band first, then the larger model risk."""
    band = np.vectorize(BAND_ORDER.get)(combined_band(results)).astype(float)
    risk = np.max([r.risk for r in results.values()], axis=0)
    return band * 10.0 + risk
