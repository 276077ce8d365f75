"""The hidden state of a world: monthly drivers, account health, renewals and churn.

Nothing here is written to the contract tables directly; the observable tables are drawn from this state,
and this state is what the ground-truth folder records.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.simulator.config import WorldParams

BASELINE_DRIVERS = ("adoption", "pain", "payment")
COLLAB_DRIVERS = ("time", "breadth", "depth", "senior", "responsiveness")


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class Latent:
    """Per account (rows) and month (columns): drivers, health and the churn hazard; plus renewals."""

    drivers: dict[str, np.ndarray]
    network: np.ndarray  # static, per account: the account team's internal network, standardised
    static: np.ndarray  # static baseline health from segment, tenure, plan and contract
    baseline_part: np.ndarray
    collab_part: np.ndarray
    health: np.ndarray
    rush: np.ndarray
    hazard: np.ndarray
    renewals: pd.DataFrame  # account_idx, renewal_date, month, p_churn, outcome, arr_change_usd
    active_until: np.ndarray  # datetime64[s] per account: churn date, or the end of the world
    collab_effect: bool = True  # False in the null world: collaboration does not touch outcomes


def ar1(rng: np.random.Generator, n: int, months: int, phi: float) -> np.ndarray:
    """Stationary AR(1) paths with unit variance."""
    out = np.empty((n, months))
    out[:, 0] = rng.normal(0.0, 1.0, n)
    scale = np.sqrt(1.0 - phi**2)
    for t in range(1, months):
        out[:, t] = phi * out[:, t - 1] + scale * rng.normal(0.0, 1.0, n)
    return out


def _standardise(x: np.ndarray) -> np.ndarray:
    sd = float(np.std(x))
    return (x - float(np.mean(x))) / (sd if sd > 0 else 1.0)


def static_health(accounts: pd.DataFrame, start: pd.Timestamp) -> np.ndarray:
    """Standardised static health: longer tenure, bigger plans and multi-year contracts do better."""
    tenure_years = (start - accounts["customer_since"]).dt.days.to_numpy() / 365.25
    plan = accounts["plan"].map({"starter": -0.3, "pro": 0.0, "business": 0.15, "enterprise": 0.3}).to_numpy()
    contract = accounts["contract_type"].map({"monthly": -0.4, "annual": 0.0, "multi-year": 0.3}).to_numpy()
    segment = accounts["segment"].map({"enterprise": 0.2, "mid-market": 0.0, "smb": -0.2}).to_numpy()
    return _standardise(0.6 * np.log1p(tenure_years) + plan + contract + segment)


def team_network(team: np.ndarray, employee_trait: np.ndarray) -> np.ndarray:
    """Standardised mean network trait of the people who work the account (owner, CSM, engineers)."""
    members = team[:, :4]
    traits = np.where(members >= 0, employee_trait[np.maximum(members, 0)], np.nan)
    return _standardise(np.nanmean(traits, axis=1))


def experience(x: np.ndarray, weights: tuple[float, ...]) -> np.ndarray:
    """Weighted recent experience: ``weights[k]`` for the month k months ago (early months repeat month 0)."""
    out = np.zeros_like(x)
    lagged = x
    for k, w in enumerate(weights):
        if k:
            lagged = np.concatenate([lagged[:, :1], lagged[:, :-1]], axis=1)
        out += w * lagged
    return out


def health_parts(
    drivers: dict[str, np.ndarray], network: np.ndarray, static: np.ndarray, p: WorldParams
) -> tuple[np.ndarray, np.ndarray]:
    """The baseline and collaboration parts of health, before noise."""
    ew = p.experience_weights
    base = (
        experience(
            p.w_adoption * drivers["adoption"]
            - p.w_pain * drivers["pain"]
            + p.w_payment * drivers["payment"],
            ew,
        )
        + p.w_static * static[:, None]
    )
    collab = (
        experience(
            p.w_time * drivers["time"]
            + p.w_breadth * drivers["breadth"]
            + p.w_depth * drivers["depth"]
            + p.w_senior * drivers["senior"]
            + p.w_responsiveness * drivers["responsiveness"],
            p.relationship_weights,
        )
        + p.w_network * network[:, None]
    )
    return base, collab


def draw_drivers(rng: np.random.Generator, n: int, months: int, p: WorldParams) -> dict[str, np.ndarray]:
    """All driver paths.

    Drivers of one kind share a common factor (engagement is of a piece); payment reliability moves more
    slowly than the rest and stands alone.
    """
    phi = {"baseline": p.driver_persistence, "collaboration": p.collab_persistence}
    common = {kind: ar1(rng, n, months, phi[kind]) for kind in ("baseline", "collaboration")}
    out: dict[str, np.ndarray] = {}
    for kind, names, share in (
        ("baseline", ("adoption", "pain"), p.baseline_common_share),
        ("collaboration", COLLAB_DRIVERS, p.collab_common_share),
    ):
        for name in names:
            sign = -1.0 if name == "pain" else 1.0
            specific = ar1(rng, n, months, phi[kind])
            out[name] = np.sqrt(share) * sign * common[kind] + np.sqrt(1.0 - share) * specific
    out["payment"] = ar1(rng, n, months, 0.97)
    return out


def rush_level(health: np.ndarray, p: WorldParams) -> np.ndarray:
    """How hard the team firefights in a month, from last month's health (0 for healthy accounts)."""
    previous = np.concatenate([health[:, :1], health[:, :-1]], axis=1)
    return p.rush_strength * np.clip(p.rush_threshold - previous, 0.0, None)


def renewal_dates(accounts: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Every contract anniversary from the first one up to the end of the world (past ones included)."""
    since = accounts["customer_since"]
    rows_idx: list[np.ndarray] = []
    rows_date: list[pd.Series] = []
    for years in range(1, 70):
        when = since + pd.DateOffset(years=years)
        keep = (when < end).to_numpy()
        if not keep.any():
            break
        rows_idx.append(np.flatnonzero(keep))
        rows_date.append(when[keep])
    out = pd.DataFrame(
        {"account_idx": np.concatenate(rows_idx), "renewal_date": pd.concat(rows_date).to_numpy()}
    )
    out["month"] = (
        (out["renewal_date"].dt.year - start.year) * 12 + out["renewal_date"].dt.month - start.month
    )
    return out.sort_values(["account_idx", "renewal_date"], kind="stable").reset_index(drop=True)


def decide_renewals(
    rng: np.random.Generator,
    renewals: pd.DataFrame,
    health: np.ndarray,
    static: np.ndarray,
    accounts: pd.DataFrame,
    p: WorldParams,
) -> pd.DataFrame:
    """Draw each renewal's outcome from health at that month; nothing happens after a churn."""
    months = health.shape[1]
    idx = renewals["account_idx"].to_numpy()
    month = renewals["month"].to_numpy()
    past = month < 0
    h = np.where(
        past,
        0.5 * static[idx] + 0.4 + rng.normal(0.0, 0.6, len(idx)),
        health[idx, np.clip(month, 0, months - 1)],
    )
    seg_off = accounts["segment"].map(p.churn_segment_offset).to_numpy()[idx]
    p_churn = np.where(past, 0.0, sigmoid(p.churn_intercept + seg_off - p.churn_slope * h))
    u = rng.random(len(idx))
    outcome = np.where(u < p_churn, "churned", "renewed").astype(object)
    v = rng.random(len(idx))
    alive = outcome != "churned"
    outcome[alive & (v < sigmoid(-1.3 + 1.2 * h))] = "expanded"
    outcome[alive & (v > 1.0 - sigmoid(-1.8 - 1.2 * h))] = "contracted"
    out = renewals.assign(p_churn=p_churn, outcome=outcome.astype(str), health=h)
    churned_before = out.groupby("account_idx")["outcome"].transform(
        lambda s: (s == "churned").cumsum().shift(fill_value=0)
    )
    out = out[churned_before.to_numpy() == 0].reset_index(drop=True)
    arr = accounts["arr_usd"].to_numpy()[out["account_idx"].to_numpy()]
    change = rng.uniform(0.05, 0.4, len(out)) * arr
    out["arr_change_usd"] = np.round(
        np.select(
            [out["outcome"] == "churned", out["outcome"] == "expanded", out["outcome"] == "contracted"],
            [-arr, change, -0.5 * change],
            0.0,
        ),
        2,
    )
    return out


def build_latent(
    rng: np.random.Generator,
    accounts: pd.DataFrame,
    team: np.ndarray,
    employee_trait: np.ndarray,
    months: int,
    start: pd.Timestamp,
    scenario: str,
    p: WorldParams,
) -> Latent:
    """Draw the hidden state; in the null world collaboration keeps its law but has no effect on outcomes."""
    n = len(accounts)
    end = start + pd.DateOffset(months=months)
    drivers = draw_drivers(rng, n, months, p)
    shadow = draw_drivers(rng, n, months, p)  # an independent world of the same law, for the null scenario
    network = team_network(team, employee_trait)
    static = static_health(accounts, start)
    base, collab = health_parts(drivers, network, static, p)
    noise = p.health_noise * rng.normal(0.0, 1.0, (n, months))
    shadow_base, shadow_collab = health_parts(shadow, rng.permutation(network), static, p)
    if scenario == "null":
        health = base + noise
        rush = rush_level(shadow_base + shadow_collab + noise, p)
    else:
        health = base + collab + noise
        rush = rush_level(health, p)
    seg_off = accounts["segment"].map(p.churn_segment_offset).to_numpy()[:, None]
    hazard = sigmoid(p.churn_intercept + seg_off - p.churn_slope * health)
    renewals = decide_renewals(rng, renewal_dates(accounts, start, end), health, static, accounts, p)
    active_until = np.full(n, np.datetime64(end, "s"))
    churned = renewals[renewals["outcome"] == "churned"]
    active_until[churned["account_idx"].to_numpy()] = (
        churned["renewal_date"].to_numpy().astype("datetime64[s]")
    )
    return Latent(
        drivers,
        network,
        static,
        base,
        collab,
        health,
        rush,
        hazard,
        renewals,
        active_until,
        collab_effect=scenario != "null",
    )


def survey_health(
    latent: Latent, m: int, acc: np.ndarray, attention: np.ndarray, p: WorldParams
) -> np.ndarray:
    """Health behind survey answers in month ``m`` of accounts ``acc``.

    The month's baseline part plus, unless in the null world, the team's network and the attention the
    customer received (standardised, see ``features.simulator.attention``).
    """
    h = latent.baseline_part[acc, m]
    if latent.collab_effect:
        h = h + p.w_network * latent.network[acc] + p.w_attention * attention
    return h
