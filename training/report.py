"""The comparison report (Markdown and HTML) and the per-run artifact bundles (figures, tables, JSON)."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from training.evaluate import LOWER_IS_BETTER, METRICS, Interval
from training.explain import beeswarm_figure, share_figure
from training.pipeline import BASE_SET, NEW_SET, Comparison, serving_spec
from training.plots import calibration_figure, confusion_figure, roc_pr_figure

Block = str | pd.DataFrame


def _fmt(iv: Interval | None) -> str:
    if iv is None:
        return "-"
    return f"{iv.point:.3f} [{iv.low:.3f}, {iv.high:.3f}]"


def metrics_table(comparison: Comparison) -> pd.DataFrame:
    """Test metrics of every model (and the oracle) with 95 % intervals, plus the paired lift.

    Args:
        comparison: the comparison.

    Returns:
        One row per metric.

    """
    rows = []
    for m in METRICS:
        row = {"metric": m + (" (lower is better)" if m in LOWER_IS_BETTER else "")}
        for name, res in comparison.results.items():
            row[name] = _fmt(res.metrics[m])
        if comparison.lift is not None:
            row["lift (enriched - baseline, paired)"] = _fmt(comparison.lift[m])
        if comparison.oracle is not None:
            row["oracle (true probability)"] = _fmt(comparison.oracle[m])
        rows.append(row)
    return pd.DataFrame(rows)


def _drivers(comparison: Comparison, n: int = 8) -> dict[str, pd.DataFrame]:
    out = {}
    for name, res in comparison.results.items():
        top = res.shap.importance.head(n)
        out[name] = top[["feature", "description", "group", "feature_set", "share"]].assign(
            share=lambda d: d["share"].map(lambda v: f"{v:.1%}")
        )
    return out


def report_sections(comparison: Comparison) -> list[tuple[str, list[Block]]]:
    """Assemble the report's content, independent of the output format.

    Args:
        comparison: the comparison.

    Returns:
        (heading, blocks) pairs; a block is a paragraph or a table.

    """
    c, s = comparison, comparison.split_summary
    intro = (
        f"Target **{c.target}** ({c.registered_name}); feature-set version "
        f"`{c.manifest.get('feature_set_version')}`, "
        f"data fingerprint `{c.manifest.get('data_fingerprint')}`. "
        f"Train {s['train_from']}..{s['train_to']} ({s['train_rows']} rows), validation {s['valid_from']}.."
        f"{s['valid_to']} ({s['valid_rows']}), test {s['test_from']}..{s['test_to']} ({s['test_rows']}); "
        f"purged for label overlap: {s['purged_train']} train, {s['purged_valid']} validation rows. "
        "Intervals: 95 % account-cluster bootstrap percentile intervals (bias-shifted) on the test period."
    )
    sections: list[tuple[str, list[Block]]] = [
        ("Summary", [intro, *c.notes]),
        ("Test metrics", [metrics_table(c)]),
    ]
    if c.lift is not None:
        auc = c.lift["roc_auc"]
        verdict = "excludes 0" if auc.low > 0 or auc.high < 0 else "includes 0"
        share = c.results[NEW_SET].shap.share_of("collaboration")
        sections.append(
            (
                "Lift from collaboration signals",
                [
                    f"ROC AUC lift {_fmt(auc)}: the interval {verdict}. "
                    f"Collaboration features carry {share:.1%} of the enriched model's mean |SHAP|."
                ],
            )
        )
    calib = pd.DataFrame(
        [
            {
                "model": name,
                "calibration": r.model.calibrator.kind,
                "valid ECE before": f"{r.valid_ece['before']:.4f}",
                "valid ECE after": f"{r.valid_ece['after']:.4f}",
                "test ECE before": f"{r.raw_metrics['ece']:.4f}",
                "test ECE after": f"{r.metrics['ece'].point:.4f}",
                "threshold": f"{r.threshold:.4f}",
            }
            for name, r in c.results.items()
        ]
    )
    sections.append(("Calibration and decision threshold (chosen on validation)", [calib]))
    for name, table in _drivers(c).items():
        sections.append((f"Top drivers - {name}", [table]))
    for name, r in c.results.items():
        sections.append((f"Share of prediction by group - {name}", [r.shap.by_group.round(4)]))
    drift = c.results[c.champion_set].drift.head(10).round(4)
    sections.append(("Drift (PSI train vs test) - most drifted features", [drift]))
    return sections


def _md_table(df: pd.DataFrame) -> str:
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def render_markdown(comparison: Comparison) -> str:
    """Render the comparison report as Markdown.

    Args:
        comparison: the comparison.

    Returns:
        Markdown text.

    """
    parts = [f"# Baseline vs enriched vs oracle - {comparison.target}"]
    for heading, blocks in report_sections(comparison):
        parts.append(f"## {heading}")
        parts += [_md_table(b) if isinstance(b, pd.DataFrame) else b for b in blocks]
    return "\n\n".join(parts) + "\n"


def render_html(comparison: Comparison) -> str:
    """Render the comparison report as a standalone HTML page.

    Args:
        comparison: the comparison.

    Returns:
        HTML text.

    """
    title = f"Baseline vs enriched vs oracle - {comparison.target}"
    parts = [f"<h1>{html.escape(title)}</h1>"]
    for heading, blocks in report_sections(comparison):
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        for b in blocks:
            if isinstance(b, pd.DataFrame):
                parts.append(b.to_html(index=False, border=0))
            else:
                parts.append(f"<p>{html.escape(b).replace('**', '')}</p>")
    style = (
        "body{font-family:sans-serif;max-width:70em;margin:2em auto}table{border-collapse:collapse}"
        "td,th{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:left}"
    )
    body = "\n".join(parts)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>{body}</body></html>\n"
    )


def child_artifacts(comparison: Comparison, name: str) -> dict[str, Any]:
    """Files of one feature set's run: figures, tables and the serving spec.

    Args:
        comparison: the comparison.
        name: the feature set.

    Returns:
        Relative path -> Figure, DataFrame, dict (JSON) or str.

    """
    r, y = comparison.results[name], comparison.y_test
    return {
        "plots/shap_beeswarm.png": beeswarm_figure(r.shap),
        "plots/shap_share_by_group.png": share_figure(r.shap, "group"),
        "plots/roc_pr.png": roc_pr_figure(y, {name: r.p_test}),
        "plots/calibration.png": calibration_figure(
            y, {"uncalibrated": r.p_test_raw, "calibrated": r.p_test}
        ),
        "plots/confusion_matrix.png": confusion_figure(y, r.p_test, r.threshold),
        "tables/feature_importance.csv": r.shap.importance,
        "tables/shap_by_group.csv": r.shap.by_group,
        "tables/shap_by_feature_set.csv": r.shap.by_set,
        "tables/drift_psi.csv": r.drift,
        "tables/risk_bands_test.csv": r.bands_test.reset_index(),
        "tables/search.csv": pd.DataFrame(r.model.search),
        "serving/spec.json": serving_spec(comparison, name),
    }


def parent_artifacts(comparison: Comparison) -> dict[str, Any]:
    """Files of the comparison (parent) run: the report in two formats and the side-by-side curves.

    Args:
        comparison: the comparison.

    Returns:
        Relative path -> Figure, DataFrame or str.

    """
    probs = {name: r.p_test for name, r in comparison.results.items()}
    out: dict[str, Any] = {
        "report/comparison.md": render_markdown(comparison),
        "report/comparison.html": render_html(comparison),
        "report/metrics.csv": metrics_table(comparison),
        "plots/roc_pr_all.png": roc_pr_figure(comparison.y_test, probs),
        "plots/calibration_all.png": calibration_figure(comparison.y_test, probs),
    }
    if BASE_SET in comparison.results and NEW_SET in comparison.results:
        out["report/lift.json"] = {m: iv.to_dict() for m, iv in (comparison.lift or {}).items()}
    return out
