"""``csat validate DIR``: load and validate the raw tables, print the summary, exit 2 on a contract error."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from csat.settings import Settings, load_settings
from features.contract.loader import load_contract
from features.contract.report import ContractError

CONTRACT_ERROR_EXIT = 2


def validate_command(
    ctx: typer.Context,
    data_dir: Annotated[Path, typer.Argument(help="Folder of raw tables (<table>.csv or <table>.parquet).")],
    rejects_dir: Annotated[
        Path | None,
        typer.Option(
            "--rejects-dir",
            help="Folder under which rejects/<table>.csv is written (default: the settings' store_dir).",
        ),
    ] = None,
) -> None:
    """Validate the raw tables in DATA_DIR against the data contract; print rows read, kept and rejected.

    Exit code 2 when the data breaks the contract (the message lists every problem).
    """
    settings = ctx.obj if isinstance(ctx.obj, Settings) else load_settings()
    console = Console()
    try:
        result = load_contract(data_dir, settings, rejects_dir=rejects_dir, console=console)
    except ContractError as err:
        console.print(f"[bold red]Contract error:[/] {escape(str(err))}", soft_wrap=True)
        raise typer.Exit(code=CONTRACT_ERROR_EXIT) from err
    rejected = sum(t.rows_rejected for t in result.report.tables.values())
    console.print(f"[green]OK[/]: {len(result.tables)} table(s) valid, {rejected:,} row(s) rejected.")
