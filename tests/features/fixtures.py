"""Tiny seeded worlds in the contract's format (the dtypes the contract loader returns)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from features.labels import EVENT_STAMPS

LIST = pd.ArrowDtype(pa.list_(pa.string()))
START = pd.Timestamp("2024-01-01")
TZS = ["UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Adelaide"]
ROLES = ["seller", "csm", "engineer", "support", "manager", "executive", "other"]


def _ts(rng: np.random.Generator, n: int, days: int, whole_days: bool = False) -> pd.Series:
    secs = rng.integers(0, days * 86400, n)
    if whole_days:
        secs = secs - secs % 86400
    return pd.Series(START + pd.to_timedelta(secs, unit="s")).astype("datetime64[us]")


def make_world(
    seed: int = 0,
    accounts: int = 4,
    days: int = 240,
    interactions: int = 400,
    recorded: bool = False,
    extras: bool = True,
) -> dict[str, pd.DataFrame]:
    """A small random world: few accounts, dense enough that every feature takes non-trivial values."""
    rng = np.random.default_rng(seed)
    acc_ids = [f"A{i}" for i in range(accounts)]
    n_emp = 9
    emp_ids = [f"E{i}" for i in range(n_emp)]
    acc = pd.DataFrame(
        {
            "account_id": pd.Series(acc_ids, dtype="str"),
            "name": pd.Series([f"Acme {i}" for i in range(accounts)], dtype="str"),
            "industry": pd.Series(rng.choice(["retail", "tech", "health"], accounts), dtype="str"),
            "segment": pd.Series(rng.choice(["enterprise", "mid-market", "smb"], accounts), dtype="str"),
            "region": pd.Series(rng.choice(["emea", "amer"], accounts), dtype="str"),
            "employee_count": rng.integers(0, 5000, accounts).astype("int64"),
            "customer_since": _ts(rng, accounts, days, whole_days=True) - pd.Timedelta(days=200),
            "arr_usd": rng.uniform(0, 1e5, accounts),
            "plan": pd.Series(rng.choice(["basic", "pro"], accounts), dtype="str"),
            "owner_id": pd.Series(
                [emp_ids[i % n_emp] if i % 3 else None for i in range(accounts)], dtype="str"
            ),
            "csm_id": pd.Series(
                [emp_ids[(i + 1) % n_emp] if i % 4 else None for i in range(accounts)], dtype="str"
            ),
        }
    )
    if extras:
        acc["Contract Type"] = pd.Series(rng.choice(["monthly", "annual"], accounts), dtype="str")
        acc["discount_pct"] = rng.uniform(0, 30, accounts)
        acc["auto_renew"] = rng.integers(0, 2, accounts).astype(bool)
    n_ct = accounts * 4
    ct = pd.DataFrame(
        {
            "contact_id": pd.Series([f"C{i}" for i in range(n_ct)], dtype="str"),
            "account_id": pd.Series([acc_ids[i % accounts] for i in range(n_ct)], dtype="str"),
            "title": pd.Series(["t"] * n_ct, dtype="str"),
            "seniority": pd.Series(rng.choice(["executive", "manager", "individual"], n_ct), dtype="str"),
            "is_decision_maker": rng.integers(0, 2, n_ct).astype(bool),
        }
    )
    emp = pd.DataFrame(
        {
            "employee_id": pd.Series(emp_ids, dtype="str"),
            "role": pd.Series([ROLES[i % len(ROLES)] for i in range(n_emp)], dtype="str"),
            "manager_id": pd.Series([None] + ["E0"] * (n_emp - 1), dtype="str"),
            "team": pd.Series(["cs"] * n_emp, dtype="str"),
            "hired_at": pd.Series([START - pd.Timedelta(days=400)] * n_emp).astype("datetime64[us]"),
            "timezone": pd.Series([TZS[i % len(TZS)] for i in range(n_emp)], dtype="str"),
        }
    )
    kinds = rng.choice(["email", "meeting", "call", "chat"], interactions, p=[0.5, 0.25, 0.15, 0.1])
    orgs, ints, exts = [], [], []
    ct_by_acc = {
        a: [c for c, aa in zip(ct.contact_id, ct.account_id, strict=True) if aa == a] for a in acc_ids
    }
    for _ in range(interactions):
        a = acc_ids[rng.integers(0, accounts)]
        internal_only = rng.random() < 0.15
        n_e = int(rng.integers(1, 4)) if not internal_only else int(rng.integers(2, 5))
        es = list(rng.choice(emp_ids, n_e, replace=False))
        cs = [] if internal_only else list(rng.choice(ct_by_acc[a], int(rng.integers(1, 4)), replace=False))
        if not internal_only and rng.random() < 0.05:  # a second account in the same meeting
            other = acc_ids[(acc_ids.index(a) + 1) % accounts]
            cs.append(ct_by_acc[other][0])
        org = cs.pop(0) if cs and rng.random() < 0.4 else es.pop(0)
        orgs.append(org)
        ints.append(es)
        exts.append(cs)
    ix = pd.DataFrame(
        {
            "interaction_id": pd.Series([f"I{i}" for i in range(interactions)], dtype="str"),
            "kind": pd.Series(kinds, dtype="str"),
            "started_at": _ts(rng, interactions, days),
            "duration_minutes": rng.choice([0.0, 5.0, 30.0, 60.0, 90.0], interactions),
            "organizer_id": pd.Series(orgs, dtype="str"),
            "internal_participants": pd.Series(ints, dtype=LIST),
            "external_participants": pd.Series(exts, dtype=LIST),
        }
    )
    # replies: some employee emails shortly after customer emails, to the same contact
    rep = []
    for _, r in ix[(ix.kind == "email") & ix.organizer_id.str.startswith("C")].iterrows():
        if rng.random() < 0.7:
            delay = pd.Timedelta(hours=float(rng.choice([1.0, 5.0, 30.0, 100.0, 200.0])))
            rep.append((r.started_at + delay, r.organizer_id))
    if rep:
        n0 = len(ix)
        ix = pd.concat(
            [
                ix,
                pd.DataFrame(
                    {
                        "interaction_id": pd.Series([f"R{i}" for i in range(len(rep))], dtype="str"),
                        "kind": pd.Series(["email"] * len(rep), dtype="str"),
                        "started_at": pd.Series([t for t, _ in rep]).astype("datetime64[us]"),
                        "duration_minutes": np.full(len(rep), 5.0),
                        "organizer_id": pd.Series([emp_ids[i % n_emp] for i in range(len(rep))], dtype="str"),
                        "internal_participants": pd.Series([[] for _ in rep], dtype=LIST),
                        "external_participants": pd.Series([[c] for _, c in rep], dtype=LIST),
                    }
                ),
            ],
            ignore_index=True,
        )
        assert len(ix) == n0 + len(rep)
    n_tk = accounts * 12
    opened = _ts(rng, n_tk, days)
    closed = opened + pd.to_timedelta(rng.integers(600, 30 * 86400, n_tk), unit="s")
    closed = closed.where(rng.random(n_tk) < 0.8)
    tk = pd.DataFrame(
        {
            "ticket_id": pd.Series([f"T{i}" for i in range(n_tk)], dtype="str"),
            "account_id": pd.Series(rng.choice(acc_ids, n_tk), dtype="str"),
            "opened_at": opened,
            "closed_at": closed.astype("datetime64[us]"),
            "severity": rng.integers(1, 5, n_tk).astype("int64"),
            "escalated": rng.random(n_tk) < 0.3,
            "reopened_count": rng.integers(0, 3, n_tk).astype("int64"),
        }
    )
    rows = []
    for a in acc_ids:
        step = 1 if rng.random() < 0.5 else 7
        for d in range(0, days, step):
            if rng.random() < 0.9:
                seats = int(rng.integers(10, 50))
                rows.append(
                    (
                        a,
                        START + pd.Timedelta(days=d),
                        int(rng.integers(0, seats)),
                        seats,
                        int(rng.integers(0, 200)),
                    )
                )
    us = pd.DataFrame(
        rows, columns=["account_id", "date", "active_users", "licensed_seats", "key_feature_events"]
    )
    us["account_id"] = us["account_id"].astype("str")
    us["date"] = us["date"].astype("datetime64[us]")
    for c in ("active_users", "licensed_seats", "key_feature_events"):
        us[c] = us[c].astype("int64")
    n_inv = accounts * 8
    issued = _ts(rng, n_inv, days, whole_days=True)
    due = issued + pd.to_timedelta(30, unit="D")
    paid = (due + pd.to_timedelta(rng.integers(-20, 40, n_inv), unit="D")).where(rng.random(n_inv) < 0.85)
    inv = pd.DataFrame(
        {
            "invoice_id": pd.Series([f"V{i}" for i in range(n_inv)], dtype="str"),
            "account_id": pd.Series(rng.choice(acc_ids, n_inv), dtype="str"),
            "issued_at": issued,
            "due_at": due.astype("datetime64[us]"),
            "paid_at": paid.astype("datetime64[us]"),
            "amount_usd": np.round(rng.uniform(100, 5000, n_inv), 2),  # to the cent, as invoices are
        }
    )
    n_sv = accounts * 10
    sv = pd.DataFrame(
        {
            "response_id": pd.Series([f"S{i}" for i in range(n_sv)], dtype="str"),
            "account_id": pd.Series(rng.choice(acc_ids, n_sv), dtype="str"),
            "contact_id": pd.Series(rng.choice(ct.contact_id, n_sv), dtype="str"),
            "responded_at": _ts(rng, n_sv, days),
            "csat": rng.integers(1, 6, n_sv).astype("int64"),
            "nps": pd.array(np.where(rng.random(n_sv) < 0.7, rng.integers(0, 11, n_sv), -1), dtype="Int64"),
        }
    )
    sv["nps"] = sv["nps"].mask(sv["nps"] < 0)
    n_rn = accounts * 2
    rn = pd.DataFrame(
        {
            "account_id": pd.Series(rng.choice(acc_ids, n_rn), dtype="str"),
            "renewal_date": _ts(rng, n_rn, days, whole_days=True),
            "outcome": pd.Series(
                rng.choice(["renewed", "churned", "expanded", "contracted"], n_rn), dtype="str"
            ),
            "arr_change_usd": np.round(rng.normal(0, 1000, n_rn), 2),
        }
    )
    world = {
        "accounts": acc,
        "contacts": ct,
        "employees": emp,
        "interactions": ix,
        "tickets": tk,
        "usage": us,
        "invoices": inv,
        "surveys": sv,
        "renewals": rn,
    }
    if recorded:
        add_recorded_at(world, rng)
    return world


STAMPS = EVENT_STAMPS  # each event table's stamp, as the build reads it


def add_recorded_at(world: dict[str, pd.DataFrame], rng: np.random.Generator) -> None:
    """Give every table a ``recorded_at``: late exports, sometimes weeks late, sometimes before the stamp."""
    for name, df in world.items():
        n = len(df)
        base = df[STAMPS[name]] if name in STAMPS else pd.Series([START] * n, index=df.index)
        lag = pd.to_timedelta(rng.choice([0, 3600, 86400, 5 * 86400, 40 * 86400, -3600], n), unit="s")
        df["recorded_at"] = (base.reset_index(drop=True) + lag).astype("datetime64[us]").values


def entities_for(world: dict[str, pd.DataFrame], n: int = 30, seed: int = 1) -> pd.DataFrame:
    """Cutoffs: mid-day times, midnights, and times equal to event stamps (the strictness edge)."""
    rng = np.random.default_rng(seed)
    acc_ids = list(world["accounts"].account_id)
    mid = _ts(rng, n, 240)
    midnight = _ts(rng, n // 2, 240, whole_days=True)
    exact = world["interactions"]["started_at"].sample(n // 2, random_state=seed).reset_index(drop=True)
    tick = world["tickets"]["closed_at"].dropna().sample(n // 3, random_state=seed).reset_index(drop=True)
    as_of = pd.concat([mid, midnight, exact, tick], ignore_index=True).astype("datetime64[us]")
    return pd.DataFrame(
        {"account_id": pd.Series(rng.choice(acc_ids, len(as_of)), dtype="str"), "as_of": as_of}
    )


def with_new_contact(
    world: dict[str, pd.DataFrame],
    at: pd.Timestamp,
    participants: list[str] | None,
    organizer: str | None = None,
    kind: str = "meeting",
) -> dict[str, pd.DataFrame]:
    """A copy of ``world`` with one more contact of A0, ``C_NEW``, and one more interaction at ``at``.

    The interaction is ``I_NEW``, of ``kind``, with these external participants and organiser (default: the
    first interaction's); its other columns are the first interaction's.
    """
    out = {k: v.copy() for k, v in world.items()}
    ct, ix = out["contacts"], out["interactions"]
    new_ct = ct.iloc[[0]].copy()
    new_ct["contact_id"], new_ct["account_id"] = "C_NEW", "A0"
    out["contacts"] = pd.concat([ct, new_ct], ignore_index=True).astype(ct.dtypes.to_dict())
    new = ix.iloc[[0]].copy()
    new["interaction_id"], new["kind"], new["started_at"] = "I_NEW", kind, at.as_unit("us")
    if organizer is not None:
        new["organizer_id"] = organizer
    lists = ix["external_participants"].dtype
    new["external_participants"] = pd.Series([participants], dtype=lists, index=new.index)
    out["interactions"] = pd.concat([ix, new], ignore_index=True).astype(ix.dtypes.to_dict())
    return out
