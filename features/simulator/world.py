"""Write a whole simulated world in the raw data contract, with its ground truth kept apart."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from features.simulator import records
from features.simulator.attention import RecentInteractions
from features.simulator.config import SimulationConfig, WorldParams
from features.simulator.entities import Cast, make_cast
from features.simulator.interactions import month_interactions
from features.simulator.latent import BASELINE_DRIVERS, COLLAB_DRIVERS, Latent, build_latent
from features.simulator.month import Month
from features.simulator.writer import TableWriter, check_output_folder, staged_folder

TABLES = (
    "accounts",
    "contacts",
    "employees",
    "interactions",
    "tickets",
    "usage",
    "invoices",
    "surveys",
    "renewals",
)
GROUND_TRUTH_DIR = "ground_truth"
#: What only a simulated world's folder holds: such a folder may be replaced by a new world.
WORLD_MARKER = f"{GROUND_TRUTH_DIR}/config.parquet"
Progress = Callable[[int, int], None]


@dataclass
class SimulationResult:
    """Where the world went and how many rows each table got."""

    out_dir: Path
    rows: dict[str, int] = field(default_factory=dict)
    truth_rows: dict[str, int] = field(default_factory=dict)


class _World:
    """The writers and id counters of one simulation run."""

    def __init__(self, folder: Path, fmt: str, late: bool, rng: np.random.Generator) -> None:
        self.writers = {t: TableWriter(folder, t, fmt) for t in TABLES}
        self.next_id = {t: 1 for t in TABLES}
        self.late = late
        self.rng = rng
        self.seen = RecentInteractions()

    def write(self, table: str, chunk: pd.DataFrame | pa.Table) -> None:
        if self.late and table in records.RECORD_LAG_DAYS:
            column, lag = records.RECORD_LAG_DAYS[table]
            stamps = np.asarray(
                chunk[column].to_numpy()
                if isinstance(chunk, pd.DataFrame)
                else chunk[column].to_numpy(zero_copy_only=False)
            )
            value = records.recorded_at(self.rng, stamps, lag)
            chunk = (
                chunk.assign(recorded_at=value)
                if isinstance(chunk, pd.DataFrame)
                else chunk.append_column("recorded_at", pa.array(value))
            )
        self.writers[table].write(chunk)
        self.next_id[table] += len(chunk)

    def close(self) -> dict[str, int]:
        for w in self.writers.values():
            w.close()
        return {t: w.rows for t, w in self.writers.items()}


def _entity_tables(cast: Cast) -> dict[str, pd.DataFrame]:
    employees = cast.employees[["employee_id", "role", "manager_id", "team", "hired_at", "timezone"]]
    contacts = cast.contacts[["contact_id", "account_id", "title", "seniority", "is_decision_maker"]]
    return {"accounts": cast.accounts, "contacts": contacts, "employees": employees}


def _month(world: _World, mo: Month, p: WorldParams, seats: np.ndarray, truth: list[pd.DataFrame]) -> None:
    """Draw and write one month's tables; survey answers follow the interactions written before them."""
    ids = (
        pa.array(mo.cast.employees["employee_id"].to_numpy()),
        pa.array(mo.cast.contacts["contact_id"].to_numpy()),
    )
    world.write("interactions", month_interactions(mo, world.next_id["interactions"], ids, world.seen))
    world.write("tickets", records.month_tickets(mo, world.next_id["tickets"]))
    world.write("usage", records.month_usage(mo, seats))
    world.write("invoices", records.month_invoices(mo, world.next_id["invoices"]))
    surveys, csat_truth = records.month_surveys(mo, p, world.next_id["surveys"], world.seen)
    if len(surveys):  # none in the first month: the campaign needs a month of attention to ask about
        world.write("surveys", surveys)
    truth.append(csat_truth)


def latent_frame(cast: Cast, latent: Latent, start: pd.Timestamp) -> pd.DataFrame:
    """Per account-month: health, its parts, every driver, the rush level and the true churn hazard."""
    n, months = latent.health.shape
    frame = {
        "account_id": np.repeat(cast.accounts["account_id"].to_numpy(), months),
        "month": np.tile(pd.date_range(start, periods=months, freq="MS").to_numpy(), n),
        "health": latent.health.ravel(),
        "baseline_part": latent.baseline_part.ravel(),
        "collaboration_part": latent.collab_part.ravel(),
        "rush": latent.rush.ravel(),
        "churn_hazard": latent.hazard.ravel(),
        "team_network": np.repeat(latent.network, months),
    }
    for name in BASELINE_DRIVERS + COLLAB_DRIVERS:
        frame[f"driver_{name}"] = latent.drivers[name].ravel()
    return pd.DataFrame(frame)


def _write_truth(folder: Path, tables: dict[str, pd.DataFrame]) -> dict[str, int]:
    truth_dir = folder / GROUND_TRUTH_DIR
    truth_dir.mkdir()
    for name, frame in tables.items():
        frame.to_parquet(truth_dir / f"{name}.parquet", index=False)
    return {name: len(frame) for name, frame in tables.items()}


def simulate(
    config: SimulationConfig,
    out_dir: Path,
    fmt: str = "parquet",
    params: WorldParams | None = None,
    progress: Progress | None = None,
) -> SimulationResult:
    """Simulate a world and write it to ``out_dir`` (replaced atomically), ground truth in ``ground_truth/``.

    Args:
        config: size, scenario and seed of the world.
        out_dir: destination folder; an existing one is replaced only once the new world is complete.
        fmt: ``parquet`` or ``csv``.
        params: generative parameters; the calibrated defaults when omitted.
        progress: called with (months done, months in all) after each month.

    Returns:
        The folder and the row counts per table.

    Raises:
        OutputFolderError: ``out_dir`` may not be replaced (a file, other files, or the current folder);
            checked before any work.

    """
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"format must be 'parquet' or 'csv', not {fmt!r}")
    out_dir = check_output_folder(Path(out_dir), WORLD_MARKER)
    p = params or WorldParams()
    rng = np.random.default_rng(config.seed)
    start = pd.Timestamp(config.start)
    cast = make_cast(rng, config.accounts, config.start)
    latent = build_latent(
        rng,
        cast.accounts,
        cast.team,
        cast.employees["network_trait"].to_numpy(),
        config.months,
        start,
        config.scenario,
        p,
    )
    seats = records.licensed_seats(rng, cast.accounts)
    result = SimulationResult(Path(out_dir))
    world_end = np.datetime64(start + pd.DateOffset(months=config.months), "s")
    with staged_folder(Path(out_dir)) as folder:
        world = _World(folder, fmt, config.scenario == "late", rng)
        for table, frame in _entity_tables(cast).items():
            world.write(table, frame)
        csat_truth: list[pd.DataFrame] = []
        for m in range(config.months):
            month = Month(rng, cast, latent, m, start + pd.DateOffset(months=m), world_end, p.health_feedback)
            _month(world, month, p, seats, csat_truth)
            if progress:
                progress(m + 1, config.months)
        renewals, renewal_truth = records.renewals_table(cast, latent)
        world.write("renewals", renewals)
        result.rows = world.close()
        result.truth_rows = _write_truth(
            folder,
            {
                "csat_truth": pd.concat(csat_truth, ignore_index=True),
                "renewal_truth": renewal_truth,
                "latent": latent_frame(cast, latent, start),
                "config": pd.DataFrame([{**config.model_dump(mode="json"), "params": repr(p)}]),
            },
        )
    return result
