"""Support tickets, weekly usage, invoices, surveys and renewals, drawn from the hidden state."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.simulator.attention import RecentInteractions, attention_index
from features.simulator.config import WorldParams
from features.simulator.entities import Cast, account_timezones, make_ids
from features.simulator.interactions import SEGMENT_SCALE
from features.simulator.latent import Latent, sigmoid, survey_health
from features.simulator.month import Month
from features.simulator.timing import local_times, to_utc

TICKETS_PER_MONTH = {"enterprise": 6.0, "mid-market": 2.5, "smb": 0.8}
SURVEYS_PER_MONTH = {"enterprise": 2.4, "mid-market": 1.0, "smb": 0.45}
HOURS = np.timedelta64(3600, "s")


def month_tickets(mo: Month, first_id: int) -> pd.DataFrame:
    """Tickets opened in month ``m``: more and worse with support pain and with poor health."""
    rng, cast, latent, m, month_start = mo.rng, mo.cast, mo.latent, mo.index, mo.start
    world_end = mo.world_end
    scale = cast.accounts["segment"].map(TICKETS_PER_MONTH).to_numpy()
    pain = latent.drivers["pain"][:, m]
    previous = latent.health[:, max(m - 1, 0)]
    n = rng.poisson(scale * np.exp(0.5 * pain + 0.3 * mo.feedback * np.clip(-previous, 0, None))) * mo.active
    acc = np.repeat(np.arange(len(n)), n)
    opened = to_utc(
        local_times(rng, month_start, rng.random(len(acc)) < 0.1), account_timezones(cast.accounts, acc)
    )
    p_pain = pain[acc]
    sev_logits = np.stack(
        [-3.0 + 0.6 * p_pain, -1.4 + 0.4 * p_pain, np.zeros(len(acc)), -0.4 - 0.3 * p_pain], 1
    )
    sev_p = np.exp(sev_logits) / np.exp(sev_logits).sum(1, keepdims=True)
    severity = 1 + (rng.random(len(acc))[:, None] > np.cumsum(sev_p, 1)).sum(1)
    median_h = np.array([8.0, 24.0, 72.0, 120.0])[severity - 1] * np.exp(0.3 * p_pain)
    resolve = (rng.lognormal(np.log(median_h), 0.8) * 3600).astype(np.int64).astype("timedelta64[s]")
    closed = opened + resolve
    limit = np.minimum(latent.active_until[acc], world_end)
    df = pd.DataFrame(
        {
            "account_id": cast.accounts["account_id"].to_numpy()[acc],
            "opened_at": opened,
            "closed_at": pd.Series(closed).where(closed < world_end),
            "severity": severity.astype(np.int64),
            "escalated": rng.random(len(acc)) < sigmoid(-2.5 + 0.8 * p_pain - 0.5 * (severity - 2)),
            "reopened_count": rng.poisson(0.1 * np.exp(0.5 * p_pain)).astype(np.int64),
        }
    )
    df = df[opened < limit].sort_values("opened_at", kind="stable").reset_index(drop=True)
    df.insert(0, "ticket_id", make_ids("T", len(df), 8, start=first_id))
    return df


def month_usage(mo: Month, seats: np.ndarray) -> pd.DataFrame:
    """One row per account per week (Mondays in the month): active users against licensed seats."""
    rng, cast, latent, m, month_start = mo.rng, mo.cast, mo.latent, mo.index, mo.start
    mondays = pd.date_range(month_start, month_start + pd.offsets.MonthEnd(0), freq="W-MON")
    adoption = latent.drivers["adoption"][:, m]
    previous = latent.health[:, max(m - 1, 0)]
    util = sigmoid(0.6 + 0.9 * adoption + 0.25 * mo.feedback * previous)
    frames = []
    for monday in mondays:
        active = np.flatnonzero(latent.active_until > np.datetime64(monday, "s"))
        users = rng.binomial(seats[active], np.clip(util[active] + rng.normal(0, 0.03, len(active)), 0.01, 1))
        events = rng.poisson(users * 5.0 * np.exp(0.4 * adoption[active]))
        frames.append(
            pd.DataFrame(
                {
                    "account_id": cast.accounts["account_id"].to_numpy()[active],
                    "date": np.datetime64(monday, "s"),
                    "active_users": users.astype(np.int64),
                    "licensed_seats": seats[active].astype(np.int64),
                    "key_feature_events": events.astype(np.int64),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def licensed_seats(rng: np.random.Generator, accounts: pd.DataFrame) -> np.ndarray:
    """Seats bought: a share of the customer's employees, capped for the largest."""
    share = rng.uniform(0.05, 0.4, len(accounts))
    return np.clip(np.round(accounts["employee_count"].to_numpy() * share), 3, 20_000).astype(np.int64)


def month_invoices(mo: Month, first_id: int) -> pd.DataFrame:
    """A monthly invoice per active account; payment reliability and health decide lateness."""
    rng, cast, latent, m, month_start = mo.rng, mo.cast, mo.latent, mo.index, mo.start
    world_end = mo.world_end
    issued = np.datetime64(month_start, "s")
    acc = np.flatnonzero(latent.active_until > issued)
    due = issued + np.timedelta64(30, "D")
    pay = latent.drivers["payment"][acc, m]
    late = rng.random(len(acc)) < sigmoid(-1.6 - 1.2 * pay - 0.3 * mo.feedback * latent.health[acc, m])
    days = np.where(late, np.ceil(rng.lognormal(np.log(12.0), 0.8, len(acc))), -rng.integers(0, 26, len(acc)))
    paid = due + days.astype(np.int64).astype("timedelta64[D]")
    arr = cast.accounts["arr_usd"].to_numpy()[acc]
    df = pd.DataFrame(
        {
            "account_id": cast.accounts["account_id"].to_numpy()[acc],
            "issued_at": issued,
            "due_at": due,
            "paid_at": pd.Series(paid.astype("datetime64[s]")).where(paid < world_end),
            "amount_usd": np.round(arr / 12.0, 2),
        }
    )
    df.insert(0, "invoice_id", make_ids("INV", len(df), 8, start=first_id))
    return df


def month_surveys(
    mo: Month, p: WorldParams, first_id: int, seen: RecentInteractions
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Survey responses of month ``m`` and, apart, each response's true probability of being satisfied.

    With ``p.survey_days``, the month's survey goes out on its first day and answers come in within that
    many days; otherwise answers fall anywhere in the month. With ``p.w_attention``, an answer follows the
    attention the customer received before it, counted in ``seen`` (:mod:`features.simulator.attention`),
    and the first month has no campaign; otherwise answers follow the month's latent health.
    ``interactions_28d`` in the truth is that count (-1 without attention).
    """
    rng, cast, latent, m, month_start = mo.rng, mo.cast, mo.latent, mo.index, mo.start
    kappa, threshold = p.csat_kappa, p.csat_threshold
    rate = cast.accounts["segment"].map(SURVEYS_PER_MONTH).to_numpy()
    attentive = bool(p.w_attention)
    n = rng.poisson(rate) * mo.active
    if attentive and m == 0:
        n[:] = 0  # the first campaign goes out once there is a month of attention to answer about
    acc = np.repeat(np.arange(len(n)), n)
    responded = to_utc(
        local_times(rng, month_start, rng.random(len(acc)) < 0.15, p.survey_days),
        account_timezones(cast.accounts, acc),
    )
    keep = responded < latent.active_until[acc]
    acc, responded = acc[keep], responded[keep]
    if attentive:
        count = seen.count_before(acc, responded)
        scale = cast.accounts["segment"].map(SEGMENT_SCALE).to_numpy()[acc]
        h = survey_health(latent, m, acc, attention_index(count, scale), p)
    else:
        count = np.full(len(acc), -1)
        h = latent.health[acc, m]
    p_sat = sigmoid(kappa * (h - threshold))
    satisfied = rng.random(len(acc)) < p_sat
    five = rng.random(len(acc)) < sigmoid(1.5 * (h - 0.3))
    low = 1 + (rng.random(len(acc)) > sigmoid(-1.0 - 1.5 * h)) + (rng.random(len(acc)) > sigmoid(0.5 - h))
    csat = np.where(satisfied, np.where(five, 5, 4), np.minimum(low, 3))
    nps = np.clip(np.round(6.5 + 1.8 * h + 1.2 * (csat - 3) + rng.normal(0, 1.2, len(acc))), 0, 10)
    offsets = cast.contact_offsets
    contact = offsets[acc] + np.floor(rng.random(len(acc)) * (offsets[acc + 1] - offsets[acc])).astype(
        np.int64
    )
    ids = make_ids("R", len(acc), 8, start=first_id)
    order = np.argsort(responded, kind="stable")
    surveys = pd.DataFrame(
        {
            "response_id": ids,
            "account_id": cast.accounts["account_id"].to_numpy()[acc][order],
            "contact_id": cast.contacts["contact_id"].to_numpy()[contact][order],
            "responded_at": responded[order],
            "csat": csat[order].astype(np.int64),
            "nps": pd.array(np.where(rng.random(len(acc)) < 0.7, nps, np.nan)[order]).astype("Int64"),
        }
    )
    truth = pd.DataFrame(
        {
            "response_id": ids,
            "account_id": surveys["account_id"],
            "p_satisfied": p_sat[order],
            "health": h[order],
            "month": m,
            "interactions_28d": count[order],
        }
    )
    return surveys, truth


def renewals_table(cast: Cast, latent: Latent) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The renewals table and, apart, each in-window renewal's true churn probability."""
    r = latent.renewals
    account_id = cast.accounts["account_id"].to_numpy()[r["account_idx"].to_numpy()]
    table = pd.DataFrame(
        {
            "account_id": account_id,
            "renewal_date": r["renewal_date"].to_numpy().astype("datetime64[s]"),
            "outcome": r["outcome"].to_numpy(),
            "arr_change_usd": r["arr_change_usd"].to_numpy(),
        }
    )
    in_window = r["month"].to_numpy() >= 0
    truth = table.loc[in_window, ["account_id", "renewal_date", "outcome"]].assign(
        p_churn=r["p_churn"].to_numpy()[in_window], health=r["health"].to_numpy()[in_window]
    )
    return table, truth.reset_index(drop=True)


RECORD_LAG_DAYS = {  # late scenario: (stamp column, mean lag in days) per table
    "interactions": ("started_at", 6.0),
    "tickets": ("opened_at", 2.0),
    "usage": ("date", 5.0),
    "invoices": ("issued_at", 3.0),
    "surveys": ("responded_at", 9.0),
    "renewals": ("renewal_date", 14.0),
}


def recorded_at(rng: np.random.Generator, stamps: np.ndarray, mean_days: float) -> np.ndarray:
    """When rows became known: exported in weekly batches, days to weeks after the event."""
    stamps = stamps.astype("datetime64[s]")
    lag = (rng.exponential(mean_days, len(stamps)) * 86400).astype(np.int64).astype("timedelta64[s]")
    batch = (stamps + lag).astype("datetime64[W]") + np.timedelta64(1, "W")  # next weekly export
    return (batch.astype("datetime64[s]") + np.timedelta64(4, "D") + np.timedelta64(6, "h")).astype(
        "datetime64[us]"
    )
