"""Measure the simulator's calibration: a quick LightGBM on a simple monthly feature table.

For every survey response, features are the account's values in the last complete month before the response
month and its averages over the four complete months before it (so nothing at or after the response is
used). Baseline and enriched models get the same LightGBM settings; the oracle predicts with the simulator's
true probabilities. Figures go to
``bench/results/simulator_calibration.json``; the README quotes them.

Run: ``make calibrate`` (or ``python -m bench.calibrate_simulator --accounts 2000 --months 24``).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench.common import write_result
from features.simulator import SimulationConfig, simulate

STATIC = [
    "employee_count",
    "arr_usd",
    "tenure_years",
    "segment",
    "plan",
    "contract_type",
    "payment_method",
    "industry",
    "region",
]


def _month_index(ts: pd.Series, start: pd.Timestamp) -> np.ndarray:
    return ((ts.dt.year - start.year) * 12 + ts.dt.month - start.month).to_numpy()


def baseline_monthly(d: Path, start: pd.Timestamp) -> pd.DataFrame:
    """Usage, tickets, invoices and survey history per account-month."""
    usage = pd.read_parquet(d / "usage.parquet")
    usage["m"] = _month_index(pd.to_datetime(usage["date"]), start)
    usage["util"] = usage["active_users"] / usage["licensed_seats"].clip(lower=1)
    usage["epu"] = usage["key_feature_events"] / usage["active_users"].clip(lower=1)
    out = usage.groupby(["account_id", "m"])[["util", "epu"]].mean()
    t = pd.read_parquet(d / "tickets.parquet")
    t["m"] = _month_index(t["opened_at"], start)
    t["sev12"] = t["severity"] <= 2
    out = out.join(
        t.groupby(["account_id", "m"]).agg(
            tickets=("ticket_id", "size"),
            sev12=("sev12", "sum"),
            escalated=("escalated", "sum"),
            reopened=("reopened_count", "sum"),
        ),
        how="outer",
    )
    inv = pd.read_parquet(d / "invoices.parquet")
    inv["m"] = _month_index(pd.to_datetime(inv["issued_at"]), start) + 2  # lateness known two months on
    inv["late_days"] = (pd.to_datetime(inv["paid_at"]) - pd.to_datetime(inv["due_at"])).dt.days.clip(lower=0)
    return out.join(inv.groupby(["account_id", "m"])["late_days"].mean(), how="outer")


def collaboration_monthly(d: Path, start: pd.Timestamp) -> pd.DataFrame:
    """Customer time, breadth, depth, seniority, responsiveness and team network per account-month."""
    contacts = pd.read_parquet(d / "contacts.parquet")
    employees = pd.read_parquet(d / "employees.parquet")
    it = pq.read_table(d / "interactions.parquet")
    n_int = pc.list_value_length(it["internal_participants"]).to_numpy()
    n_ext = pc.list_value_length(it["external_participants"]).to_numpy()
    ext = it.filter(pc.greater(pc.list_value_length(it["external_participants"]), 0))
    parent = pc.list_parent_indices(ext["external_participants"]).to_numpy()
    flat = pd.DataFrame(
        {
            "row": parent,
            "contact_id": pc.list_flatten(ext["external_participants"]).to_numpy(zero_copy_only=False),
        }
    ).merge(contacts[["contact_id", "account_id", "seniority"]], on="contact_id")
    base = pd.DataFrame(
        {
            "kind": ext["kind"].to_numpy(zero_copy_only=False),
            "hours": ext["duration_minutes"].to_numpy() / 60.0,
            "size": (n_int + n_ext)[
                pc.greater(pc.list_value_length(it["external_participants"]), 0).to_numpy(
                    zero_copy_only=False
                )
            ],
            "organizer": ext["organizer_id"].to_numpy(zero_copy_only=False),
            "started_at": ext["started_at"].to_pandas(),
        }
    )
    base["m"] = _month_index(base["started_at"], start)
    first = flat.drop_duplicates("row").set_index("row")["account_id"]
    base["account_id"] = first.reindex(np.arange(len(base))).to_numpy()
    base["meaningful"] = base["size"] <= 5
    keys = ["account_id", "m"]
    out = base.pivot_table(index=keys, columns="kind", values="hours", aggfunc="sum", fill_value=0.0)
    out.columns = [f"hours_{c}" for c in out.columns]
    base["meaningful_hours"] = base["hours"] * base["meaningful"]
    sums = base.groupby(keys)[["meaningful_hours", "hours"]].sum()
    out["meaningful_share"] = sums["meaningful_hours"] / sums["hours"].clip(lower=1e-9)
    flat["m"] = base["m"].to_numpy()[flat["row"].to_numpy()]
    fg = flat.groupby(keys)
    out["contacts_reached"] = fg["contact_id"].nunique()
    out["exec_reached"] = flat[flat["seniority"] == "executive"].groupby(keys)["contact_id"].nunique()
    top = flat.groupby(keys + ["contact_id"]).size().groupby(keys)
    out["top_share"] = top.max() / top.sum()
    size = contacts.groupby("account_id").size()
    out["contact_share"] = out["contacts_reached"] / size.reindex(out.index.get_level_values(0)).to_numpy()
    out = out.join(_senior_ours(ext, employees, base), how="left")
    out = out.join(_reply_delay(base, ext), how="left")
    return out


def _senior_ours(ext, employees: pd.DataFrame, base: pd.DataFrame) -> pd.Series:
    parent = pc.list_parent_indices(ext["internal_participants"]).to_numpy()
    emp = pc.list_flatten(ext["internal_participants"]).to_numpy(zero_copy_only=False)
    role = employees.set_index("employee_id")["role"].reindex(emp).to_numpy()
    senior = pd.DataFrame({"row": parent, "senior": np.isin(role, ["manager", "executive"])})
    s = senior.groupby("row")["senior"].any().reindex(np.arange(len(base)), fill_value=False)
    frame = base[["account_id", "m"]].assign(senior=s.to_numpy())
    return frame.groupby(["account_id", "m"])["senior"].mean().rename("our_senior_share")


def _reply_delay(base: pd.DataFrame, ext) -> pd.Series:
    emails = base[base["kind"] == "email"].copy()
    emails["from_contact"] = emails["organizer"].str.startswith("C")
    inbound = emails[emails["from_contact"]][["organizer", "started_at", "account_id", "m"]]
    inbound = inbound.rename(columns={"organizer": "contact_id"}).sort_values("started_at")
    first_contact = pc.list_element(ext["external_participants"], 0).to_numpy(zero_copy_only=False)
    out_mail = emails.assign(contact_id=first_contact[emails.index.to_numpy()])
    out_mail = (
        out_mail[~out_mail["from_contact"]][["contact_id", "started_at"]]
        .rename(columns={"started_at": "reply_at"})
        .sort_values("reply_at")
    )
    j = pd.merge_asof(
        inbound,
        out_mail,
        left_on="started_at",
        right_on="reply_at",
        by="contact_id",
        direction="forward",
        allow_exact_matches=False,
    )
    j["delay_h"] = ((j["reply_at"] - j["started_at"]).dt.total_seconds() / 3600).clip(upper=240).fillna(240)
    return j.groupby(["account_id", "m"])["delay_h"].median().rename("reply_delay_h")


def team_network(d: Path, start: pd.Timestamp, accounts: pd.DataFrame) -> pd.DataFrame:
    """Per account-month: mean number of internal relationships of its owner and CSM."""
    it = pq.read_table(
        d / "interactions.parquet",
        columns=["started_at", "internal_participants", "external_participants", "organizer_id"],
    )
    internal = it.filter(pc.equal(pc.list_value_length(it["external_participants"]), 0))
    internal = internal.filter(pc.less_equal(pc.list_value_length(internal["internal_participants"]), 5))
    parent = pc.list_parent_indices(internal["internal_participants"]).to_numpy()
    pairs = pd.DataFrame(
        {
            "row": parent,
            "person": pc.list_flatten(internal["internal_participants"]).to_numpy(zero_copy_only=False),
        }
    )
    pairs["organizer"] = internal["organizer_id"].to_numpy(zero_copy_only=False)[parent]
    pairs["m"] = _month_index(internal["started_at"].to_pandas(), start)[parent]
    pairs = pairs[pairs["person"] != pairs["organizer"]]
    both = pd.concat(
        [
            pairs.rename(columns={"organizer": "a", "person": "b"}),
            pairs.rename(columns={"organizer": "b", "person": "a"}),
        ]
    )
    rel = both.groupby(["a", "b", "m"]).size()
    rel = rel[rel >= 2].reset_index().groupby(["a", "m"]).size().rename("rels")
    rows = []
    for col in ("owner_id", "csm_id"):
        r = accounts[["account_id", col]].merge(rel.reset_index(), left_on=col, right_on="a")
        rows.append(r[["account_id", "m", "rels"]])
    return pd.concat(rows).groupby(["account_id", "m"])[["rels"]].mean()


def lagged(monthly: pd.DataFrame, accounts: pd.Series, months: int) -> pd.DataFrame:
    """The last complete month before each month and the average of the four before it, on a full grid."""
    grid = pd.MultiIndex.from_product([accounts, range(months)], names=["account_id", "m"])
    full = monthly.reindex(grid)
    count_like = [
        c for c in full.columns if c.startswith(("hours_", "tickets", "sev12", "escalated", "reopened"))
    ]
    full[count_like] = full[count_like].fillna(0.0)
    values = full.to_numpy(dtype=float).reshape(len(accounts), months, -1)
    shifted = [
        np.concatenate([np.full_like(values[:, :k], np.nan), values[:, :-k]], axis=1) for k in (1, 2, 3, 4)
    ]
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(np.stack(shifted), axis=0)
    last = pd.DataFrame(shifted[0].reshape(len(grid), -1), index=grid, columns=full.columns + "_last")
    avg = pd.DataFrame(mean.reshape(len(grid), -1), index=grid, columns=full.columns + "_avg4")
    return last.join(avg)


def survey_frame(d: Path, start: pd.Timestamp, months: int) -> tuple[pd.DataFrame, list[str], list[str]]:
    """One row per survey response: lagged baseline and collaboration features, and the true probability."""
    accounts = pd.read_parquet(d / "accounts.parquet")
    base = baseline_monthly(d, start)
    collab = collaboration_monthly(d, start).join(team_network(d, start, accounts), how="outer")
    lb = lagged(base, accounts["account_id"], months)
    lc = lagged(collab, accounts["account_id"], months)
    s = pd.read_parquet(d / "surveys.parquet")
    s["m"] = _month_index(s["responded_at"], start)
    s = s.sort_values("responded_at")
    g = s.groupby("account_id")["csat"]
    s["prior_csat"] = (g.cumsum() - s["csat"]) / g.cumcount().astype("float64").replace(0.0, np.nan)
    truth = pd.read_parquet(d / "ground_truth" / "csat_truth.parquet")[["response_id", "p_satisfied"]]
    s = s.merge(truth, on="response_id").join(lb, on=["account_id", "m"]).join(lc, on=["account_id", "m"])
    acc = accounts.set_index("account_id")
    acc["tenure_years"] = (start - pd.to_datetime(acc["customer_since"])).dt.days / 365.25
    s = s.join(acc[STATIC], on="account_id")
    for c in ("segment", "plan", "contract_type", "payment_method", "industry", "region"):
        s[c] = s[c].astype("category")
    s["label"] = (s["csat"] >= 4).astype(int)
    return s, list(lb.columns) + ["prior_csat"] + STATIC, list(lc.columns)


def fit_accuracy(train: pd.DataFrame, test: pd.DataFrame, cols: list[str], seed: int) -> float:
    """Accuracy of a LightGBM model with fixed, equal settings."""
    params = {
        "objective": "binary",
        "learning_rate": 0.03,
        "num_leaves": 15,
        "min_child_samples": 40,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "seed": seed,
        "verbose": -1,
        "num_threads": 2,
    }
    model = lgb.train(params, lgb.Dataset(train[cols], train["label"]), num_boost_round=500)
    return float(((np.asarray(model.predict(test[cols])) > 0.5) == test["label"]).mean())


def measure(data_dir: Path, months: int, start: pd.Timestamp, seed: int) -> dict[str, float]:
    """Baseline, enriched and oracle accuracy on the last quarter of the months."""
    frame, baseline, collab = survey_frame(data_dir, start, months)
    frame = frame[frame["m"] >= 3]
    cut = int(months * 0.75)
    train, test = frame[frame["m"] < cut], frame[frame["m"] >= cut]
    return {
        "responses": len(frame),
        "satisfied_share": float(frame["label"].mean()),
        "test_majority_rate": float(max(test["label"].mean(), 1 - test["label"].mean())),
        "baseline_accuracy": fit_accuracy(train, test, baseline, seed),
        "enriched_accuracy": fit_accuracy(train, test, baseline + collab, seed),
        "oracle_accuracy": float(((test["p_satisfied"] > 0.5) == test["label"]).mean()),
    }


def main() -> None:
    """Simulate the default and null worlds and measure both."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--scenarios", default="default,null")
    args = parser.parse_args()
    figures: dict[str, dict[str, float]] = {}
    for scenario in args.scenarios.split(","):
        cfg = SimulationConfig(accounts=args.accounts, months=args.months, scenario=scenario, seed=args.seed)
        with tempfile.TemporaryDirectory() as tmp:
            simulate(cfg, Path(tmp) / "world")
            figures[scenario] = measure(Path(tmp) / "world", args.months, pd.Timestamp(cfg.start), args.seed)
        print(scenario, figures[scenario])
    write_result("simulator_calibration", {"accounts": args.accounts, "months": args.months, **figures})


if __name__ == "__main__":
    main()
