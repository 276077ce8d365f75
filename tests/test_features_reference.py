"""Every feature equals a deliberately naive pandas reference on tiny hand-made worlds."""

from __future__ import annotations

import pandas as pd
import pytest

from features.catalog import catalog
from features.engine import compute_features
from tests.features.compare import is_missing, same
from tests.features.fixtures import entities_for, make_world
from tests.features.paths import passes_forced
from tests.features.reference import reference_features

WORLDS = {
    "dense": {"seed": 0, "interactions": 250},
    "recorded": {"seed": 1, "recorded": True, "interactions": 250},
    "sparse_recorded": {"seed": 2, "recorded": True, "interactions": 60},
}


@pytest.fixture(scope="module")
def results() -> dict[str, tuple[pd.DataFrame, list[dict]]]:
    out = {}
    for name, kw in WORLDS.items():
        world = make_world(**kw)
        ents = entities_for(world, n=18, seed=kw["seed"])
        feats = compute_features(world, ents)
        refs = [reference_features(world, r.account_id, r.as_of) for r in ents.itertuples()]
        out[name] = (feats, refs)
        with passes_forced():  # the per-contact windows by the compiled passes instead of their SQL
            out[f"{name}/passes"] = (compute_features(world, ents), refs)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("world", [*WORLDS, *(f"{w}/passes" for w in WORLDS)])
def test_engine_matches_naive_reference(results, world):
    feats, refs = results[world]
    wrong = {}
    for i, ref in enumerate(refs):
        for name, expected in ref.items():
            got = feats.at[i, name]
            if not same(got, expected):
                wrong.setdefault(name, []).append((i, str(feats.at[i, "as_of"]), got, expected))
    assert not wrong, {k: v[:3] for k, v in wrong.items()}


@pytest.mark.slow
def test_every_catalog_feature_has_a_reference_that_bites(results):
    """Each feature is covered by the reference and takes at least two distinct values across the fixtures."""
    names = [f.name for f in catalog()]
    seen: dict[str, set] = {n: set() for n in names}
    for feats, refs in results.values():
        for ref in refs:
            assert set(names) <= set(ref), sorted(set(names) - set(ref))
        for n in names:
            seen[n].update(round(v, 9) if isinstance(v, float) else v for v in feats[n] if not is_missing(v))
    flat = [n for n, vals in seen.items() if len(vals) < 2]
    assert not flat, f"features with fewer than two distinct values in the fixtures: {flat}"


@pytest.mark.slow
def test_account_extras_are_features(results):
    feats, refs = results["dense"]
    assert {"crm_contract_type", "crm_discount_pct", "crm_auto_renew"} <= set(feats.columns)
    assert feats["crm_contract_type"].dropna().map(type).eq(str).all()
    assert feats["crm_discount_pct"].dtype == "float64"


@pytest.mark.slow
def test_money_counts_to_the_cent_and_time_to_the_millisecond(results):
    """Amounts are summed as whole cents and durations as whole milliseconds (exact in any order).

    Shifting every amount by under half a cent and every duration by under half a millisecond leaves every
    feature exactly as it was; summing the raw fractions would not.
    """
    feats, _ = results["dense"]
    world = make_world(**WORLDS["dense"])
    world["invoices"]["amount_usd"] += 0.0049
    world["renewals"]["arr_change_usd"] -= 0.0049
    world["interactions"]["duration_minutes"] += 0.000008  # 0.48 ms
    shifted = compute_features(world, entities_for(world, n=18, seed=WORLDS["dense"]["seed"]))
    pd.testing.assert_frame_equal(shifted, feats, check_exact=True)
