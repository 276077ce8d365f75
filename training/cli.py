"""Typer commands of the training stage: ``train``, ``retrain`` and ``ui`` (mounted by ``csat``).

The training libraries (scikit-learn, LightGBM, MLflow) are imported inside the commands that run them, so
that ``csat`` and its help start without them.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from csat.settings import Settings, load_settings
from csat.signals import sigterm_unwinds
from training.data import (
    TARGETS,
    load_catalog,
    load_offline,
    rebuild_store,
    store_columns,
    targets_left_out,
    unknown_features,
)
from training.errors import LeakageError, SplitError, TrackingStoreError

if TYPE_CHECKING:
    from training.data import DataLoader, FeatureCatalog, OfflineData, Target
    from training.evaluate import Interval
    from training.pipeline import Comparison
    from training.promote import Decision, GateConfig
    from training.tracking import TrainingRecord
    from training.workflow import TrainOptions

app = typer.Typer(help="Train, retrain and inspect the satisfaction and churn models.", no_args_is_help=True)


class TargetChoice(StrEnum):
    """Which model(s) a command works on."""

    csat = "csat"
    churn = "churn"
    all = "all"


#: Width of the output when it goes to a file or a pipe (a cron job's log) and COLUMNS is not set: wide enough
#: for the tables, so that no registered name or reason is cut (Rich's default there is 80 columns).
LOG_WIDTH = 200


def _console() -> Console:
    """The commands' console: as wide as the terminal; else COLUMNS when set; else ``LOG_WIDTH`` columns.

    Returns:
        The console.

    """
    console = Console()
    if console.is_terminal or os.environ.get("COLUMNS", "").isdigit():
        return console
    return Console(width=LOG_WIDTH)


def _settings(ctx: typer.Context) -> Settings:
    return ctx.obj if isinstance(ctx.obj, Settings) else load_settings()


# The three steps below run the training libraries: each imports its module when called (and tests replace
# them here, on this module).


def train_target(
    settings: Settings, target: Target, catalog: FeatureCatalog, options: TrainOptions, *, loader: DataLoader
) -> tuple[Comparison, TrainingRecord]:
    """Train, compare and register one target's models (:func:`training.workflow.train_target`)."""
    from training.workflow import train_target as train_one

    return train_one(settings, target, catalog, options, loader=loader)


def retrain_target(
    settings: Settings,
    target: Target,
    catalog: FeatureCatalog,
    options: TrainOptions,
    gate: GateConfig,
    loader: DataLoader,
) -> Decision:
    """Retrain one target through the promotion gates (:func:`training.promote.retrain_target`)."""
    from training.promote import retrain_target as retrain_one

    return retrain_one(settings, target, catalog, options, gate, loader=loader)


def ui_command(settings: Settings, host: str = "127.0.0.1", port: int = 5000) -> list[str]:
    """The command line of the MLflow UI on the settings' store (:func:`training.tracking.ui_command`).

    Args:
        settings: the project settings.
        host: bind address.
        port: port.

    Returns:
        The command and its arguments.

    """
    from training.tracking import ui_command as mlflow_ui

    return mlflow_ui(settings, host, port)


def _targets(choice: TargetChoice, settings: Settings, console: Console) -> list[Target]:
    """The targets to work on: ``all`` means those the last build made a frame for (it says which not)."""
    if choice != TargetChoice.all:
        return [choice.value]  # type: ignore[list-item]
    left_out = targets_left_out(settings, list(TARGETS))
    for t, reason in left_out.items():
        console.print(f"[yellow]{t} skipped: the last feature build made no {t} frame ({reason})")
    if len(left_out) == len(TARGETS):
        raise FileNotFoundError(f"the last feature build made no labelled frame under {settings.store_dir}")
    return [t for t in TARGETS if t not in left_out]


@contextmanager
def _user_errors() -> Iterator[None]:
    """End a user error found before training (too little data, a label leak, no tracking store): exit 2."""
    try:
        yield
    except (SplitError, LeakageError, TrackingStoreError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err


def _prepare(
    settings: Settings, choice: TargetChoice, options: TrainOptions, catalog: FeatureCatalog, console: Console
) -> dict[Target, OfflineData]:
    """Check every target's data, then the tracking store, before anything is trained or registered."""
    from training.tracking import check_tracking
    from training.workflow import load_checked

    with _user_errors():
        targets = _targets(choice, settings, console)
        data = load_checked(settings, targets, options.config, catalog, loader=load_offline)
        check_tracking(settings)
    return data


def _progress(console: Console) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _auc_cell(iv: Interval | None, signed: bool = False) -> str:
    """An AUC (or, ``signed``, a difference of AUCs) with its interval; ``-`` when there is none."""
    if iv is None:
        return "-"
    f = "+.3f" if signed else ".3f"
    return f"{iv.point:{f}} [{iv.low:{f}}, {iv.high:{f}}]"


def _summary_table(results: list[tuple[Comparison, TrainingRecord]]) -> Table:
    table = Table(title="Test-period ROC AUC [95% CI]")
    for col in ("target", "baseline", "enriched", "lift (paired)", "oracle", "registered"):
        table.add_column(col)
    for comp, rec in results:
        cells: list[str] = [comp.target]
        for name in ("baseline", "enriched"):
            cells.append(_auc_cell(comp.results[name].metrics["roc_auc"] if name in comp.results else None))
        cells.append(_auc_cell(comp.lift["roc_auc"] if comp.lift else None, signed=True))
        cells.append(_auc_cell(comp.oracle["roc_auc"] if comp.oracle else None))
        cells.append(f"{rec.registered_name} v{rec.version} ({', '.join(rec.aliases)})")
        table.add_row(*cells)
    return table


TargetOpt = Annotated[TargetChoice, typer.Option("--target", "-t", help="csat, churn or all.")]
CandOpt = Annotated[
    int, typer.Option(min=1, help="Random-search candidates per feature set (same for every set).")
]
BootOpt = Annotated[int, typer.Option(min=10, help="Bootstrap replicates for every interval (at least 10).")]
ThreadOpt = Annotated[int, typer.Option(min=1, help="LightGBM threads (fixed for determinism).")]
SeedsOpt = Annotated[
    int, typer.Option(min=1, help="Fits per set with different seeds; the lift interval covers their spread.")
]


@app.command()
def train(
    ctx: typer.Context,
    target: TargetOpt = TargetChoice.all,
    candidates: CandOpt = 8,
    n_boot: BootOpt = 1000,
    threads: ThreadOpt = 1,
    seeds: SeedsOpt = 3,
) -> None:
    """Train baseline and enriched models per target, log them to MLflow and register the enriched one."""
    from training.workflow import TrainOptions, config_from_settings, loader_of

    settings = _settings(ctx)
    console = _console()
    catalog = load_catalog()
    options = TrainOptions(
        config_from_settings(settings, n_candidates=candidates, num_threads=threads, n_seeds=seeds), n_boot
    )
    data = _prepare(settings, target, options, catalog, console)
    results = []
    with sigterm_unwinds(), _progress(console) as progress:  # a stopped job marks its MLflow runs failed
        for t in data:
            task = progress.add_task(f"training {t}: baseline vs enriched", total=None)
            results.append(train_target(settings, t, catalog, options, loader=loader_of(data)))
            progress.update(task, description=f"trained {t}", completed=1, total=1)
    console.print(_summary_table(results))
    for comp, _ in results:
        for note in comp.notes:
            console.print(f"[yellow]{comp.target}: {note}[/yellow]")


def _decision_table(decisions: list[Decision]) -> Table:
    table = Table(title="Retrain decisions")
    for col in ("target", "outcome", "challenger", "champion before -> after", "reasons"):
        table.add_column(col)
    for d in decisions:
        moved = f"{d.champion_before} -> {d.champion_after}"
        table.add_row(
            d.target,
            d.outcome,
            str(d.challenger_version or "-"),
            f"{d.champion_before or '-'} (unchanged)" if d.champion_before == d.champion_after else moved,
            "; ".join(d.reasons),
        )
    return table


def _tolerance(value: float) -> float:
    if not math.isfinite(value) or value < 0:
        raise typer.BadParameter(f"must be a finite number >= 0, got {value}")
    return value


def _hint(unknown: list[str], valid: list[str]) -> str:
    """``did you mean ...`` for the first unknown name with a close valid one."""
    for name in unknown:
        close = difflib.get_close_matches(name, valid, n=3)
        if close:
            return f"; did you mean {' or '.join(close)} for {name}?"
    return ""


def _known_features(names: list[str] | None) -> list[str] | None:
    catalog = load_catalog()
    unknown = unknown_features(names or [], catalog)
    if unknown:
        raise typer.BadParameter(
            f"not a feature of the catalog: {', '.join(unknown)} (see `csat features list`)"
            + _hint(unknown, list(catalog.features))
        )
    return names


def _known_in_store(names: list[str], data: dict[Target, OfflineData]) -> None:
    """Refuse ``--accept-drift`` names (custom ``crm_`` columns) that no frame of the store has."""
    manifests = [d.manifest for d in data.values()]
    unknown = unknown_features(names, load_catalog(), manifests)
    if unknown:
        extras = [c for c in store_columns(manifests) if c.startswith("crm_")]
        raise typer.BadParameter(
            f"not a feature of the catalog or a column of the store: {', '.join(unknown)} (the store's CRM "
            f"columns: {', '.join(extras) or 'none'}; see `csat features list`)" + _hint(unknown, extras),
            param_hint="'--accept-drift'",
        )


@app.command()
def retrain(
    ctx: typer.Context,
    target: TargetOpt = TargetChoice.all,
    tolerance: Annotated[
        float,
        typer.Option(callback=_tolerance, help="Largest ROC AUC drop vs the champion still promoted (>= 0)."),
    ] = 0.005,
    rebuild: Annotated[bool, typer.Option(help="Rebuild the feature store from the raw data first.")] = True,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of",
            formats=["%Y-%m-%d"],
            help="Rebuild the online store as of this date YYYY-MM-DD (default: now; a simulated world ends"
            " earlier).",
        ),
    ] = None,
    accept_drift: Annotated[
        list[str] | None,
        typer.Option(callback=_known_features, help="Feature whose drift is explained (repeatable)."),
    ] = None,
    candidates: CandOpt = 8,
    n_boot: BootOpt = 1000,
    threads: ThreadOpt = 1,
    seeds: SeedsOpt = 3,
) -> None:
    """Rebuild features, train a challenger and promote it to champion only through the gates.

    Exit code 0: promoted or kept; 3: a gate refused the challenger; 1: a target failed with an error (each
    target's outcome is reported, with where its champion is); 2: bad options, or a store, tracking store or
    data that cannot be used (found before anything is trained).
    """
    from training.promote import GateConfig, exit_code
    from training.tracking import check_tracking
    from training.workflow import TrainOptions, config_from_settings

    if as_of is not None and not rebuild:
        raise typer.BadParameter(
            "--as-of needs a rebuild (it dates the rebuilt online store): drop --no-rebuild or --as-of",
            param_hint="'--as-of'",
        )
    settings = _settings(ctx)
    console = _console()
    gate = GateConfig(auc_tolerance=tolerance, accepted_drift=tuple(accept_drift or ()))
    options = TrainOptions(
        config_from_settings(settings, n_candidates=candidates, num_threads=threads, n_seeds=seeds), n_boot
    )
    with sigterm_unwinds():  # a stopped job marks its unfinished MLflow runs failed (training.tracking)
        if rebuild:
            with _user_errors():  # a tracking URI that does not answer costs no rebuild
                check_tracking(settings)
            _rebuild(settings, as_of, console)
        data = _prepare(settings, target, options, load_catalog(), console)
        _known_in_store(list(accept_drift or []), data)
        decisions = _retrain_all(settings, data, options, gate, console)
    console.print(_decision_table(decisions))
    for d in decisions:
        if d.outcome == "failed":
            console.print(f"[red]{'; '.join(d.reasons)}[/red]")
    raise typer.Exit(exit_code(decisions))


def _rebuild(settings: Settings, as_of: datetime | None, console: Console) -> None:
    """Rebuild the feature store; a failure ends the command (exit 1) before any target is retrained."""
    from features.contract.report import ContractError
    from features.errors import AsOfError
    from training.promote import EXIT_ERROR

    try:
        with _progress(console) as progress:
            task = progress.add_task("rebuilding the feature store", total=None)
            rebuild_store(settings, as_of=as_of.date() if as_of else None, console=console)
            progress.update(task, completed=1, total=1)
    except (AsOfError, ContractError, NotADirectoryError, PermissionError):
        raise  # the user's input (the date, the data, the store folder): one line and exit 2, as in a build
    except Exception as exc:  # nothing was trained: every champion is untouched
        console.print(
            f"[red]retrain failed while rebuilding the feature store: {type(exc).__name__}: {exc}; "
            "no target retrained, every champion unchanged[/red]"
        )
        raise typer.Exit(EXIT_ERROR) from exc


def _retrain_all(
    settings: Settings,
    data: dict[Target, OfflineData],
    options: TrainOptions,
    gate: GateConfig,
    console: Console,
) -> list[Decision]:
    """Retrain each target in turn; an error fails that target only, reported with where its champion is."""
    from training.promote import failed
    from training.tracking import champion_version
    from training.workflow import loader_of

    catalog = load_catalog()
    decisions: list[Decision] = []
    with _progress(console) as progress:
        for t in data:
            task = progress.add_task(f"retraining {t}", total=None)
            before = champion_version(settings, t)
            try:
                decision = retrain_target(settings, t, catalog, options, gate, loader=loader_of(data))
            except Exception as exc:  # reported as this target's outcome; the others go on
                decision = failed(t, exc, before, champion_version(settings, t))
            decisions.append(decision)
            progress.update(task, description=f"{t}: {decision.outcome}", completed=1, total=1)
    return decisions


@app.command()
def ui(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Bind address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 5000,
) -> None:
    """Open the MLflow UI on the project's tracking store."""
    settings = _settings(ctx)
    cmd = ui_command(settings, host, port)
    os.execvp(cmd[0], cmd)  # the MLflow server takes this process's place: a signal to it stops the server
