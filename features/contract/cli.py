"""``csat validate DIR``: load and validate the raw tables, print the summary, exit 2 on a contract error."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from csat.settings import Settings, load_settings
from features.contract.report import ContractError

CONTRACT_ERROR_EXIT = 2


def default_rejects_dir(data_dir: Path, settings: Settings) -> Path:
    """Where ``csat validate`` writes rejects without ``--rejects-dir``.

    The settings' data folder: under ``store_dir`` (``<store_dir>/rejects/``, beside the store built from it).
    Any other folder: under ``<store_dir>/validate/<folder name>-<hash of its path>/``, so that trying another
    export never overwrites, or removes as stale, the rejects of the data the store was built from (nor
    those of another export in a folder of the same name).

    Args:
        data_dir: the folder validated.
        settings: the settings (``data_dir``, ``store_dir``).

    Returns:
        The folder under which ``rejects/`` is written.

    """
    if Path(data_dir).resolve() == Path(settings.data_dir).resolve():
        return Path(settings.store_dir)
    folder = Path(data_dir).resolve()
    tag = hashlib.sha256(str(folder).encode()).hexdigest()[:8]  # two exports both named raw stay apart
    return Path(settings.store_dir) / "validate" / f"{folder.name}-{tag}"


def validate_command(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Argument(
            help="Folder of raw tables (<table>.csv or <table>.parquet); default: the settings' data_dir."
        ),
    ] = None,
    rejects_dir: Annotated[
        Path | None,
        typer.Option(
            "--rejects-dir",
            help="Folder under which rejects/<table>.csv is written (default: the settings' store_dir for"
            " its data_dir, <store_dir>/validate/<folder name>-<hash8> for another folder, hash8 being 8 hex"
            " digits of its path's SHA-256: two folders of one name keep their own rejects).",
        ),
    ] = None,
) -> None:
    """Validate the raw tables in DATA_DIR against the data contract; print rows read, kept and rejected.

    Exit code 2 when the data breaks the contract (the message lists every problem).
    """
    from features.contract.loader import load_contract

    settings = ctx.obj if isinstance(ctx.obj, Settings) else load_settings()
    data_dir = data_dir if data_dir is not None else Path(settings.data_dir)
    rejects_dir = rejects_dir if rejects_dir is not None else default_rejects_dir(data_dir, settings)
    console = Console()
    try:
        result = load_contract(data_dir, settings, rejects_dir=rejects_dir, console=console)
    except ContractError as err:
        console.print(f"[bold red]Contract error:[/] {escape(str(err))}", soft_wrap=True)
        raise typer.Exit(code=CONTRACT_ERROR_EXIT) from err
    rejected = sum(t.rows_rejected for t in result.report.tables.values())
    console.print(f"[green]OK[/]: {len(result.tables)} table(s) valid, {rejected:,} row(s) rejected.")
