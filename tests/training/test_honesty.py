"""Honesty of the real pipeline on small simulated worlds: no lift where there is none, lift where it exists.

Each world is simulated, its feature store built by the real builder, and both targets compared with the same
code as ``csat train`` (MLflow aside). Sized by :mod:`tests.training.honest_world` to stay within minutes.
"""

from __future__ import annotations

import pytest

from tests.training.honest_world import CONFIG, N_BOOT, World
from training.data import OfflineData, load_catalog
from training.pipeline import LeakageError, compare

pytestmark = [pytest.mark.slow, pytest.mark.calibration]

ORACLE_GAP_POINTS = 1.5
NULL_LIFT_POINTS = 1.0
# the published figures (HBR, Dec 2018) the default world is calibrated to, and how near counts as near
BASELINE_TARGET, ENRICHED_TARGET, CALIBRATION_TOLERANCE = 0.78, 0.93, 0.03


def _figures(world: World) -> str:
    comp = world.comparisons["csat"]
    acc = {n: r.metrics["accuracy"].point for n, r in comp.results.items()}
    lift = comp.lift["accuracy"] if comp.lift else None
    oracle = comp.oracle["accuracy"].point if comp.oracle else float("nan")
    return f"{world.scenario}: accuracy {acc}, oracle {oracle:.4f}, lift {lift}"


def test_null_world_shows_no_csat_lift(null_world: World) -> None:
    lift = null_world.comparisons["csat"].lift
    assert lift is not None
    acc = lift["accuracy"]
    covers_zero = acc.low <= 0.0 <= acc.high
    assert covers_zero or abs(acc.point) < NULL_LIFT_POINTS / 100, _figures(null_world)


def test_default_world_lift_is_significant(default_world: World) -> None:
    lift = default_world.comparisons["csat"].lift
    assert lift is not None
    assert lift["accuracy"].low > 0.0, _figures(default_world)
    assert lift["roc_auc"].low > 0.0, _figures(default_world)


def test_default_world_enriched_accuracy_near_the_oracle(default_world: World) -> None:
    comp = default_world.comparisons["csat"]
    assert comp.oracle is not None
    gap = comp.oracle["accuracy"].point - comp.results["enriched"].metrics["accuracy"].point
    assert gap <= ORACLE_GAP_POINTS / 100, _figures(default_world)


def test_default_world_keeps_the_published_calibration(default_world: World) -> None:
    """The simulator is calibrated to the published figures: baseline near 78%, enriched near 93%."""
    acc = {n: r.metrics["accuracy"].point for n, r in default_world.comparisons["csat"].results.items()}
    assert abs(acc["baseline"] - BASELINE_TARGET) <= CALIBRATION_TOLERANCE, _figures(default_world)
    assert abs(acc["enriched"] - ENRICHED_TARGET) <= CALIBRATION_TOLERANCE, _figures(default_world)


# Leakage sentinel on the real store's frame


def _sentinel(data: OfflineData, listed: bool) -> OfflineData:
    """The label as a column (an outcome known only after the cutoff), optionally listed as a feature."""
    frame = data.frame.assign(outcome_recorded_later=data.frame["label"].astype(float))
    manifest = data.manifest
    if listed:
        feats = dict(manifest["features"])
        feats["baseline"] = [*feats["baseline"], "outcome_recorded_later"]
        manifest = {**manifest, "features": feats}
    return OfflineData(data.target, frame, manifest)


def test_post_cutoff_column_in_the_store_frame_does_not_raise_accuracy(default_world: World) -> None:
    clean = default_world.comparisons["csat"]
    leaky = compare(
        _sentinel(default_world.data["csat"], listed=False), load_catalog(), CONFIG, n_boot=N_BOOT
    )
    for name, res in leaky.results.items():
        assert "outcome_recorded_later" not in res.model.features
        assert res.metrics["accuracy"].point == clean.results[name].metrics["accuracy"].point


def test_post_cutoff_column_declared_as_a_feature_is_refused(default_world: World) -> None:
    with pytest.raises(LeakageError, match="outcome_recorded_later"):
        compare(_sentinel(default_world.data["csat"], listed=True), load_catalog(), CONFIG, n_boot=N_BOOT)
