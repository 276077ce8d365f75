"""``csat simulate``: write a simulated world in the raw data contract, with its ground truth apart."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from csat.settings import Settings, load_settings
from csat.signals import sigterm_unwinds
from features.simulator.config import SimulationConfig

#: The simulation settings a ``csat simulate`` option sets, by option name.
OPTIONS = {
    "accounts": "--accounts",
    "months": "--months",
    "scenario": "--scenario",
    "seed": "--seed",
    "start": "--start",
}


def config_error(err: ValidationError) -> str:
    """One line per problem, naming the option (``--accounts: Input should be ...``)."""
    lines = []
    for e in err.errors():
        field = str(e["loc"][0]) if e["loc"] else ""
        error = e.get("ctx", {}).get("error") if e["type"] == "value_error" else None
        lines.append(f"{OPTIONS.get(field, field)}: {error if error is not None else e['msg']}")
    return "; ".join(lines)


def simulate_command(
    ctx: typer.Context,
    accounts: Annotated[int, typer.Option(help="Number of customer accounts (10 to 200,000).")] = 2000,
    months: Annotated[int, typer.Option(help="Months of history (4 to 60).")] = 24,
    scenario: Annotated[
        str, typer.Option(help="default, null (collaboration has no effect) or late.")
    ] = "default",
    seed: Annotated[
        int | None, typer.Option(help="Random seed, 0 or more (default: the settings' seed).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Output folder (default: the settings' data_dir). It must be new, empty or an earlier"
            " simulated world: the world replaces it whole."
        ),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
    start: Annotated[
        datetime,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="First day of the history, YYYY-MM-DD; the history must end by today.",
            show_default="2024-01-01",
        ),
    ] = datetime(2024, 1, 1),
) -> None:
    """Simulate a customer-success world: the nine contract tables, and the ground truth in ground_truth/.

    A SIGTERM stops it with exit code 143, its staging folder removed and an earlier world left in place.
    """
    from features.simulator.world import GROUND_TRUTH_DIR, simulate
    from features.simulator.writer import OutputFolderError

    settings = ctx.obj if isinstance(ctx.obj, Settings) else load_settings()
    try:
        config = SimulationConfig(
            accounts=accounts,
            months=months,
            scenario=scenario,  # type: ignore[arg-type]
            seed=settings.seed if seed is None else seed,
            start=start.date(),
        )
    except ValidationError as err:
        raise typer.BadParameter(config_error(err)) from err
    if fmt not in ("parquet", "csv"):
        raise typer.BadParameter(f"--format must be parquet or csv, not {fmt!r}")
    out_dir = out or settings.data_dir
    console = Console()
    with (
        sigterm_unwinds(),
        Progress(
            TextColumn("simulating"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} months"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar,
    ):
        task = bar.add_task("months", total=months)
        try:  # simulate checks the folder before any work
            result = simulate(
                config, out_dir, fmt=fmt, progress=lambda done, _: bar.update(task, completed=done)
            )
        except OutputFolderError as err:
            raise typer.BadParameter(str(err), param_hint="--out") from err
    table = Table(title=f"{scenario} world, seed {config.seed}: {out_dir}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in result.rows.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    console.print(f"ground truth (kept apart from the contract tables): {out_dir / GROUND_TRUTH_DIR}")
