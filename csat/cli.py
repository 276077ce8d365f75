"""The ``csat`` command: composes each stage's CLI; holds no stage logic.

Importing it loads no stage library (pandas, scikit-learn, MLflow, DuckDB, BentoML ...): each command imports
what it runs, so that ``csat --help`` and every command's help start at once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from csat.settings import SettingsError, load_settings, unknown_variables
from features.contract.cli import validate_command
from features.contract.report import ContractError
from features.errors import AsOfError, StoreCorruptError
from features.feature_cli import features_app
from features.simulator.cli import simulate_command
from serving.cli import score_all_command, serve_command, serving_app
from training.cli import retrain, train, ui
from training.errors import SplitError

app = typer.Typer(
    help="Customer-success risk from baseline and collaboration signals.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML settings file (default: ./csat.toml).")
    ] = None,
) -> None:
    """Read the settings once and hand them to every command."""
    try:
        ctx.obj = load_settings(config)
    except (SettingsError, ValueError) as err:
        typer.echo(f"settings error: {err}", err=True)
        raise typer.Exit(code=2) from err
    for line in unknown_variables(os.environ):
        typer.echo(f"warning: {line}", err=True)


app.command("simulate")(simulate_command)
app.command("validate")(validate_command)
app.add_typer(features_app, name="features")
app.command("train")(train)
app.command("retrain")(retrain)
app.command("ui")(ui)
app.add_typer(serving_app, name="serving")
app.command("serve")(serve_command)
app.command("score-all")(score_all_command)


#: Errors in the user's input or in the order of the steps (a store not built yet), not in the program:
#: a command that raises one ends with its message and exit code 2, without a traceback.
#: A folder the user named (``--rejects-dir``, ``store_dir``, ``--out`` ...) that is a file, or not writable,
#: is one of them too.
USER_ERRORS: tuple[type[Exception], ...] = (
    ContractError,
    AsOfError,
    StoreCorruptError,
    FileNotFoundError,
    SplitError,
    PermissionError,
    NotADirectoryError,
    IsADirectoryError,
    FileExistsError,
)


#: What to look at, after the system's message for an error on a path.
OS_ERROR_HINTS: dict[type[OSError], str] = {
    NotADirectoryError: " (a part of the path is a file)",
    PermissionError: " (check the folder's permissions)",
    FileExistsError: " (a file is where a folder is needed)",
}


def user_error_message(err: Exception) -> str:
    """One line for a user error: an operating-system error names its path and what went wrong with it.

    Args:
        err: one of :data:`USER_ERRORS`.

    Returns:
        E.g. ``error: cannot use store/rejects: Not a directory (a part of the path is a file)``.

    """
    if isinstance(err, OSError) and err.filename is not None:
        # the system's words get a hint; the program's own words already say what is wrong (a link to nothing)
        own_words = err.errno is not None and err.strerror != os.strerror(err.errno)
        why = "" if own_words else OS_ERROR_HINTS.get(type(err), "")
        # a rename into place names the temporary file first and the place second: the user knows the place
        where = err.filename2 if err.filename2 is not None else err.filename
        return f"error: cannot use {where}: {err.strerror}{why}"
    return f"error: {err}"


def main() -> None:
    """Entry point of the ``csat`` console script."""
    try:
        app()
    except USER_ERRORS as err:
        typer.echo(user_error_message(err), err=True)
        raise SystemExit(2) from err
