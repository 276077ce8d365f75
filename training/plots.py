"""Evaluation figures (ROC and PR curves, calibration curve, confusion matrix), built without pyplot."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import confusion_matrix, precision_recall_curve, roc_curve


def roc_pr_figure(y: np.ndarray, probabilities: dict[str, np.ndarray]) -> Figure:
    """ROC and precision-recall curves of several models on the same rows.

    Args:
        y: labels.
        probabilities: model name -> probabilities.

    Returns:
        A two-panel figure.

    """
    fig = Figure(figsize=(11, 4.5))
    roc_ax, pr_ax = fig.subplots(1, 2)
    for name, p in probabilities.items():
        fpr, tpr, _ = roc_curve(y, p)
        prec, rec, _ = precision_recall_curve(y, p)
        roc_ax.plot(fpr, tpr, label=name)
        pr_ax.plot(rec, prec, label=name)
    roc_ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8)
    roc_ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    pr_ax.axhline(float(np.mean(y)), ls="--", color="grey", lw=0.8)
    pr_ax.set(xlabel="recall", ylabel="precision", title="Precision-recall")
    roc_ax.legend(loc="lower right")
    pr_ax.legend(loc="lower left")
    fig.tight_layout()
    return fig


def calibration_figure(y: np.ndarray, probabilities: dict[str, np.ndarray], bins: int = 10) -> Figure:
    """Reliability diagram: mean predicted vs observed rate in equal-width bins.

    Args:
        y: labels.
        probabilities: curve name -> probabilities.
        bins: number of bins.

    Returns:
        The figure.

    """
    fig = Figure(figsize=(5.5, 5))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8)
    for name, p in probabilities.items():
        idx = np.minimum((np.asarray(p) * bins).astype(int), bins - 1)
        keep = np.bincount(idx, minlength=bins) > 0
        mean_p = np.bincount(idx, weights=p, minlength=bins)[keep] / np.bincount(idx, minlength=bins)[keep]
        rate = np.bincount(idx, weights=y, minlength=bins)[keep] / np.bincount(idx, minlength=bins)[keep]
        ax.plot(mean_p, rate, marker="o", label=name)
    ax.set(xlabel="mean predicted probability", ylabel="observed rate", title="Calibration (test)")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


def confusion_figure(y: np.ndarray, p: np.ndarray, threshold: float) -> Figure:
    """Confusion matrix at the decision threshold.

    Args:
        y: labels.
        p: probabilities.
        threshold: decision threshold.

    Returns:
        The figure.

    """
    cm = confusion_matrix(y, (np.asarray(p) >= threshold).astype(int), labels=[0, 1])
    fig = Figure(figsize=(4.5, 4))
    ax = fig.add_subplot()
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center", color="black")
    ax.set_xticks([0, 1], ["pred 0", "pred 1"])
    ax.set_yticks([0, 1], ["true 0", "true 1"])
    ax.set_title(f"Confusion matrix @ {threshold:.3f}")
    fig.tight_layout()
    return fig
