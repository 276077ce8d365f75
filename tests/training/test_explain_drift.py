from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.training.synthetic import make_data
from training.data import model_feature_sets
from training.drift import psi, psi_table, severity
from training.explain import beeswarm_figure, shap_values, summarize
from training.split import time_split
from training.train import TrainConfig, fit_feature_set, sample_candidates


def test_shap_values_add_up_to_the_margin_and_shares_to_one(catalog) -> None:
    data = make_data("csat", n_accounts=60, seed=5)
    split = time_split(data.frame["as_of"])
    feats = model_feature_sets(data.manifest, catalog)["enriched"]
    cfg = TrainConfig(n_candidates=1, num_threads=1)
    model = fit_feature_set(data.frame, split, "enriched", feats, ["segment"], sample_candidates(1, 0), cfg)
    test = data.frame.iloc[split.test]
    values, base, x = shap_values(model, test)
    margin = model.booster.predict(x, num_iteration=model.best_iteration, raw_score=True)
    assert values.sum(1) + base == pytest.approx(margin, abs=1e-6)
    summary = summarize(model, test, catalog, data.manifest)
    assert summary.importance["share"].sum() == pytest.approx(1.0)
    assert summary.by_set["share"].sum() == pytest.approx(1.0)
    assert set(summary.by_group["group"]) <= {"account", "usage", "support", "engagement", "network"}
    fig = beeswarm_figure(summary)
    assert len(fig.axes) == 2  # plot + colour bar


def test_psi_is_small_for_the_same_distribution_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(0)
    a, b = pd.Series(rng.normal(0, 1, 5000)), pd.Series(rng.normal(0, 1, 5000))
    shifted = pd.Series(rng.normal(1.5, 1, 5000))
    assert psi(a, b) < 0.02 and severity(psi(a, b)) == "stable"
    assert severity(psi(a, shifted)) == "severe"
    cats = pd.Series(rng.choice(["x", "y"], 1000))
    assert psi(cats, cats.copy(), categorical=True) == pytest.approx(0.0)
    assert psi(cats, pd.Series(["z"] * 1000), categorical=True) > 1.0
    table = psi_table(
        pd.DataFrame({"a": a, "c": cats.reindex(a.index)}),
        pd.DataFrame({"a": shifted, "c": cats.reindex(a.index)}),
        ["a", "c"],
        ["c"],
    )
    assert table["feature"].iloc[0] == "a"
