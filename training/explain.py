"""SHAP explanations from LightGBM's exact tree contributions (``pred_contrib``), summed per set and group."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from training.data import FeatureCatalog
from training.train import FittedModel


@dataclass
class ShapSummary:
    """SHAP values (log-odds of the uncalibrated booster) on some rows, with their aggregates."""

    values: np.ndarray
    base_value: float
    matrix: pd.DataFrame
    importance: pd.DataFrame
    by_set: pd.DataFrame
    by_group: pd.DataFrame

    def share_of(self, feature_set: str) -> float:
        """Share of the mean absolute SHAP mass carried by one catalog feature set.

        Args:
            feature_set: e.g. ``collaboration``.

        Returns:
            A share in [0, 1] (0 when the set has no feature in the model).

        """
        row = self.by_set[self.by_set["feature_set"] == feature_set]
        return float(row["share"].iloc[0]) if len(row) else 0.0


def shap_values(model: FittedModel, frame: pd.DataFrame) -> tuple[np.ndarray, float, pd.DataFrame]:
    """Exact TreeSHAP contributions per row and feature.

    Args:
        model: the fitted model.
        frame: rows in the store's format.

    Returns:
        (values of shape (n, k), expected value, the model matrix the values explain).

    """
    x = model.matrix(frame)
    contrib = model.booster.predict(x, num_iteration=model.best_iteration, pred_contrib=True)
    contrib = np.asarray(contrib)
    return contrib[:, :-1], float(contrib[0, -1]) if len(contrib) else 0.0, x


def summarize(
    model: FittedModel, frame: pd.DataFrame, catalog: FeatureCatalog, manifest: dict[str, Any] | None = None
) -> ShapSummary:
    """Global importance (mean |SHAP|), and its sum per catalog feature set and per feature group.

    Args:
        model: the fitted model.
        frame: rows to explain (the test period).
        catalog: the feature catalog (groups, sets and descriptions).
        manifest: the store manifest (describes features the catalog does not declare).

    Returns:
        The summary.

    """
    values, base, x = shap_values(model, frame)
    mean_abs = np.abs(values).mean(axis=0) if len(values) else np.zeros(len(model.features))
    infos = [catalog.info(f, manifest) for f in model.features]
    total = float(mean_abs.sum()) or 1.0
    importance = pd.DataFrame(
        {
            "feature": model.features,
            "mean_abs_shap": mean_abs,
            "share": mean_abs / total,
            "group": [i.group for i in infos],
            "feature_set": [i.feature_set for i in infos],
            "description": [i.description for i in infos],
        }
    ).sort_values("mean_abs_shap", ascending=False, kind="mergesort", ignore_index=True)

    def by(col: str) -> pd.DataFrame:
        out = importance.groupby(col, as_index=False)[["mean_abs_shap", "share"]].sum()
        return out.sort_values("share", ascending=False, ignore_index=True)

    return ShapSummary(values, base, x, importance, by("feature_set"), by("group"))


def _colour_values(column: pd.Series) -> np.ndarray:
    """Feature values as percentile ranks in [0, 1] for colouring (categories by code); NaN stays NaN."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        v = column.cat.codes.astype(float).replace(-1.0, np.nan)
    else:
        v = column
    return pd.Series(v, dtype=float).rank(pct=True).to_numpy()


def beeswarm_figure(summary: ShapSummary, max_display: int = 15, seed: int = 0) -> Figure:
    """Beeswarm-style plot: one row per top feature, SHAP value on x, coloured by the feature's value.

    Args:
        summary: the SHAP summary.
        max_display: number of features shown.
        seed: jitter seed.

    Returns:
        A matplotlib figure (no pyplot state involved).

    """
    top = summary.importance["feature"].head(max_display).tolist()[::-1]
    fig = Figure(figsize=(8, 0.4 * len(top) + 1.5))
    ax = fig.add_subplot()
    rng = np.random.default_rng(seed)
    cols = {f: i for i, f in enumerate(summary.matrix.columns)}
    scatter = None
    for row, feat in enumerate(top):
        vals = summary.values[:, cols[feat]]
        colour = _colour_values(summary.matrix[feat])
        jitter = rng.normal(0, 0.08, len(vals))
        scatter = ax.scatter(vals, row + jitter, c=colour, cmap="coolwarm", s=6, alpha=0.6, vmin=0, vmax=1)
    ax.set_yticks(range(len(top)), top)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel("SHAP value (impact on log-odds of label 1)")
    if scatter is not None:
        fig.colorbar(scatter, ax=ax, label="feature value (percentile)")
    fig.tight_layout()
    return fig


def share_figure(summary: ShapSummary, column: str = "group") -> Figure:
    """Horizontal bar chart of the importance share per group (or per feature set).

    Args:
        summary: the SHAP summary.
        column: ``group`` or ``feature_set``.

    Returns:
        A matplotlib figure.

    """
    table = summary.by_group if column == "group" else summary.by_set
    table = table.iloc[::-1]
    fig = Figure(figsize=(7, 0.4 * len(table) + 1.5))
    ax = fig.add_subplot()
    ax.barh(table[column].astype(str), table["share"])
    ax.set_xlabel("share of mean |SHAP|")
    fig.tight_layout()
    return fig
