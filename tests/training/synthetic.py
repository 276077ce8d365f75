"""Tiny seeded frames in the offline store's format (example_id, account_id, as_of, label, features)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.data import FeatureCatalog, FeatureInfo, OfflineData

BASELINE = ["arr_usd", "seat_utilization", "tickets_90d", "segment"]
COLLABORATION = ["meetings_90d", "exec_touch_share", "network_size"]
GROUPS = {
    "arr_usd": "account",
    "segment": "account",
    "seat_utilization": "usage",
    "tickets_90d": "support",
    "meetings_90d": "engagement",
    "exec_touch_share": "engagement",
    "network_size": "network",
}


def catalog() -> FeatureCatalog:
    feats = {
        name: FeatureInfo(
            name,
            f"test feature {name}",
            GROUPS[name],
            "baseline" if name in BASELINE else "collaboration",
            "category" if name == "segment" else "float",
        )
        for name in BASELINE + COLLABORATION
    }
    return FeatureCatalog(feats, {"baseline": ("baseline",), "enriched": ("baseline", "collaboration")})


def make_data(
    target: str = "churn",
    *,
    n_accounts: int = 150,
    seed: int = 0,
    collab_weight: float = 1.5,
    label_noise: float = 0.0,
    months: int = 30,
) -> OfflineData:
    """A small world whose labels depend on baseline and (with ``collab_weight``) collaboration features."""
    rng = np.random.default_rng(seed)
    accounts = np.array([f"A{i:04d}" for i in range(n_accounts)])
    health = rng.normal(0, 1, n_accounts)
    segment = rng.choice(["smb", "mid-market", "enterprise"], n_accounts)
    start = pd.Timestamp("2023-01-01")
    if target == "churn":
        snaps = pd.date_range(start, periods=months, freq="MS")
        acc_idx = np.repeat(np.arange(n_accounts), len(snaps))
        as_of = np.tile(snaps.to_numpy(), n_accounts)
    else:
        n = n_accounts * 20
        acc_idx = rng.integers(0, n_accounts, n)
        offsets = rng.uniform(0, months * 30.4, n)
        as_of = (start + pd.to_timedelta(offsets, unit="D")).to_numpy()
    n = len(acc_idx)
    h = health[acc_idx] + rng.normal(0, 0.5, n)
    collab = rng.normal(0, 1, n)
    frame = pd.DataFrame(
        {
            "account_id": accounts[acc_idx],
            "as_of": pd.to_datetime(as_of),
            "arr_usd": np.exp(rng.normal(10, 1, n)),
            "seat_utilization": np.clip(0.6 + 0.15 * h + rng.normal(0, 0.1, n), 0, 1),
            "tickets_90d": rng.poisson(np.exp(0.5 - 0.4 * h)).astype(float),
            "segment": segment[acc_idx].astype(object),
            "meetings_90d": np.round(np.exp(1.5 + 0.5 * collab)).astype(float),
            "exec_touch_share": np.clip(0.3 + 0.1 * collab + rng.normal(0, 0.05, n), 0, 1),
            "network_size": np.where(rng.random(n) < 0.1, np.nan, np.round(5 + 2 * collab)),
        }
    )
    logit = 1.2 * h + collab_weight * collab + 0.3 * (frame["segment"] == "enterprise")
    logit = -logit - 1.0 if target == "churn" else logit + 0.8
    p = 1 / (1 + np.exp(-logit))
    label = (rng.random(n) < p).astype(int)
    if label_noise:
        flip = rng.random(n) < label_noise
        label = np.where(flip, 1 - label, label)
    frame["label"] = label
    if target == "churn":
        frame["example_id"] = frame["account_id"] + "@" + frame["as_of"].dt.strftime("%Y-%m-%d")
    else:
        frame["example_id"] = [f"R{i:06d}" for i in range(n)]
    frame = frame.sort_values(["as_of", "example_id"], ignore_index=True)
    frame = frame[["example_id", "account_id", "as_of", "label", *BASELINE, *COLLABORATION]]
    manifest = {
        "target": target,
        "feature_set_version": "test-1",
        "data_fingerprint": f"seed{seed}-noise{label_noise}-w{collab_weight}",
        "cutoff_min": str(frame["as_of"].min()),
        "cutoff_max": str(frame["as_of"].max()),
        "rows": len(frame),
        "positives": int(frame["label"].sum()),
        "built_at": "2025-01-01T00:00:00",
        "features": {"baseline": list(BASELINE), "collaboration": list(COLLABORATION)},
        "categorical": ["segment"],
        "groups_missing": [],
        "horizon_days": 180 if target == "churn" else None,
    }
    return OfflineData(target, frame, manifest)  # type: ignore[arg-type]
