"""Model behaviour on the default world: directions a CS team relies on, with everything else held fixed.

- Churn: more open severity-1 tickets never lower the predicted churn risk.
- CSAT: more meeting hours with the customer never lower the predicted satisfaction.

Both are enforced by the monotone constraints declared in :mod:`training.constraints`; these tests check the
trained, calibrated models on real store rows (not only the booster's parameters).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.training.honest_world import World
from training.constraints import MONOTONE

pytestmark = [pytest.mark.slow, pytest.mark.calibration]

STEPS = (1, 2, 5, 10)
TICKET_FEATURES = ("open_tickets", "open_severe_tickets", "tickets_sev1_180d")
MEETING_FEATURES = ("meeting_hours_28d", "meeting_hours_90d", "meeting_hours_180d")


def _rows(world: World, target: str, n: int = 400) -> pd.DataFrame:
    comp = world.comparisons[target]
    test = comp.frame.iloc[comp.split.test]
    return test.sample(n=min(n, len(test)), random_state=0)


def _raised(rows: pd.DataFrame, features: tuple[str, ...], by: float) -> pd.DataFrame:
    out = rows.copy()
    for f in features:
        out[f] = out[f].fillna(0.0) + by
    return out


@pytest.mark.parametrize("set_name", ["baseline", "enriched"])
def test_more_open_sev1_tickets_never_lower_churn_risk(default_world: World, set_name: str) -> None:
    model = default_world.comparisons["churn"].results[set_name].model
    assert set(TICKET_FEATURES) <= set(model.monotone)
    rows = _rows(default_world, "churn")
    before = model.predict(_raised(rows, TICKET_FEATURES, 0.0))
    for k in STEPS:
        after = model.predict(_raised(rows, TICKET_FEATURES, k))
        assert np.all(after >= before - 1e-12), f"+{k} open sev-1 tickets lowered churn risk"
        before = after


def test_more_meeting_hours_never_lower_predicted_satisfaction(default_world: World) -> None:
    model = default_world.comparisons["csat"].results["enriched"].model
    assert set(MEETING_FEATURES) <= set(model.monotone)
    rows = _rows(default_world, "csat")
    before = model.predict(_raised(rows, MEETING_FEATURES, 0.0))
    for hours in STEPS:
        after = model.predict(_raised(rows, MEETING_FEATURES, hours))
        assert np.all(after >= before - 1e-12), f"+{hours} meeting hours lowered predicted satisfaction"
        before = after


def test_constraints_are_declared_by_feature_name() -> None:
    assert all(d in (-1, 1) for target in MONOTONE.values() for d in target.values())
    assert set(TICKET_FEATURES) <= set(MONOTONE["churn"]) and set(MEETING_FEATURES) <= set(MONOTONE["csat"])
