"""Leakage property: rows stamped (or recorded) at or after an example's cutoff never change its features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.engine import compute_features
from tests.features.compare import same
from tests.features.fixtures import STAMPS, make_world, with_new_contact
from tests.features.paths import passes_forced

BASE = {False: make_world(5, interactions=150), True: make_world(6, interactions=150, recorded=True)}
CUTOFFS = [
    pd.Timestamp("2024-05-01 00:00:00"),
    pd.Timestamp("2024-06-15 13:27:41"),
    pd.Timestamp("2024-07-03 09:00:00"),
]
REFERENCE_TABLES = ("accounts", "contacts", "employees")
_cache: dict = {}


def features_for(
    world: dict[str, pd.DataFrame], account: str, as_of: pd.Timestamp, swept: bool = False
) -> pd.Series:
    """The example's features, by the SQL alone or (``swept``) with the per-contact windows' passes."""
    ents = pd.DataFrame({"account_id": [account], "as_of": [as_of]})
    if swept:
        with passes_forced():
            return compute_features(world, ents).iloc[0]
    return compute_features(world, ents).iloc[0]


def baseline(recorded: bool, account: str, as_of: pd.Timestamp, swept: bool) -> pd.Series:
    key = (recorded, account, as_of, swept)
    if key not in _cache:
        _cache[key] = features_for(BASE[recorded], account, as_of, swept)
    return _cache[key]


def known_at(df: pd.DataFrame, name: str) -> pd.Series:
    rec = df["recorded_at"] if "recorded_at" in df.columns else pd.Series(pd.NaT, index=df.index)
    if name in STAMPS:
        stamp = df[STAMPS[name]]
        return stamp.where(rec.isna() | (rec <= stamp), rec)
    return rec


def _later(data, t: pd.Timestamp) -> pd.Timestamp:
    secs = data.draw(st.sampled_from([0, 1, 3600, 86400 - 1, 86400, 20 * 86400]), label="after")
    return (t + pd.Timedelta(seconds=secs)).as_unit("us")


def _scramble(data, df: pd.DataFrame, i: int, name: str, t: pd.Timestamp) -> None:
    """Change a future row's values (stamp stays at or after the cutoff)."""
    rng = np.random.default_rng(data.draw(st.integers(0, 10_000), label="seed"))
    if name in STAMPS:
        df.at[i, STAMPS[name]] = _later(data, t)
    if name == "interactions":
        df.at[i, "duration_minutes"] = float(rng.choice([0.0, 45.0, 600.0]))
        df.at[i, "kind"] = str(rng.choice(["email", "meeting", "call"]))
    elif name == "tickets":
        df.at[i, "severity"] = int(rng.integers(1, 5))
        df.at[i, "escalated"] = not bool(df.at[i, "escalated"])
    elif name == "surveys":
        df.at[i, "csat"] = int(rng.integers(1, 6))
    elif name == "usage":
        df.at[i, "active_users"] = int(rng.integers(0, 1000))
    elif name == "invoices":
        df.at[i, "amount_usd"] = float(rng.uniform(1, 1e5))
    elif name == "renewals":
        df.at[i, "outcome"] = str(rng.choice(["churned", "expanded"]))
    elif name == "contacts":
        df.at[i, "seniority"] = "executive"
        df.at[i, "account_id"] = str(rng.choice(["A0", "A1", "A2", "A3"]))
    elif name == "employees":
        df.at[i, "role"] = "manager"
        df.at[i, "timezone"] = "Asia/Tokyo"
    elif name == "accounts":
        df.at[i, "arr_usd"] = 1.0
        df.at[i, "plan"] = "changed"


def mutate(data, world: dict[str, pd.DataFrame], t: pd.Timestamp, recorded: bool) -> str:
    tables = list(STAMPS) + (list(REFERENCE_TABLES) if recorded else [])
    name = data.draw(st.sampled_from(tables), label="table")
    df = world[name].copy()
    future = np.flatnonzero((known_at(df, name) >= t).to_numpy())
    op = data.draw(st.sampled_from(["add", "change", "delete", "post-cutoff field"]), label="op")
    if op in ("change", "delete") and len(future):
        i = int(future[data.draw(st.integers(0, len(future) - 1), label="row")])
        if op == "delete":
            df = df.drop(index=df.index[i]).reset_index(drop=True)
        else:
            _scramble(data, df, df.index[i], name, t)
    elif op == "post-cutoff field" and name in ("tickets", "invoices"):
        col = "closed_at" if name == "tickets" else "paid_at"
        rows = np.flatnonzero((df[col] >= t).to_numpy())
        if len(rows):
            i = df.index[int(rows[data.draw(st.integers(0, len(rows) - 1), label="row")])]
            df.at[i, col] = _later(data, t) if data.draw(st.booleans(), label="keep") else pd.NaT
    else:
        src = int(data.draw(st.integers(0, len(df) - 1), label="copy"))
        new = df.iloc[[src]].copy()
        id_col = df.columns[0]
        if id_col.endswith("_id") and name not in ("usage", "renewals"):
            new[id_col] = f"NEW-{src}"
        if recorded and data.draw(st.booleans(), label="late record"):
            new["recorded_at"] = _later(data, t)  # stamped before the cutoff maybe, recorded at/after it
        elif name in STAMPS:
            new[STAMPS[name]] = _later(data, t)
        else:
            new["recorded_at"] = _later(data, t)
        if name == "accounts" and (known_at(df, name).iloc[src] >= t):
            new[id_col] = df[id_col].iloc[src]  # a later re-recording of an account not yet known at t
            df = df.drop(index=df.index[src])
        _scramble(data, new, new.index[0], name, t) if name not in STAMPS else None
        df = pd.concat([df, new], ignore_index=True)
    world[name] = df.astype(world[name].dtypes.to_dict())
    return f"{op} {name}"


@pytest.mark.slow
@settings(max_examples=24, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_future_rows_never_change_features(data):
    recorded = data.draw(st.booleans(), label="recorded_at world")
    t = data.draw(st.sampled_from(CUTOFFS), label="cutoff")
    account = data.draw(st.sampled_from(["A0", "A1", "A2", "A3"]), label="account")
    world = {k: v.copy() for k, v in BASE[recorded].items()}
    what = [mutate(data, world, t, recorded) for _ in range(data.draw(st.integers(1, 3), label="n"))]
    for swept in (False, True):  # the SQL, and the per-contact windows by the compiled passes
        before = baseline(recorded, account, t, swept)
        after = features_for(world, account, t, swept)
        keys = ("account_id", "as_of")
        changed = [c for c in before.index if c not in keys and not same(before[c], after[c])]
        assert not changed, (what, swept, {c: (before[c], after[c]) for c in changed})


@pytest.mark.slow
def test_past_rows_do_change_features():
    """The property is not vacuous: a row stamped just before the cutoff does change features."""
    t = CUTOFFS[1]
    world = {k: v.copy() for k, v in BASE[False].items()}
    tk = world["tickets"]
    new = tk.iloc[[0]].copy()
    new["ticket_id"], new["account_id"] = "NEW", "A0"
    new["opened_at"] = (t - pd.Timedelta(seconds=1)).as_unit("us")
    new["closed_at"] = pd.NaT
    world["tickets"] = pd.concat([tk, new], ignore_index=True).astype(tk.dtypes.to_dict())
    before, after = features_for(BASE[False], "A0", t), features_for(world, "A0", t)
    assert after["open_tickets"] == before["open_tickets"] + 1
    assert after["tickets_28d"] == before["tickets_28d"] + 1


@pytest.mark.parametrize("swept", [False, True])
def test_a_past_interaction_with_a_new_contact_is_counted(swept: bool) -> None:
    """Also not vacuous for the per-contact windows, by either path: a meeting a second before counts."""
    t = CUTOFFS[1]
    world = with_new_contact(BASE[False], t - pd.Timedelta(seconds=1), ["C_NEW"])
    before, after = features_for(BASE[False], "A0", t, swept), features_for(world, "A0", t, swept)
    assert after["contacts_reached_28d"] == before["contacts_reached_28d"] + 1
    assert after["contacts_reached_180d"] == before["contacts_reached_180d"] + 1
